// SPDX-License-Identifier: MIT
#include "state/store.hpp"

#include "log/log.hpp"
#include "state/files.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

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
// A state file larger than this is not ours.
constexpr std::uintmax_t max_file_bytes = 16 * 1024 * 1024;

std::int64_t now_seconds()
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

namespace detail {

std::string read_small_file(const fs::path& p, bool& ok)
{
    ok = false;
    std::error_code ec;
    auto size = fs::file_size(p, ec);
    if (ec || size > max_file_bytes)
        return {};
    std::ifstream in(p, std::ios::binary);
    if (!in)
        return {};
    std::ostringstream s;
    s << in.rdbuf();
    ok = true;
    return std::move(s).str();
}

void sync_dir(const fs::path& dir)
{
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

bool safe_component(std::string_view s)
{
    return !s.empty() && s.find('/') == std::string_view::npos && s != "." && s != "..";
}

}  // namespace detail

namespace {

using detail::read_small_file;
using detail::safe_component;
using detail::sync_dir;

std::string job_file_name(const domain::die_event& ev)
{
    return ev.id + "-" + std::to_string(ev.time_nano) + ".json";
}

std::string dump_key(std::string_view path, std::int64_t size, std::string_view mtime)
{
    return std::string(path) + '\n' + std::to_string(size) + '\n' + std::string(mtime);
}

}  // namespace

/// Writes and removes the per-event files in the order asked, on a thread of its own.
class store::writer {
public:
    /// `report` runs on the writer thread after each write: its error (or none) and its step.
    using report_fn = std::function<void(const error_code&, const std::string&)>;
    explicit writer(report_fn report) : report_(std::move(report)), thread_([this] { run(); }) {}
    ~writer()
    {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }

    /// Queues a crash-safe write; one that replaces the queue's last write of the same path
    /// (an event time superseded before it was written) takes its place.
    void write(fs::path path, std::string content, bool durable)
    {
        {
            std::lock_guard lock(mutex_);
            if (!queue_.empty() && !queue_.back().remove && queue_.back().path == path &&
                queue_.back().durable == durable) {
                queue_.back().content = std::move(content);
                return;
            }
            queue_.push_back({std::move(path), std::move(content), durable, false});
        }
        wake_.notify_all();
    }

    /// Queues a removal; a write of the same path still queued is dropped instead (job files
    /// are unique to their death, so none is on disk yet).
    void remove(fs::path path)
    {
        {
            std::lock_guard lock(mutex_);
            auto it = std::find_if(queue_.begin(), queue_.end(), [&](const op& o) {
                return !o.remove && o.path == path;
            });
            if (it != queue_.end()) {
                queue_.erase(it);
                return;
            }
            // A write that failed earlier is not on disk either: forget it.
            if (std::erase_if(failed_, [&](const op& o) { return o.path == path; }) > 0)
                return;
            queue_.push_back({std::move(path), {}, false, true});
        }
        wake_.notify_all();
    }

    /// Queues again the writes that failed (oldest first), unless replaced meanwhile.
    /// Whether there were any.
    bool retry_failed()
    {
        {
            std::lock_guard lock(mutex_);
            if (failed_.empty())
                return false;
            for (auto it = failed_.rbegin(); it != failed_.rend(); ++it)
                if (std::none_of(queue_.begin(), queue_.end(), [&](const op& o) {
                        return o.path == it->path;
                    }))
                    queue_.push_front(std::move(*it));
            failed_.clear();
        }
        wake_.notify_all();
        return true;
    }

    bool has_failed() const
    {
        std::lock_guard lock(mutex_);
        return !failed_.empty();
    }

    void flush()
    {
        std::unique_lock lock(mutex_);
        idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
    }

private:
    struct op {
        fs::path path;
        std::string content;
        bool durable = true;
        bool remove = false;
    };

    void run()
    {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                if (stopping_)
                    return;
                continue;
            }
            op o = std::move(queue_.front());
            queue_.pop_front();
            busy_ = true;
            lock.unlock();
            error_code ec;
            std::string what;
            if (o.remove) {
                std::error_code ignored;  // already gone is fine; a removal never fills a disk
                fs::remove(o.path, ignored);
            } else {
                ec = try_write_file(o.path, o.content, what, o.durable);
            }
            report_(ec, what);
            lock.lock();
            // A newer write of a file supersedes an older one that failed (the event time is
            // written per event): only the newest is ever retried, by catch_up(); past the cap,
            // the watcher's catch-up after a restart covers what is not retried.
            std::erase_if(failed_, [&](const op& f) { return f.path == o.path; });
            if (ec && failed_.size() < max_failed)
                failed_.push_back(std::move(o));
            busy_ = false;
            if (queue_.empty())
                idle_.notify_all();
        }
    }

    // Failed per-event records kept for a retry: a death's record, or the event time. Beyond
    // this many the watcher's catch-up after a restart finds the deaths anyway.
    static constexpr std::size_t max_failed = 4096;

    report_fn report_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<op> queue_;
    std::deque<op> failed_;
    bool busy_ = false;
    bool stopping_ = false;
    std::thread thread_;  // last: starts once the rest exists
};

