// SPDX-License-Identifier: MIT
#pragma once

#include "app/dispatcher.hpp"
#include "app/metrics.hpp"
#include "app/process_mode.hpp"
#include "app/recovery.hpp"
#include "app/rm_watch.hpp"
#include "build_config.hpp"
#include "co/error.hpp"
#include "co/limiter.hpp"
#include "co/task_group.hpp"
#include "config/app_config.hpp"
#include "docker/client.hpp"
#include "metrics/server.hpp"
#include "pipeline/job.hpp"
#include "sinks/outbox.hpp"
#include "sinks/rest_sink.hpp"
#include "state/lock.hpp"
#include "state/store.hpp"
#include "systemd/notifier.hpp"
#include "watcher/watcher.hpp"

#if CORE_INTERCEPTOR_HAVE_KAFKA
#include "kafka/producer.hpp"
#include "sinks/kafka_sink.hpp"
#endif

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace core_interceptor::app {

/// Everything one run owns, wired together, torn down in reverse order after the loop has
/// ended: the parts (state directory, Engine client, sinks, job runner), the rooms that drive
/// them (dispatcher, recovery, --process, --rm watch), the two task groups every coroutine runs
/// in (`jobs_`: one per death; `services_`: the long-lived loops), signals and the two-phase
/// shutdown. Loop thread only.
class daemon {
public:
    /// Opens the state directory (locked) and builds every part; throws what a failed start
    /// throws (std::invalid_argument, state::directory_in_use, kafka::property_error, ...).
    daemon(boost::asio::io_context& io, const config::app_config& cfg);
    daemon(const daemon&) = delete;
    daemon& operator=(const daemon&) = delete;

    /// Opens the --metrics-address socket, if one is configured, before anything runs.
    error_code listen_metrics();

    /// Watches the event stream until SIGTERM/SIGINT or a fatal error, then shuts down in two
    /// phases. Completes once everything it started has ended.
    boost::asio::awaitable<void> serve();

    /// --process: handles `names`, then ends the run (SIGTERM/SIGINT interrupts it). Completes
    /// once everything it started has ended.
    boost::asio::awaitable<void> process(std::vector<std::string> names);

    /// Logs the exception a task let escape (`what` failed), sets exit status 1 and asks for
    /// the shutdown.
    void fail(std::exception_ptr e, const char* what);

    /// 0 after a clean run, 1 after a fatal error or a --process container not handled.
    int exit_status() const noexcept { return exit_status_; }

private:
    void start_services();
    /// Completes on SIGTERM/SIGINT, on fail() or when --process ended, then shuts down.
    boost::asio::awaitable<void> wait_for_stop();
    /// Two-phase stop: stop reading events, let jobs finish within the grace period (total
    /// cancellation), then abort what is left (terminal), flush Kafka, join.
    boost::asio::awaitable<void> shutdown();
    /// Total cancellation to the jobs; after --shutdown-grace, terminal; joins them.
    boost::asio::awaitable<void> stop_jobs();
    /// Runs process_mode, then end_processing(); an exception goes to fail().
    boost::asio::awaitable<void> process_then_end(std::vector<std::string> names);
    /// --process ended on its own: stops the signal wait, flushes Kafka.
    void end_processing();
    /// Flushes and closes the Kafka producer, if any: notifications left undelivered.
    std::size_t close_kafka();
    std::unique_ptr<sinks::outbox> make_outbox();
    /// Retries, every few seconds, what the state directory refused (a full disk freed, a
    /// read-only mount made writable): nothing to do, nothing written, while all is well.
    boost::asio::awaitable<void> catch_up_state();
    /// WATCHDOG=1 at half of WatchdogSec=, so a stuck loop gets the service restarted.
    boost::asio::awaitable<void> keep_watchdog_fed(std::chrono::microseconds interval);

    /// Jobs in flight: containers with a job running now (status line, metrics, STOPPING).
    std::size_t in_flight() const noexcept;
    std::string status_line() const;
    void publish_status() const;
    std::vector<metrics::family> collect_metrics() const;

    boost::asio::io_context& io_;
    const config::app_config& cfg_;
    std::optional<state::directory_lock> lock_;  // before the store: nothing is written unlocked
    state::store store_;
    docker::client docker_;
    watcher::job_channel queue_;
    co::limiter limiter_;  // captures (--max-concurrency), and --process jobs
    co::task_group jobs_;
    co::task_group services_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer stop_;  // cancelled to ask wait_for_stop() to end
    watcher::watcher watcher_;
#if CORE_INTERCEPTOR_HAVE_KAFKA
    std::unique_ptr<kafka::producer> producer_;
    std::unique_ptr<sinks::kafka_sink> kafka_sink_;
#endif
    std::unique_ptr<sinks::rest_sink> rest_sink_;
    std::unique_ptr<sinks::outbox> outbox_;
    pipeline::job_runner runner_;
    systemd::notifier notifier_;
    daemon_counters counters_;
    std::unique_ptr<metrics::server> metrics_;
    bool stopping_ = false;
    bool stop_requested_ = false;
    int exit_status_ = 0;
    rm_watch removals_;
    dispatcher dispatcher_;
    recovery recovery_;
    process_mode process_;
};

}  // namespace core_interceptor::app
