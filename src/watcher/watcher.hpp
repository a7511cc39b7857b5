// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "domain/event.hpp"
#include "watcher/config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace core_interceptor::docker {
class client;
}
namespace core_interceptor::http {
class stream_reader;
}
namespace core_interceptor::state {
class store;
}

namespace core_interceptor::watcher {

/// Die events handed from the reader to the dispatcher.
using job_channel =
    boost::asio::experimental::channel<void(boost::system::error_code, domain::die_event)>;

/// Reads `GET /events` (container die only), parsing lines as the bytes arrive, and sends each
/// new die to `out`. When the Docker daemon goes away it reconnects with jittered backoff and
/// resumes with since= the last event seen, dropping replayed duplicates (container ID +
/// timeNano), so no death in between is missed (SPEC §4a). Loop thread only.
class watcher {
public:
    /// `docker`, `out` and `store` must outlive the watcher. With a store, each new death is
    /// recorded as unfinished work before it is queued, and the stream resumes from the last
    /// event time recorded by an earlier run.
    watcher(docker::client& docker, config cfg, job_channel& out, state::store* store = nullptr);

    /// Runs until cancelled (total or terminal), which ends the stream read at once.
    /// Completes normally; never throws for I/O errors (each is logged and retried).
    boost::asio::awaitable<void> run();

    /// Called (on the loop) whenever the stream opens (true) or ends (false).
    void on_connection_change(std::function<void(bool)> f) { on_change_ = std::move(f); }

    /// Called (on the loop) for each container destroy event.
    void on_destroy(std::function<void(const domain::die_event&)> f) { on_destroy_ = std::move(f); }

    /// The event stream is open now.
    bool connected() const noexcept { return connected_; }
    /// Events received (die events after de-duplication).
    std::uint64_t events() const noexcept { return events_; }
    /// Deaths dropped by the filters.
    std::uint64_t filtered() const noexcept { return filtered_; }
    /// Lines of the stream that were not valid events.
    std::uint64_t malformed() const noexcept { return malformed_; }
    /// Why the stream last ended or could not be opened ("" before the first attempt).
    const std::string& last_error() const noexcept { return last_error_; }

private:
    /// One connection: negotiate, open, read until it ends. True when the stream had opened.
    boost::asio::awaitable<bool> read_stream();
    /// Reads events until the stream ends or the job queue is closed.
    boost::asio::awaitable<void> read_events(http::stream_reader& stream, const std::string& where);
    /// Handles one line of the stream; false when reading must stop (the queue is closed).
    boost::asio::awaitable<bool> on_line(std::string_view line);
    /// Counts a death and says whether it is to be handled (new and not filtered out).
    bool accept(const domain::die_event& ev);
    /// Records why the stream is lost, and logs it unless the watcher is stopping.
    void lost(const std::string& what, const failure& f);
    bool remember(const domain::die_event& ev);

    docker::client& docker_;
    config cfg_;
    job_channel& out_;
    state::store* store_;
    void set_connected(bool c);

    bool connected_ = false;
    std::function<void(bool)> on_change_;
    std::function<void(const domain::die_event&)> on_destroy_;
    std::int64_t last_time_nano_ = 0;  // newest timeNano seen
    std::int64_t opened_at_nano_ = 0;  // when the stream was first opened (resume point)
    std::unordered_set<std::string> seen_;
    std::deque<std::string> seen_order_;
    std::uint64_t events_ = 0;
    std::uint64_t malformed_ = 0;
    std::uint64_t filtered_ = 0;
    std::string last_error_;
};

}  // namespace core_interceptor::watcher
