// SPDX-License-Identifier: MIT
#include "domain/death_queue.hpp"

#include <charconv>
#include <utility>

namespace core_interceptor::domain {

bool core_dumping_signal(int signal) noexcept
{
    switch (signal) {
    case 3:   // SIGQUIT
    case 4:   // SIGILL
    case 5:   // SIGTRAP
    case 6:   // SIGABRT
    case 7:   // SIGBUS
    case 8:   // SIGFPE
    case 11:  // SIGSEGV
    case 24:  // SIGXCPU
    case 25:  // SIGXFSZ
    case 31:  // SIGSYS
        return true;
    default: return false;
    }
}

death_class classify_exit_code(std::string_view code) noexcept
{
    int value = 0;
    const auto* end = code.data() + code.size();
    auto [ptr, ec] = std::from_chars(code.data(), end, value);
    if (ec != std::errc{} || ptr != end)
        return death_class::failure;
    if (value == 0)
        return death_class::clean;
    if (value > 128 && core_dumping_signal(value - 128))
        return death_class::core_signal;
    return death_class::failure;
}

death_class classify(const die_event& ev) noexcept
{
    for (const auto& [key, value] : ev.attributes)
        if (key == "exitCode")
            return classify_exit_code(value);
    return death_class::failure;
}

namespace {

constexpr std::size_t index(death_class c) noexcept
{
    return static_cast<std::size_t>(c);
}

/// The classes of a lane, as [first, last) in death_class order.
constexpr std::pair<std::size_t, std::size_t> classes_of(probe_lane lane) noexcept
{
    return lane == probe_lane::clean
               ? std::pair{index(death_class::clean), index(death_class::clean) + 1}
               : std::pair{index(death_class::core_signal), index(death_class::failure) + 1};
}

}  // namespace

death_class death_queue::push(die_event ev, clock::time_point now)
{
    const auto kind = classify(ev);
    classes_[index(kind)].push_back({std::move(ev), now, kind, next_seq_++});
    return kind;
}

std::optional<death_queue::entry> death_queue::pop(clock::time_point now)
{
    return pop(now, 0, classes_.size());
}

std::optional<death_queue::entry> death_queue::pop(clock::time_point now, probe_lane lane)
{
    const auto [first, last] = classes_of(lane);
    return pop(now, first, last);
}

bool death_queue::empty(probe_lane lane) const noexcept
{
    const auto [first, last] = classes_of(lane);
    for (auto i = first; i < last; ++i)
        if (!classes_[i].empty())
            return false;
    return true;
}

std::optional<death_queue::entry>
death_queue::pop(clock::time_point now, std::size_t from_class, std::size_t to_class)
{
    std::deque<entry>* oldest = nullptr;  // the class whose head arrived first
    std::deque<entry>* first = nullptr;   // the first class with a death
    for (auto i = from_class; i < to_class; ++i) {
        auto& q = classes_[i];
        if (q.empty())
            continue;
        if (!first)
            first = &q;
        if (!oldest || q.front().seq < oldest->front().seq)
            oldest = &q;
    }
    if (!first)
        return std::nullopt;
    auto& from = now - oldest->front().since >= max_wait_ ? *oldest : *first;
    auto out = std::move(from.front());
    from.pop_front();
    return out;
}

std::size_t death_queue::size() const noexcept
{
    std::size_t n = 0;
    for (const auto& q : classes_)
        n += q.size();
    return n;
}

}  // namespace core_interceptor::domain