error_code try_write_file(const fs::path& path,
                          std::string_view content,
                          std::string& what,
                          bool durable,
                          bool no_replace)
{
    auto fail = [&](int e, const char* step, const fs::path& p) {
        what = std::string(step) + " " + p.string();
        return error_code(e, boost::system::generic_category());
    };
    fs::path tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(errno, "cannot create", tmp);
    const char* p = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : ENOSPC;
            ::close(fd);
            ::unlink(tmp.c_str());  // a partial temporary only takes the space that is missing
            return fail(e, "cannot write", tmp);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (durable && ::fsync(fd) != 0) {
        int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return fail(e, "cannot sync", tmp);
    }
    ::close(fd);
    if (no_replace) {
        // link(2) never replaces: a name taken by another writer fails with EEXIST.
        if (::link(tmp.c_str(), path.c_str()) != 0) {
            int e = errno;
            ::unlink(tmp.c_str());
            return fail(e, "cannot create", path);
        }
        ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return fail(e, "cannot rename", tmp);
    }
    if (durable)
        sync_dir(path.parent_path());
    return {};
}

void write_file_atomically(const fs::path& path, std::string_view content, bool durable)
{
    std::string what;
    if (auto ec = try_write_file(path, content, what, durable))
        throw std::system_error(ec.value(), std::generic_category(), what);
}

store::~store()
{
    if (reported_dirty_)
        save_reported();
}

void store::flush()
{
    writer_->flush();
}

store::store(fs::path dir) : dir_(std::move(dir))
{
    fs::create_directories(dir_);
    // A full or read-only directory does not stop a start (issue 10): it is reported by
    // /healthz and written once it can be.
    for (const char* sub : {"jobs", "spool", "pushes", "dead-letter", "dump-spool"}) {
        std::error_code ec;
        fs::create_directories(dir_ / sub, ec);
        if (ec)
            note_write(error_code(ec.value(), boost::system::generic_category()),
                       std::string("cannot create ") + (dir_ / sub).string());
    }
    {
        std::string what;
        auto ec = try_write_file(dir_ / ".writable", "", what);
        std::error_code ignored;  // nothing there when the write failed
        fs::remove(dir_ / ".writable", ignored);
        note_write(ec, what);
    }
    load();
    writer_ = std::make_unique<writer>(
        [this](const error_code& ec, const std::string& what) { note_write(ec, what); });
    count_spool();
}

void store::note_write(const error_code& ec, std::string_view what)
{
    std::lock_guard lock(health_mutex_);
    if (!ec) {
        // Cleared only by catch_up(), which knows whether anything is still unwritten; a
        // success with no problem recorded is the common case and costs nothing.
        return;
    }
    ++write_errors_;
    const bool first = !problem_;
    problem_ = "state directory " + dir_.string() + " not writable: " + ec.message() + " (" +
               std::string(what) + ")";
    if (first)
        log::error({{"STATE_DIR", dir_.string()}})
            << *problem_ << "; going on, holding in memory what cannot be written";
}

std::optional<std::string> store::problem() const
{
    std::lock_guard lock(health_mutex_);
    return problem_;
}

std::uint64_t store::write_errors() const
{
    std::lock_guard lock(health_mutex_);
    return write_errors_;
}

bool store::backlog() const
{
    if (reported_dirty_ || writer_->has_failed())
        return true;
    return std::any_of(
        held_.begin(), held_.end(), [](const auto& kv) { return !kv.second.empty(); });
}

void store::catch_up()
{
    if (!problem())
        return;
    if (reported_dirty_)
        save_reported();
    for (auto& [sink, q] : held_) {
        while (!q.empty()) {
            if (write_spooled(sink, q.front()))
                break;
            log::info({{"NOTIFICATION_ID", q.front().id}})
                << "notification " << q.front().id << " for " << sink
                << " held in memory is spooled now";
            q.pop_front();
        }
    }
    if (writer_->retry_failed())
        writer_->flush();
    if (!backlog()) {
        std::lock_guard lock(health_mutex_);
        if (problem_) {
            log::info({{"STATE_DIR", dir_.string()}})
                << "state directory " << dir_.string()
                << " is writable again; the state has caught up";
            problem_.reset();
        }
    }
}

