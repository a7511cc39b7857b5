// SPDX-License-Identifier: MIT
#include "state/store.hpp"

#include <boost/asio/this_coro.hpp>

namespace fs = std::filesystem;

namespace core_interceptor::state {
namespace {

// Creates the directory layout and probes that it can be written. A full or read-only
// directory does not stop a start (issue 10): it is reported by /healthz and written once it
// can be.
bool make_layout(const fs::path& dir, health& h)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        h.note(error_code(ec.value(), boost::system::generic_category()),
               "cannot create " + dir.string());
    for (const char* sub : {"jobs", "spool", "pushes", "dead-letter", "dump-spool"}) {
        fs::create_directories(dir / sub, ec);
        if (ec)
            h.note(error_code(ec.value(), boost::system::generic_category()),
                   std::string("cannot create ") + (dir / sub).string());
    }
    std::string what;
    auto wec = try_write_file(dir / ".writable", "", what);
    std::error_code ignored;  // nothing there when the write failed
    fs::remove(dir / ".writable", ignored);
    h.note(wec, what);
    return true;
}

}  // namespace

store::store(fs::path dir)
    : dir_(std::move(dir)), health_(dir_), layout_(make_layout(dir_, health_)), writer_(health_),
      journal_(dir_, writer_), reported_(dir_, writer_), spool_(dir_, writer_),
      pushes_(dir_, writer_)
{
    journal_.raise_last_event_nano(reported_.loaded_event_nano());
}

store::~store()
{
    if (reported_.dirty())
        reported_.save();
}

bool store::reported(std::string_view container_id,
                     std::string_view path,
                     std::int64_t size,
                     std::string_view mtime) const
{
    return reported_.contains(container_id, path, size, mtime);
}

void store::mark_reported(std::string_view container_id,
                          std::string_view path,
                          std::int64_t size,
                          std::string_view mtime)
{
    reported_.mark(container_id, path, size, mtime, journal_.last_event_nano());
}

error_code store::save_reported()
{
    return reported_.save();
}

void store::queue_save_reported()
{
    if (reported_.dirty())
        reported_.queue_save();
}

error_code store::spool(std::string_view sink,
                        std::string_view id,
                        std::string_view key,
                        std::string_view body)
{
    return spool_.spool(sink, id, key, body);
}

boost::asio::awaitable<error_code> store::async_spool(const std::string& sink,
                                                      const std::string& id,
                                                      const std::string& key,
                                                      const std::string& body)
{
    co_return co_await spool_.async_spool(sink, id, key, body);
}

bool store::spool_busy(std::string_view sink) const
{
    return spool_.size(sink) > 0 || spool_.writing(sink);
}

std::vector<spooled> store::spooled_for(std::string_view sink, std::size_t limit)
{
    return spool_.spooled_for(sink, limit);
}

boost::asio::awaitable<void> store::async_unspool(const spooled& s)
{
    co_await spool_.async_unspool(s);
}

error_code store::dead_letter(std::string_view sink, const spooled& s, std::string_view reason)
{
    return spool_.dead_letter(sink, s, reason);
}

boost::asio::awaitable<error_code>
store::async_dead_letter(const std::string& sink, const spooled& s, const std::string& reason)
{
    co_return co_await spool_.async_dead_letter(sink, s, reason);
}

error_code store::add_pending_push(std::string_view repository,
                                   std::string_view tag,
                                   std::string_view notification)
{
    return pushes_.add(repository, tag, notification);
}

boost::asio::awaitable<error_code> store::async_add_pending_push(const std::string& repository,
                                                                 const std::string& tag,
                                                                 const std::string& notification)
{
    co_return co_await pushes_.async_add(repository, tag, notification);
}

boost::asio::awaitable<error_code> store::async_remove_pending_push(const pending_push& p)
{
    co_return co_await pushes_.async_remove(p);
}

bool store::backlog() const
{
    return reported_.dirty() || writer_.has_failed() || spool_.holding();
}

void store::catch_up()
{
    if (!problem())
        return;
    if (reported_.dirty())
        reported_.save();
    spool_.catch_up();
    if (writer_.retry_failed())
        writer_.flush();
    if (!backlog())
        health_.clear();
}

boost::asio::awaitable<void> store::async_catch_up()
{
    if (!problem())
        co_return;
    // The same steps as catch_up(), each awaited on the writer thread rather than waited for.
    if (reported_.dirty())
        reported_.queue_save();
    co_await spool_.async_catch_up();
    writer_.retry_failed();
    // A barrier: everything queued before it is done once it is.
    writer::task barrier = [](std::string&) { return error_code{}; };
    co_await writer_.async_call(std::move(barrier));
    if (!backlog())
        health_.clear();
}

}  // namespace core_interceptor::state
