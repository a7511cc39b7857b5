// SPDX-License-Identifier: MIT
#include "state/store.hpp"

#include "log/log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <fstream>
#include <sstream>
#include <system_error>

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

std::string job_file_name(const domain::die_event& ev)
{
    return ev.id + "-" + std::to_string(ev.time_nano) + ".json";
}

std::string dump_key(std::string_view path, std::int64_t size, std::string_view mtime)
{
    return std::string(path) + '\n' + std::to_string(size) + '\n' + std::string(mtime);
}

bool safe_component(std::string_view s)
{
    return !s.empty() && s.find('/') == std::string_view::npos && s != "." && s != "..";
}

}  // namespace

/// Writes and removes the per-event files in the order asked, on a thread of its own.
class store::writer {
public:
    writer() : thread_([this] { run(); }) {}
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
            auto it = std::find_if(queue_.begin(), queue_.end(),
                                   [&](const op& o) { return !o.remove && o.path == path; });
            if (it != queue_.end()) {
                queue_.erase(it);
                return;
            }
            queue_.push_back({std::move(path), {}, false, true});
        }
        wake_.notify_all();
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
            try {
                if (o.remove) {
                    std::error_code ec;
                    fs::remove(o.path, ec);
                } else {
                    write_file_atomically(o.path, o.content, o.durable);
                }
            } catch (const std::exception& e) {
                log::error() << "cannot record in the state directory: " << e.what();
            }
            lock.lock();
            busy_ = false;
            if (queue_.empty())
                idle_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<op> queue_;
    bool busy_ = false;
    bool stopping_ = false;
    std::thread thread_;  // last: starts once the rest exists
};

void write_file_atomically(const fs::path& path, std::string_view content, bool durable)
{
    fs::path tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "cannot create " + tmp.string());
    const char* p = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            ::close(fd);
            throw std::system_error(e, std::generic_category(), "cannot write " + tmp.string());
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (durable && ::fsync(fd) != 0) {
        int e = errno;
        ::close(fd);
        throw std::system_error(e, std::generic_category(), "cannot sync " + tmp.string());
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        throw std::system_error(errno, std::generic_category(), "cannot rename " + tmp.string());
    if (durable)
        sync_dir(path.parent_path());
}

store::~store() = default;

void store::flush()
{
    writer_->flush();
}

store::store(fs::path dir) : dir_(std::move(dir))
{
    fs::create_directories(dir_ / "jobs");
    fs::create_directories(dir_ / "spool");
    fs::create_directories(dir_ / "pushes");
    // Fail now, not at the first death, when the directory is not writable.
    write_file_atomically(dir_ / ".writable", "");
    fs::remove(dir_ / ".writable");
    load();
    writer_ = std::make_unique<writer>();
    // Spool files are numbered across sinks: continue after the highest, so order survives.
    std::error_code ec;
    for (const auto& sink_dir : fs::directory_iterator(dir_ / "spool", ec))
        for (const auto& e : fs::directory_iterator(sink_dir.path(), ec))
            spool_seq_ = std::max<std::uint64_t>(spool_seq_,
                                                  std::strtoull(e.path().filename().c_str(), nullptr, 10));
}

void store::set_aside(const fs::path& p, std::string_view why)
{
    fs::path aside = p;
    aside += ".corrupt";
    std::error_code ec;
    fs::rename(p, aside, ec);
    log::error({{"STATE_FILE", p.string()}}) << "state file " << p.string() << " is " << why << "; set aside as "
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
    if (auto* t = o.if_contains("last_event_nano"); t && t->is_int64())
        last_event_nano_ = std::max(last_event_nano_, t->as_int64());
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
}

void store::save()
{
    json::object o;
    o["last_event_nano"] = last_event_nano_;
    json::object rep;
    for (const auto& [id, keys] : reported_) {
        json::array a;
        for (const auto& k : keys)
            a.emplace_back(k);
        rep[id] = std::move(a);
    }
    o["reported"] = std::move(rep);
    write_file_atomically(dir_ / "state.json", json::serialize(o));
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
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.time_nano < b.time_nano; });
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

bool store::reported(std::string_view id, std::string_view path, std::int64_t size, std::string_view mtime) const
{
    auto it = reported_.find(id);
    if (it == reported_.end())
        return false;
    const auto key = dump_key(path, size, mtime);
    return std::find(it->second.begin(), it->second.end(), key) != it->second.end();
}

void store::mark_reported(std::string_view id, std::string_view path, std::int64_t size, std::string_view mtime)
{
    if (reported(id, path, size, mtime))
        return;
    if (reported_.size() >= max_reported_containers && reported_.find(id) == reported_.end())
        reported_.erase(reported_.begin());
    auto& list = reported_[std::string(id)];
    list.push_back(dump_key(path, size, mtime));
    if (list.size() > max_reported_per_container)
        list.erase(list.begin());
    save();
}

void store::spool(std::string_view sink, std::string_view id, std::string_view key, std::string_view body)
{
    const fs::path d = dir_ / "spool" / std::string(sink);
    fs::create_directories(d);
    ++spool_seq_;
    char seq[24];
    std::snprintf(seq, sizeof seq, "%020llu", static_cast<unsigned long long>(spool_seq_));
    json::object o;
    o["id"] = id;
    o["key"] = key;
    o["body"] = body;
    write_file_atomically(d / (std::string(seq) + ".json"), json::serialize(o));
}

std::vector<spooled> store::spooled_for(std::string_view sink)
{
    std::vector<spooled> out;
    const fs::path d = dir_ / "spool" / std::string(sink);
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(d, ec))
        if (e.path().extension() == ".json")
            files.push_back(e.path());
    std::sort(files.begin(), files.end());  // zero-padded sequence numbers: oldest first
    for (const auto& p : files) {
        bool ok = false;
        std::string text = read_small_file(p, ok);
        error_code jec;
        auto v = ok ? json::parse(text, jec) : json::value{};
        if (!ok || jec || !v.is_object() || !v.as_object().contains("body") || !v.as_object().at("body").is_string()) {
            set_aside(p, "not a valid spooled notification");
            continue;
        }
        const auto& o = v.as_object();
        spooled s;
        s.file = p;
        s.body = std::string(o.at("body").as_string());
        if (auto* x = o.if_contains("id"); x && x->is_string())
            s.id = std::string(x->as_string());
        if (auto* x = o.if_contains("key"); x && x->is_string())
            s.key = std::string(x->as_string());
        out.push_back(std::move(s));
    }
    return out;
}

void store::unspool(const spooled& s)
{
    std::error_code ec;
    fs::remove(s.file, ec);
    sync_dir(s.file.parent_path());
}

std::size_t store::spool_size(std::string_view sink)
{
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / "spool" / std::string(sink), ec))
        if (e.path().extension() == ".json")
            ++n;
    return n;
}

}  // namespace core_interceptor::state

namespace core_interceptor::state {

void store::add_pending_push(std::string_view repository, std::string_view tag, std::string_view notification)
{
    json::object o;
    o["repository"] = repository;
    o["tag"] = tag;
    o["notification"] = notification;
    // The tag is the container ID prefix: unique per container, and a later commit of the same
    // container replaces the earlier image (it holds a superset), so one file per tag.
    std::string name(tag);
    if (!safe_component(name))
        return;
    write_file_atomically(dir_ / "pushes" / (name + ".json"), json::serialize(o));
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
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
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
