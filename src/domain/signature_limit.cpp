// SPDX-License-Identifier: MIT
#include "domain/signature_limit.hpp"

#include "domain/json_member.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace core_interceptor::domain {
namespace json = boost::json;
namespace {

// Signatures remembered: a host sees few distinct crashes an hour; past this the one with the
// oldest last commit is dropped, so a storm of distinct crashes cannot grow the state file
// without bound (a forgotten signature at worst gets `max` more images).
constexpr std::size_t max_signatures = 4096;
// A signature is 16 hex digits; anything much longer in a state file is not ours.
constexpr std::size_t max_signature_length = 64;
constexpr std::size_t max_image_length = 1024;

std::int64_t ms_of(signature_limit::clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

signature_limit::signature_limit(std::size_t max, std::chrono::seconds window)
    : max_(max), window_(window)
{
}

void signature_limit::prune(clock::time_point now)
{
    const std::int64_t oldest =
        ms_of(now) - std::chrono::duration_cast<std::chrono::milliseconds>(window_).count();
    for (auto it = by_signature_.begin(); it != by_signature_.end();) {
        auto& times = it->second.times_ms;
        while (!times.empty() && times.front() <= oldest)
            times.pop_front();
        it = times.empty() ? by_signature_.erase(it) : std::next(it);
    }
}

std::optional<std::string> signature_limit::duplicate_of(std::string_view signature,
                                                         clock::time_point now)
{
    if (max_ == 0 || signature.empty())
        return std::nullopt;
    prune(now);
    auto it = by_signature_.find(signature);
    if (it == by_signature_.end() || it->second.times_ms.size() < max_)
        return std::nullopt;
    return it->second.image;
}

void signature_limit::record(std::string_view signature,
                             std::string_view reference,
                             clock::time_point now)
{
    if (max_ == 0 || signature.empty() || signature.size() > max_signature_length)
        return;
    prune(now);
    if (by_signature_.size() >= max_signatures && !by_signature_.contains(signature)) {
        auto oldest = std::min_element(
            by_signature_.begin(), by_signature_.end(), [](const auto& a, const auto& b) {
                return a.second.times_ms.back() < b.second.times_ms.back();
            });
        by_signature_.erase(oldest);
    }
    auto& e = by_signature_[std::string(signature)];
    e.times_ms.push_back(ms_of(now));
    while (e.times_ms.size() > max_)
        e.times_ms.pop_front();
    e.image = std::string(reference.substr(0, max_image_length));
}

std::string signature_limit::to_json() const
{
    json::object o;
    for (const auto& [sig, e] : by_signature_) {
        json::array times;
        for (auto t : e.times_ms)
            times.emplace_back(t);
        o[sig] = json::object{{"times_ms", std::move(times)}, {"image", e.image}};
    }
    return json::serialize(o);
}

bool signature_limit::load(std::string_view text, clock::time_point now)
{
    by_signature_.clear();
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object())
        return false;
    for (const auto& [sig, e] : v.as_object()) {
        const auto* o = e.if_object();
        const auto* times = o ? o->if_contains("times_ms") : nullptr;
        const auto* image = o ? string_member_if(*o, "image") : nullptr;
        if (!times || !times->is_array() || !image || sig.empty() ||
            sig.size() > max_signature_length || by_signature_.size() >= max_signatures) {
            by_signature_.clear();
            return false;
        }
        entry en;
        en.image = std::string(*image).substr(0, max_image_length);
        for (const auto& t : times->as_array())
            if (t.is_int64() && (en.times_ms.empty() || t.as_int64() >= en.times_ms.back()))
                en.times_ms.push_back(t.as_int64());
        while (max_ > 0 && en.times_ms.size() > max_)
            en.times_ms.pop_front();
        if (!en.times_ms.empty())
            by_signature_.emplace(std::string(sig), std::move(en));
    }
    prune(now);
    return true;
}

}  // namespace core_interceptor::domain
