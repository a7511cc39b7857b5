// SPDX-License-Identifier: MIT
// The store's notification files: the spool per sink, the dead letters, the pending pushes.
#include "state/store.hpp"

#include "domain/notification.hpp"
#include "log/log.hpp"
#include "state/files.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <queue>

namespace fs = std::filesystem;
namespace json = boost::json;

namespace core_interceptor::state {
namespace {

using boost::system::error_code;
using detail::read_small_file;
using detail::safe_component;
using detail::sync_dir;

std::string seq_name(std::uint64_t seq)
{
    char buf[24];
    std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(seq));
    return buf;
}

// Names taken by someone else in a row before a spool write gives up: the lock keeps other
// processes out, so a clash means leftovers, never a stream of them.
constexpr int max_name_clashes = 64;

}  // namespace

void store::count_spool()
{
    // Spool files are numbered across sinks: continue after the highest, so order survives.
    std::error_code ec;
    for (const auto& sink_dir : fs::directory_iterator(dir_ / "spool", ec)) {
        std::size_t n = 0;
        std::error_code ec2;
        for (const auto& e : fs::directory_iterator(sink_dir.path(), ec2)) {
            if (e.path().extension() != ".json")
                continue;
            ++n;
            spool_seq_ = std::max<std::uint64_t>(
                spool_seq_, std::strtoull(e.path().filename().c_str(), nullptr, 10));
        }
        spool_count_[sink_dir.path().filename().string()] = n;
    }
}

error_code store::write_spooled(const std::string& sink, const spooled& s)
{
    const fs::path d = dir_ / "spool" / sink;
    std::error_code dec;
    fs::create_directories(d, dec);
    json::object o;
    o["id"] = s.id;
    o["key"] = s.key;
    o["body"] = s.body;
    const std::string text = json::serialize(o);
    error_code ec;
    std::string what;
    for (int i = 0; i < max_name_clashes; ++i) {
        ++spool_seq_;
        ec = try_write_file(d / (seq_name(spool_seq_) + ".json"), text, what, true, true);
        if (ec != boost::system::errc::file_exists)
            break;
    }
    note_write(ec, what);
    return ec;
}

error_code store::spool(std::string_view sink,
                        std::string_view id,
                        std::string_view key,
                        std::string_view body)
{
    const std::string name(sink);
    spooled s{{}, 0, std::string(id), std::string(key), std::string(body)};
    auto ec = write_spooled(name, s);
    if (ec) {
        // Not lost while the process runs: redelivered from memory, written by catch_up().
        s.seq = ++spool_seq_;
        log::error({{"NOTIFICATION_ID", s.id}})
            << "cannot spool notification " << s.id << " for " << name << ": " << ec.message()
            << "; held in memory until the state directory "
            << "is writable again";
        held_[name].push_back(std::move(s));
    }
    const std::size_t n = ++spool_count_[name];
    if (n > spool_warn_ && !spool_warned_) {
        spool_warned_ = true;
        log::warning() << "the spool of " << name << " holds " << n << " notifications, more than "
                       << spool_warn_ << ": the sink has been away for long; nothing is dropped";
    } else if (n <= spool_warn_ / 2) {
        spool_warned_ = false;
    }
    return ec;
}

std::vector<spooled> store::spooled_for(std::string_view sink, std::size_t limit)
{
    // The `limit` oldest names only: a max-heap of names, so a spool of a million files costs
    // `limit` paths of memory, not a million bodies.
    std::priority_queue<fs::path> oldest;
    const fs::path d = dir_ / "spool" / std::string(sink);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec)) {
        if (e.path().extension() != ".json")
            continue;
        if (oldest.size() < limit) {
            oldest.push(e.path());
        } else if (!oldest.empty() && e.path() < oldest.top()) {
            oldest.pop();
            oldest.push(e.path());
        }
    }
    std::vector<fs::path> files;
    for (; !oldest.empty(); oldest.pop())
        files.push_back(oldest.top());
    std::reverse(files.begin(), files.end());  // zero-padded sequence numbers: oldest first
    std::vector<spooled> out;
    for (const auto& p : files) {
        bool ok = false;
        std::string text = read_small_file(p, ok);
        error_code jec;
        auto v = ok ? json::parse(text, jec) : json::value{};
        if (!ok || jec || !v.is_object() || !v.as_object().contains("body") ||
            !v.as_object().at("body").is_string()) {
            set_aside(p, "not a valid spooled notification");
            if (auto it = spool_count_.find(sink); it != spool_count_.end() && it->second > 0)
                --it->second;
            continue;
        }
        const auto& o = v.as_object();
        spooled s;
        s.file = p;
        s.seq = std::strtoull(p.filename().c_str(), nullptr, 10);
        s.body = std::string(o.at("body").as_string());
        if (auto* x = o.if_contains("id"); x && x->is_string())
            s.id = std::string(x->as_string());
        if (auto* x = o.if_contains("key"); x && x->is_string())
            s.key = std::string(x->as_string());
        out.push_back(std::move(s));
    }
    if (auto it = held_.find(sink); it != held_.end())
        for (std::size_t i = 0; i < it->second.size() && out.size() < limit; ++i)
            out.push_back(it->second[i]);
    return out;
}

