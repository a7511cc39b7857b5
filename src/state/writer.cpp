// SPDX-License-Identifier: MIT
#include "state/writer.hpp"

#include "state/files.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>

#include <algorithm>
#include <future>

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace core_interceptor::state {

writer::writer(health& h) : health_(h), thread_([this] { loop(); }) {}

writer::~writer()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void writer::push(op o)
{
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(o));
    }
    wake_.notify_all();
}

void writer::write(fs::path path, std::string content, bool durable)
{
    {
        std::lock_guard lock(mutex_);
        if (!queue_.empty()) {
            auto& last = queue_.back();
            if (!last.remove && !last.work && !last.done && last.path == path &&
                last.durable == durable) {
                last.content = std::move(content);
                return;
            }
        }
    }
    push({std::move(path), std::move(content), durable, false, {}, {}});
}

void writer::remove(fs::path path)
{
    {
        std::lock_guard lock(mutex_);
        auto it = std::find_if(queue_.begin(), queue_.end(), [&](const op& o) {
            return !o.remove && !o.work && o.path == path;
        });
        if (it != queue_.end()) {
            queue_.erase(it);
            return;
        }
        // A write that failed earlier is not on disk either: forget it.
        if (std::erase_if(failed_, [&](const op& o) { return o.path == path; }) > 0)
            return;
    }
    push({std::move(path), {}, false, true, {}, {}});
}

void writer::run(task t, done_fn done, fs::path path)
{
    push({std::move(path), {}, true, false, std::move(t), std::move(done)});
}

error_code writer::call(task t, fs::path path)
{
    std::promise<error_code> p;
    auto f = p.get_future();
    run(
        std::move(t), [&p](const error_code& ec) { p.set_value(ec); }, std::move(path));
    return f.get();
}

asio::awaitable<error_code> writer::async_call(task t, fs::path path)
{
    auto ex = co_await asio::this_coro::executor;
    auto initiate = [this, ex, &t, &path](auto handler) {
        // The handler resumes the coroutine: on its own executor, never on the writer thread.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        run(
            std::move(t),
            [h, ex](const error_code& ec) mutable {
                // The handler is let go here: destroyed on its own executor, once run there.
                auto own = std::move(h);
                auto hex = asio::get_associated_executor(*own, ex);
                asio::post(hex, [own = std::move(own), ec] { (*own)(ec); });
            },
            std::move(path));
    };
    // as_tuple: the error is the task's value, never thrown.
    constexpr auto token = asio::as_tuple(asio::use_awaitable);
    auto [ec] = co_await asio::async_initiate<decltype(token), void(error_code)>(initiate, token);
    co_return ec;
}

bool writer::retry_failed()
{
    {
        std::lock_guard lock(mutex_);
        if (failed_.empty())
            return false;
        for (auto it = failed_.rbegin(); it != failed_.rend(); ++it)
            if (std::none_of(
                    queue_.begin(), queue_.end(), [&](const op& o) { return o.path == it->path; }))
                queue_.push_front(std::move(*it));
        failed_.clear();
    }
    wake_.notify_all();
    return true;
}

bool writer::has_failed() const
{
    std::lock_guard lock(mutex_);
    return !failed_.empty();
}

void writer::flush()
{
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

error_code writer::execute(op& o)
{
    error_code ec;
    std::string what;
    if (o.work) {
        ec = o.work(what);
    } else if (o.remove) {
        std::error_code ignored;  // already gone is fine; a removal never fills a disk
        fs::remove(o.path, ignored);
    } else {
        ec = try_write_file(o.path, o.content, what, o.durable);
    }
    health_.note(ec, what);
    return ec;
}

void writer::loop()
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
        const error_code ec = execute(o);
        if (o.done)
            o.done(ec);
        o.done = nullptr;
        lock.lock();
        // A newer write of a file supersedes an older one that failed (the event time is
        // written per event): only the newest is ever retried; past the cap, the watcher's
        // catch-up after a restart covers what is not retried. A task is never retried.
        if (!o.path.empty())
            std::erase_if(failed_, [&](const op& f) { return f.path == o.path; });
        if (ec && !o.work && failed_.size() < max_failed) {
            o.done = nullptr;
            failed_.push_back(std::move(o));
        }
        busy_ = false;
        if (queue_.empty())
            idle_.notify_all();
    }
}

}  // namespace core_interceptor::state
