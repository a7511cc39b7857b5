// SPDX-License-Identifier: MIT
#include "state/reported.hpp"

#include "state/files.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace fs = std::filesystem;
namespace json = boost::json;

namespace core_interceptor::state {
namespace {

// Dumps remembered per container: a crash-looping container with one core per crash needs
// only the recent ones; older keys are dropped first.
constexpr std::size_t max_reported_per_container = 256;
// Containers remembered: beyond it the oldest entries are dropped (a map is ordered by ID,
// so this is arbitrary but bounded; a forgotten dump is at worst reported twice).
constexpr std::size_t max_reported_containers = 4096;

std::int64_t now_seconds()
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string dump_key(std::string_view path, std::int64_t size, std::string_view mtime)
{
    return std::string(path) + '\n' + std::to_string(size) + '\n' + std::string(mtime);
}

}  // namespace

reported_dumps::reported_dumps(fs::path dir, writer& w) : dir_(std::move(dir)), writer_(w)
{
    load();
}

void reported_dumps::load()
{
    const fs::path p = dir_ / "state.json";
    if (!detail::exists(p))
        return;
    bool ok = false;
    std::string text = detail::read_small_file(p, ok);
    error_code ec;
    auto v = ok ? json::parse(text, ec) : json::value{};
    if (!ok || ec || !v.is_object()) {
        detail::set_aside(p, ok ? "not valid JSON (torn write?)" : "unreadable or too large");
        return;
    }
    const auto& o = v.as_object();
    if (auto* t = o.if_contains("last_event_nano"); t && t->is_int64())
        marked_event_nano_ = t->as_int64();
    if (auto* r = o.if_contains("reported"); r && r->is_object()) {
        for (const auto& [id, keys] : r->as_object()) {
            if (!keys.is_array())
                continue;
            auto& list = reported_[std::string(id)];
            for (const auto& k : keys.as_array())
                if (k.is_string())
                    list.emplace_back(k.as_string());
        }
    }
    // When each container's newest mark was made; a file of an earlier version has none: from now.
    const auto* at = o.if_contains("reported_at");
    for (const auto& [id, keys] : reported_) {
        const json::value* t = at && at->is_object() ? at->as_object().if_contains(id) : nullptr;
        reported_at_[id] = t && t->is_int64() ? t->as_int64() : now_seconds();
    }
}

std::string reported_dumps::serialize()
{
    // Marks of a container that left no dump for ttl expire: a container that old is long
    // gone or long fixed, and a forgotten dump is at worst reported twice.
    const auto oldest =
        now_seconds() - std::chrono::duration_cast<std::chrono::seconds>(ttl).count();
    std::erase_if(reported_, [&](const auto& kv) {
        auto it = reported_at_.find(kv.first);
        return it != reported_at_.end() && it->second < oldest;
    });
    std::erase_if(reported_at_, [&](const auto& kv) { return !reported_.contains(kv.first); });
    json::object o;
    o["last_event_nano"] = marked_event_nano_;
    json::object rep;
    json::object at;
    for (const auto& [id, keys] : reported_) {
        json::array a;
        for (const auto& k : keys)
            a.emplace_back(k);
        rep[id] = std::move(a);
        if (auto it = reported_at_.find(id); it != reported_at_.end())
            at[id] = it->second;
    }
    o["reported"] = std::move(rep);
    o["reported_at"] = std::move(at);
    return json::serialize(o);
}

error_code reported_dumps::save()
{
    const fs::path p = dir_ / "state.json";
    auto ec = writer_.call(
        [p, text = serialize()](std::string& what) { return try_write_file(p, text, what); }, p);
    dirty_ = static_cast<bool>(ec);
    return ec;
}

void reported_dumps::queue_save()
{
    writer_.write(dir_ / "state.json", serialize(), true);
    dirty_ = false;
}

bool reported_dumps::contains(std::string_view id,
                              std::string_view path,
                              std::int64_t size,
                              std::string_view mtime) const
{
    auto it = reported_.find(id);
    if (it == reported_.end())
        return false;
    const auto key = dump_key(path, size, mtime);
    return std::find(it->second.begin(), it->second.end(), key) != it->second.end();
}

void reported_dumps::mark(std::string_view id,
                          std::string_view path,
                          std::int64_t size,
                          std::string_view mtime,
                          std::int64_t event_nano)
{
    if (contains(id, path, size, mtime))
        return;
    if (reported_.size() >= max_reported_containers && reported_.find(id) == reported_.end()) {
        // Full: forget the container whose newest mark is the oldest.
        auto oldest =
            std::min_element(reported_at_.begin(),
                             reported_at_.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; });
        if (oldest != reported_at_.end()) {
            reported_.erase(oldest->first);
            reported_at_.erase(oldest);
        } else {
            reported_.erase(reported_.begin());
        }
    }
    auto& list = reported_[std::string(id)];
    list.push_back(dump_key(path, size, mtime));
    if (list.size() > max_reported_per_container)
        list.erase(list.begin());
    reported_at_[std::string(id)] = now_seconds();
    dirty_ = true;
    // The synced file holds the event time of its marks: a later time is the unsynced
    // last_event's to tell (see set_last_event_nano), whenever state.json is written.
    marked_event_nano_ = event_nano;
}

}  // namespace core_interceptor::state