void store::set_aside(const fs::path& p, std::string_view why)
{
    fs::path aside = p;
    aside += ".corrupt";
    std::error_code ec;
    fs::rename(p, aside, ec);
    log::error({{"STATE_FILE", p.string()}})
        << "state file " << p.string() << " is " << why << "; set aside as "
        << aside.filename().string() << " and starting without it";
}

void store::load()
{
    // The newest event time, written unsynced per event (see set_last_event_nano); a torn or
    // missing file leaves the time in state.json, which is never newer.
    {
        bool ok = false;
        const std::string text = read_small_file(dir_ / "last_event", ok);
        if (ok)
            last_event_nano_ = std::max<std::int64_t>(0, std::strtoll(text.c_str(), nullptr, 10));
    }
    const fs::path p = dir_ / "state.json";
    if (!fs::exists(p))
        return;
    bool ok = false;
    std::string text = read_small_file(p, ok);
    error_code ec;
    auto v = ok ? json::parse(text, ec) : json::value{};
    if (!ok || ec || !v.is_object()) {
        set_aside(p, ok ? "not valid JSON (torn write?)" : "unreadable or too large");
        return;
    }
    const auto& o = v.as_object();
    if (auto* t = o.if_contains("last_event_nano"); t && t->is_int64()) {
        last_event_nano_ = std::max(last_event_nano_, t->as_int64());
        marked_event_nano_ = t->as_int64();
    }
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

error_code store::save_reported()
{
    // Marks of a container that left no dump for reported_ttl expire: a container that old is
    // long gone or long fixed, and a forgotten dump is at worst reported twice.
    const auto oldest =
        now_seconds() - std::chrono::duration_cast<std::chrono::seconds>(reported_ttl).count();
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
    std::string what;
    auto ec = try_write_file(dir_ / "state.json", json::serialize(o), what);
    note_write(ec, what);
    reported_dirty_ = static_cast<bool>(ec);
    return ec;
}

void store::set_last_event_nano(std::int64_t t)
{
    if (t <= last_event_nano_)
        return;
    last_event_nano_ = t;
    writer_->write(dir_ / "last_event", std::to_string(t) + "\n", false);
}

void store::job_started(const domain::die_event& ev)
{
    if (!safe_component(ev.id))
        return;
    json::object o;
    o["id"] = ev.id;
    o["name"] = ev.name;
    o["image"] = ev.image;
    o["time_nano"] = ev.time_nano;
    writer_->write(dir_ / "jobs" / job_file_name(ev), json::serialize(o), true);
}

void store::job_finished(const domain::die_event& ev)
{
    if (!safe_component(ev.id))
        return;
    writer_->remove(dir_ / "jobs" / job_file_name(ev));
}

std::vector<domain::die_event> store::unfinished_jobs()
{
    flush();
    std::vector<domain::die_event> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_ / "jobs", ec)) {
        const auto& p = entry.path();
        if (p.extension() != ".json")
            continue;
        bool ok = false;
        std::string text = read_small_file(p, ok);
        error_code jec;
        auto v = ok ? json::parse(text, jec) : json::value{};
        const json::object* o = (!jec && v.is_object()) ? &v.as_object() : nullptr;
        domain::die_event ev;
        if (o) {
            auto str = [&](const char* k) {
                auto* x = o->if_contains(k);
                return x && x->is_string() ? std::string(x->as_string()) : std::string{};
            };
            ev.id = str("id");
            ev.name = str("name");
            ev.image = str("image");
            if (auto* t = o->if_contains("time_nano"); t && t->is_int64())
                ev.time_nano = t->as_int64();
        }
        if (!o || !safe_component(ev.id)) {
            set_aside(p, "not a valid job record");
            continue;
        }
        out.push_back(std::move(ev));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.time_nano < b.time_nano;
    });
    return out;
}

std::string store::signatures()
{
    const fs::path p = dir_ / "signatures.json";
    if (!fs::exists(p))
        return {};
    bool ok = false;
    std::string text = read_small_file(p, ok);
    error_code ec;
    if (ok)
        json::parse(text, ec);
    if (!ok || ec) {
        set_aside(p, ok ? "not valid JSON (torn write?)" : "unreadable or too large");
        return {};
    }
    return text;
}

void store::save_signatures(std::string json)
{
    writer_->write(dir_ / "signatures.json", std::move(json), true);
}

bool store::reported(std::string_view id,
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

void store::mark_reported(std::string_view id,
                          std::string_view path,
                          std::int64_t size,
                          std::string_view mtime)
{
    if (reported(id, path, size, mtime))
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
    reported_dirty_ = true;
    // The synced file holds the event time of its marks: a later time is the unsynced
    // last_event's to tell (see set_last_event_nano), whenever state.json is written.
    marked_event_nano_ = last_event_nano_;
}

}  // namespace core_interceptor::state
