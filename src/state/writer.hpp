// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "state/health.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace core_interceptor::state {

/// The state directory's only writer: a thread of its own that runs the writes, removals and
/// file tasks in the order asked, so that their fsyncs never hold up the event loop. Failures
/// are reported to `health`; a failed write of a whole file is kept and retried by
/// retry_failed(). Any thread may queue; wait() and flush() block and are not for the loop.
class writer {
public:
    /// A file task run on the writer thread: its error, with `what` set to the step that failed.
    using task = std::function<error_code(std::string& what)>;
    /// Called on the writer thread once an operation is done.
    using done_fn = std::function<void(const error_code&)>;

    explicit writer(health& h);
    /// Runs what is still queued, then stops the thread.
    ~writer();
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    /// Queues a crash-safe write; one that replaces the queue's last write of the same path
    /// (an event time superseded before it was written) takes its place.
    void write(std::filesystem::path path, std::string content, bool durable);
    /// Queues a removal; a write of the same path still queued is dropped instead (job files
    /// are unique to their death, so none is on disk yet).
    void remove(std::filesystem::path path);
    /// Queues `t`; `done` is called with its error on the writer thread. A task with a `path`
    /// supersedes a failed write of that path (it is not retried over the task's work).
    void run(task t, done_fn done, std::filesystem::path path = {});
    /// Runs `t` on the writer thread and waits for it. Blocking: not on the loop.
    error_code call(task t, std::filesystem::path path = {});
    /// Runs `t` on the writer thread; the coroutine resumes on its own executor once it is
    /// done, while the loop keeps serving.
    boost::asio::awaitable<error_code> async_call(task t, std::filesystem::path path = {});

    /// Queues again the writes that failed (oldest first), unless replaced meanwhile.
    /// Whether there were any.
    bool retry_failed();
    bool has_failed() const;
    /// Waits until everything queued is done. Blocking: not on the loop.
    void flush();

private:
    struct op {
        std::filesystem::path path;
        std::string content;
        bool durable = true;
        bool remove = false;
        task work;  // set: a task, not a write
        done_fn done;
    };

    void push(op o);
    void loop();
    error_code execute(op& o);

    // Failed writes kept for a retry: a death's record, the event time, state.json. Beyond
    // this many the watcher's catch-up after a restart finds the deaths anyway.
    static constexpr std::size_t max_failed = 4096;

    health& health_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<op> queue_;
    std::deque<op> failed_;
    bool busy_ = false;
    bool stopping_ = false;
    std::thread thread_;  // last: starts once the rest exists
};

}  // namespace core_interceptor::state