void store::unspool(const spooled& s)
{
    const std::string sink =
        s.file.empty() ? std::string{} : s.file.parent_path().filename().string();
    if (s.file.empty()) {
        for (auto& [name, q] : held_) {
            auto it =
                std::find_if(q.begin(), q.end(), [&](const spooled& h) { return h.seq == s.seq; });
            if (it != q.end()) {
                q.erase(it);
                if (auto c = spool_count_.find(name); c != spool_count_.end() && c->second > 0)
                    --c->second;
                return;
            }
        }
        return;
    }
    std::error_code ec;
    if (!fs::remove(s.file, ec))
        return;  // gone already: counted then
    sync_dir(s.file.parent_path());
    if (auto c = spool_count_.find(sink); c != spool_count_.end() && c->second > 0)
        --c->second;
}

std::size_t store::spool_size(std::string_view sink) const
{
    auto it = spool_count_.find(sink);
    return it == spool_count_.end() ? 0 : it->second;
}

error_code store::dead_letter(std::string_view sink, const spooled& s, std::string_view reason)
{
    ++dead_letters_;
    json::object o;
    o["sink"] = sink;
    o["id"] = s.id;
    o["key"] = s.key;
    o["reason"] = reason;
    o["time"] = domain::rfc3339_utc(std::chrono::system_clock::now());
    o["body"] = s.body;
    const std::string text = json::serialize(o);
    const fs::path d = dir_ / "dead-letter";
    std::error_code dec;
    fs::create_directories(d, dec);
    error_code ec;
    std::string what;
    for (int i = 0; i < max_name_clashes; ++i) {
        ++spool_seq_;
        ec = try_write_file(
            d / (std::string(sink) + "-" + seq_name(spool_seq_) + ".json"), text, what, true, true);
        if (ec != boost::system::errc::file_exists)
            break;
    }
    note_write(ec, what);
    if (ec)
        // The last place it can be kept: the log (the body holds no secret, SPEC §5).
        log::error({{"NOTIFICATION_ID", s.id}})
            << "cannot keep dead letter " << s.id << " for " << sink << ": " << ec.message()
            << "; its body: " << s.body;
    return ec;
}

error_code store::add_pending_push(std::string_view repository,
                                   std::string_view tag,
                                   std::string_view notification)
{
    json::object o;
    o["repository"] = repository;
    o["tag"] = tag;
    o["notification"] = notification;
    // The tag is the container ID prefix: unique per container, and a later commit of the same
    // container replaces the earlier image (it holds a superset), so one file per tag.
    std::string name(tag);
    if (!safe_component(name))
        return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    std::string what;
    auto ec = try_write_file(dir_ / "pushes" / (name + ".json"), json::serialize(o), what);
    note_write(ec, what);
    return ec;
}

std::vector<pending_push> store::pending_pushes()
{
    std::vector<std::pair<fs::file_time_type, pending_push>> found;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / "pushes", ec)) {
        if (e.path().extension() != ".json")
            continue;
        bool ok = false;
        std::string text = read_small_file(e.path(), ok);
        error_code jec;
        auto v = ok ? json::parse(text, jec) : json::value{};
        const json::object* o = (!jec && v.is_object()) ? &v.as_object() : nullptr;
        auto str = [&](const char* k) {
            auto* x = o ? o->if_contains(k) : nullptr;
            return x && x->is_string() ? std::string(x->as_string()) : std::string{};
        };
        pending_push p{e.path(), str("repository"), str("tag"), str("notification")};
        if (p.repository.empty() || p.tag.empty()) {
            set_aside(e.path(), "not a valid pending push");
            continue;
        }
        std::error_code tec;
        found.emplace_back(fs::last_write_time(e.path(), tec), std::move(p));
    }
    std::sort(
        found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<pending_push> out;
    for (auto& f : found)
        out.push_back(std::move(f.second));
    return out;
}

void store::remove_pending_push(const pending_push& p)
{
    std::error_code ec;
    fs::remove(p.file, ec);
    sync_dir(p.file.parent_path());
}

}  // namespace core_interceptor::state
