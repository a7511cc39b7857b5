// SPDX-License-Identifier: MIT
#include "domain/death_queue.hpp"

#include <charconv>

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

void death_queue::push(die_event ev, clock::time_point now)
{
    const auto kind = classify(ev);
    classes_[static_cast<std::size_t>(kind)].push_back({std::move(ev), now, kind, next_seq_++});
}

std::optional<death_queue::entry> death_queue::pop(clock::time_point now)
{
    std::deque<entry>* oldest = nullptr;  // the class whose head arrived first
    std::deque<entry>* first = nullptr;   // the first class with a death
    for (auto& q : classes_) {
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
