// SPDX-License-Identifier: MIT
#include "state/spool.hpp"

#include "domain/json_member.hpp"
#include "domain/notification.hpp"
#include "log/log.hpp"
#include "state/files.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdlib>
#include <queue>

namespace fs = std::filesystem;
namespace json = boost::json;

namespace core_interceptor::state {
namespace {

// Names taken by someone else in a row before a spool write gives up: the lock keeps other
// processes out, so a clash means leftovers, never a stream of them.
constexpr int max_name_clashes = 64;

// Writes `text` to a new file of `d` named by the next free sequence number.
error_code write_numbered(const fs::path& d,
                          const std::string& prefix,
                          const std::string& text,
                          std::atomic<std::uint64_t>& seq,
                          std::string& what)
{
    std::error_code dec;
    fs::create_directories(d, dec);
    error_code ec;
    for (int i = 0; i < max_name_clashes; ++i) {
        ec = try_write_file(
            d / (prefix + detail::seq_name(++seq) + ".json"), text, what, true, true);
        if (ec != boost::system::errc::file_exists)
            break;
    }
    return ec;
}

// A spooled notification read back, or nullopt when the file is not one.
std::optional<spooled> read_spooled(const fs::path& p)
{
    bool ok = false;
    std::string text = detail::read_small_file(p, ok);
    error_code jec;
    auto v = ok ? json::parse(text, jec) : json::value{};
    const auto* body =
        ok && !jec && v.is_object() ? domain::string_member_if(v.as_object(), "body") : nullptr;
    if (!body)
        return std::nullopt;
    const auto& o = v.as_object();
    spooled s;
    s.file = p;
    s.seq = std::strtoull(p.filename().c_str(), nullptr, 10);
    s.body = std::string(*body);
    s.id = domain::string_member(o, "id");
    s.key = domain::string_member(o, "key");
    return s;
}

// The `limit` oldest names only: a max-heap of names, so a spool of a million files costs
// `limit` paths of memory, not a million bodies.
std::vector<fs::path> oldest_files(const fs::path& d, std::size_t limit)
{
    std::priority_queue<fs::path> oldest;
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
    return files;
}

// Removes a spool file and syncs its directory; an error when it was not there.
writer::task removal(fs::path file)
{
    return [file = std::move(file)](std::string&) {
        std::error_code ec;
        if (!fs::remove(file, ec))
            return error_code(ec ? ec.value() : ENOENT, boost::system::generic_category());
        detail::sync_dir(file.parent_path());
        return error_code{};
    };
}

}  // namespace

notification_spool::notification_spool(fs::path dir, writer& w) : dir_(std::move(dir)), writer_(w)
{
    count();
}

void notification_spool::count()
{
    // Spool files are numbered across sinks: continue after the highest, so order survives.
    std::uint64_t seq = 0;
    std::error_code ec;
    for (const auto& sink_dir : fs::directory_iterator(dir_ / "spool", ec)) {
        std::size_t n = 0;
        std::error_code ec2;
        for (const auto& e : fs::directory_iterator(sink_dir.path(), ec2)) {
            if (e.path().extension() != ".json")
                continue;
            ++n;
            seq = std::max<std::uint64_t>(seq,
                                          std::strtoull(e.path().filename().c_str(), nullptr, 10));
        }
        count_[sink_dir.path().filename().string()] = n;
    }
    seq_ = seq;
}

writer::task notification_spool::spool_task(const std::string& sink, const spooled& s)
{
    json::object o;
    o["id"] = s.id;
    o["key"] = s.key;
    o["body"] = s.body;
    return [this, d = dir_ / "spool" / sink, text = json::serialize(o)](std::string& what) {
        return write_numbered(d, "", text, seq_, what);
    };
}

void notification_spool::spooled_now(const std::string& name, spooled s, const error_code& ec)
{
    if (ec) {
        // Not lost while the process runs: redelivered from memory, written by catch_up().
        s.seq = ++seq_;
        log::error({{"NOTIFICATION_ID", s.id}})
            << "cannot spool notification " << s.id << " for " << name << ": " << ec.message()
            << "; held in memory until the state directory "
            << "is writable again";
        held_[name].push_back(std::move(s));
    }
    const std::size_t n = ++count_[name];
    if (n > warn_ && !warned_) {
        warned_ = true;
        log::warning() << "the spool of " << name << " holds " << n << " notifications, more than "
                       << warn_ << ": the sink has been away for long; nothing is dropped";
    } else if (n <= warn_ / 2) {
        warned_ = false;
    }
}

error_code notification_spool::spool(std::string_view sink,
                                     std::string_view id,
                                     std::string_view key,
                                     std::string_view body)
{
    const std::string name(sink);
    spooled s{{}, 0, std::string(id), std::string(key), std::string(body)};
    auto ec = writer_.call(spool_task(name, s));
    spooled_now(name, std::move(s), ec);
    return ec;
}

boost::asio::awaitable<error_code> notification_spool::async_spool(const std::string& sink,
                                                                   const std::string& id,
                                                                   const std::string& key,
                                                                   const std::string& body)
{
    spooled s{{}, 0, id, key, body};
    ++writing_[sink];
    writer::task work = spool_task(sink, s);
    // Named, never a temporary in a co_await expression: g++ 12 may destroy one twice.
    const error_code ec = co_await writer_.async_call(std::move(work));
    --writing_[sink];
    spooled_now(sink, std::move(s), ec);
    co_return ec;
}

bool notification_spool::writing(std::string_view sink) const
{
    auto it = writing_.find(sink);
    return it != writing_.end() && it->second > 0;
}

std::vector<spooled> notification_spool::spooled_for(std::string_view sink, std::size_t limit)
{
    std::vector<spooled> out;
    for (const auto& p : oldest_files(dir_ / "spool" / std::string(sink), limit)) {
        if (auto s = read_spooled(p)) {
            out.push_back(std::move(*s));
            continue;
        }
        detail::set_aside(p, "not a valid spooled notification");
        if (auto it = count_.find(sink); it != count_.end() && it->second > 0)
            --it->second;
    }
    if (auto it = held_.find(sink); it != held_.end())
        for (std::size_t i = 0; i < it->second.size() && out.size() < limit; ++i)
            out.push_back(it->second[i]);
    return out;
}

void notification_spool::uncount(std::string_view sink)
{
    if (auto c = count_.find(sink); c != count_.end() && c->second > 0)
        --c->second;
}

void notification_spool::unhold(const spooled& s)
{
    for (auto& [name, q] : held_) {
        auto it =
            std::find_if(q.begin(), q.end(), [&](const spooled& h) { return h.seq == s.seq; });
        if (it != q.end()) {
            q.erase(it);
            uncount(name);
            return;
        }
    }
}

void notification_spool::unspool(const spooled& s)
{
    if (s.file.empty())
        return unhold(s);
    if (!writer_.call(removal(s.file)))
        uncount(s.file.parent_path().filename().string());
    // else: gone already, counted then
}

boost::asio::awaitable<void> notification_spool::async_unspool(const spooled& s)
{
    if (s.file.empty()) {
        unhold(s);
        co_return;
    }
    writer::task work = removal(s.file);
    const error_code ec = co_await writer_.async_call(std::move(work));
    if (!ec)
        uncount(s.file.parent_path().filename().string());
}

std::size_t notification_spool::size(std::string_view sink) const
{
    auto it = count_.find(sink);
    return it == count_.end() ? 0 : it->second;
}

bool notification_spool::holding() const
{
    return std::any_of(
        held_.begin(), held_.end(), [](const auto& kv) { return !kv.second.empty(); });
}

bool notification_spool::catch_up()
{
    for (auto& [sink, q] : held_) {
        while (!q.empty()) {
            if (writer_.call(spool_task(sink, q.front())))
                break;
            log::info({{"NOTIFICATION_ID", q.front().id}})
                << "notification " << q.front().id << " for " << sink
                << " held in memory is spooled now";
            q.pop_front();
        }
    }
    return !holding();
}

boost::asio::awaitable<void> notification_spool::async_catch_up()
{
    for (auto& [sink, q] : held_) {
        while (!q.empty()) {
            const spooled s = q.front();
            writer::task work = spool_task(sink, s);
            const error_code ec = co_await writer_.async_call(std::move(work));
            if (ec)
                break;
            log::info({{"NOTIFICATION_ID", s.id}})
                << "notification " << s.id << " for " << sink << " held in memory is spooled now";
            // Redelivered meanwhile: gone from the queue already.
            if (!q.empty() && q.front().seq == s.seq)
                q.pop_front();
        }
    }
}

writer::task notification_spool::dead_letter_task(std::string_view sink,
                                                  const spooled& s,
                                                  std::string_view reason)
{
    json::object o;
    o["sink"] = sink;
    o["id"] = s.id;
    o["key"] = s.key;
    o["reason"] = reason;
    o["time"] = domain::rfc3339_utc(std::chrono::system_clock::now());
    o["body"] = s.body;
    return [this,
            d = dir_ / "dead-letter",
            prefix = std::string(sink) + "-",
            text = json::serialize(o)](std::string& what) {
        return write_numbered(d, prefix, text, seq_, what);
    };
}

void notification_spool::dead_letter_done(std::string_view sink,
                                          const spooled& s,
                                          const error_code& ec)
{
    if (ec)
        // The last place it can be kept: the log (the body holds no secret, SPEC §5).
        log::error({{"NOTIFICATION_ID", s.id}})
            << "cannot keep dead letter " << s.id << " for " << sink << ": " << ec.message()
            << "; its body: " << s.body;
}

error_code
notification_spool::dead_letter(std::string_view sink, const spooled& s, std::string_view reason)
{
    ++dead_letters_;
    auto ec = writer_.call(dead_letter_task(sink, s, reason));
    dead_letter_done(sink, s, ec);
    return ec;
}

boost::asio::awaitable<error_code> notification_spool::async_dead_letter(const std::string& sink,
                                                                         const spooled& s,
                                                                         const std::string& reason)
{
    ++dead_letters_;
    writer::task work = dead_letter_task(sink, s, reason);
    const error_code ec = co_await writer_.async_call(std::move(work));
    dead_letter_done(sink, s, ec);
    co_return ec;
}

}  // namespace core_interceptor::state
