// SPDX-License-Identifier: MIT
#include "app/daemon.hpp"

#include "app/clock.hpp"
#include "log/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>

namespace asio = boost::asio;

namespace core_interceptor::app {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// One state directory, one process; a dry run writes nothing and may run beside the daemon.
std::optional<state::directory_lock> lock_state_dir(const config::app_config& cfg)
{
    if (cfg.pipeline.dry_run)
        return std::nullopt;
    return std::optional<state::directory_lock>(std::in_place, cfg.state_dir);
}

}  // namespace

daemon::daemon(asio::io_context& io, const config::app_config& cfg)
    : io_(io), cfg_(cfg), lock_(lock_state_dir(cfg)), store_(cfg.state_dir), docker_(cfg.docker),
      queue_(io, cfg.queue_capacity), limiter_(io.get_executor(), cfg.max_concurrency),
      jobs_(io.get_executor(), [this](std::exception_ptr e) { fail(e, "a job"); }),
      services_(io.get_executor(), [this](std::exception_ptr e) { fail(e, "a service"); }),
      signals_(io, SIGINT, SIGTERM), stop_(io, asio::steady_timer::time_point::max()),
      watcher_(docker_, cfg.watcher, queue_, cfg.pipeline.dry_run ? nullptr : &store_),
      outbox_(make_outbox()), runner_(docker_, *outbox_, &store_, cfg.pipeline),
      dispatcher_(queue_, limiter_, jobs_, runner_, store_, cfg, removals_, counters_, stopping_),
      recovery_(docker_, store_, queue_, services_, cfg, stopping_),
      process_(docker_, runner_, limiter_, jobs_, cfg, stopping_)
{
    // Die event (the Engine's clock) to the first confirmed delivery (ours): clamped at 0.
    runner_.on_notified([this](const domain::die_event& ev, std::size_t delivered) {
        if (delivered > 0)
            counters_.die_to_notification.observe(
                std::max<double>(0, static_cast<double>(now_nano() - ev.time_nano) / 1e9));
    });
    runner_.on_timed([this](domain::phase p, std::chrono::steady_clock::duration d) {
        counters_.phases.observe(p, d);
    });
    outbox_->on_delivered([this](std::string_view sink, std::chrono::steady_clock::duration d) {
        if (sink == "kafka")
            counters_.phases.observe(domain::phase::deliver_kafka, d);
        else if (sink == "rest")
            counters_.phases.observe(domain::phase::deliver_rest, d);
    });
    dispatcher_.on_change([this] { publish_status(); });
    if (cfg.metrics)
        metrics_ = std::make_unique<metrics::server>(
            io.get_executor(),
            *cfg.metrics,
            [this] { return metrics::render(collect_metrics()); },
            [this] { return health(watcher_, &store_); });
}

std::unique_ptr<sinks::outbox> daemon::make_outbox()
{
    std::vector<sinks::sink*> sinks;
#if CORE_INTERCEPTOR_HAVE_KAFKA
    if (cfg_.kafka) {
        std::vector<std::pair<std::string, std::string>> props{
            {"bootstrap.servers", cfg_.kafka->brokers},
            {"message.timeout.ms", std::to_string(cfg_.kafka->delivery_timeout.count())},
            {"enable.idempotence", "true"},
            {"client.id", "core_interceptor"},
        };
        props.insert(props.end(), cfg_.kafka->properties.begin(), cfg_.kafka->properties.end());
        producer_ = std::make_unique<kafka::producer>(io_.get_executor(), props);
        kafka_sink_ = std::make_unique<sinks::kafka_sink>(*producer_, cfg_.kafka->topic);
        sinks.push_back(kafka_sink_.get());
    }
#endif
    if (cfg_.rest) {
        rest_sink_ = std::make_unique<sinks::rest_sink>(*cfg_.rest);
        sinks.push_back(rest_sink_.get());
    }
    return std::make_unique<sinks::outbox>(
        io_.get_executor(), std::move(sinks), &store_, cfg_.delivery);
}

error_code daemon::listen_metrics()
{
    return metrics_ ? metrics_->listen() : error_code{};
}

asio::awaitable<void> daemon::serve()
{
    start_services();
    // Ready once configured and running, not gated on Docker: STATUS= says what it waits for.
    notifier_.ready(status_line());
    co_await wait_for_stop();
}

void daemon::start_services()
{
    watcher_.on_connection_change([this](bool up) {
        publish_status();
        recovery_.on_connection_change(up);
    });
    watcher_.on_destroy([this](const domain::die_event& ev) { removals_.on_destroy(ev); });
    services_.spawn(recovery_.resume());
    services_.spawn(watcher_.run());
    services_.spawn(dispatcher_.run());
    if (!cfg_.pipeline.dry_run)  // a dry run sends nothing, spooled notifications included
        services_.spawn(outbox_->run_redelivery());
    services_.spawn(runner_.retry_failed_pushes(cfg_.delivery.backoff_max));
    services_.spawn(catch_up_state());
    if (metrics_)
        services_.spawn(metrics_->run());
    if (auto interval = systemd::notifier::watchdog_interval())
        services_.spawn(keep_watchdog_fed(*interval));
}

asio::awaitable<void> daemon::process(std::vector<std::string> names)
{
    using namespace asio::experimental::awaitable_operators;
    co_await (process_then_end(std::move(names)) && wait_for_stop());
}

asio::awaitable<void> daemon::process_then_end(std::vector<std::string> names)
{
    // The jobs' exceptions go to fail(); one of process_mode itself is the same kind of bug.
    try {
        // Awaited in a statement of its own: g++ 12 frees the argument twice when the
        // co_await is the condition of an if.
        const bool all_handled = co_await process_.run(std::move(names));
        if (!all_handled)
            exit_status_ = 1;
        end_processing();
    } catch (...) {
        fail(std::current_exception(), "--process");
    }
}

void daemon::end_processing()
{
    if (stopping_)
        return;  // SIGTERM/SIGINT: shutdown() flushes Kafka and ends the run
    stopping_ = true;
    error_code ignored;  // a signal_set with no pending wait has nothing to cancel
    signals_.cancel(ignored);
    stop_.cancel();
    if (auto left = close_kafka()) {
        log::error() << left << " Kafka notification(s) still undelivered at exit";
        exit_status_ = 1;
    }
}

asio::awaitable<void> daemon::wait_for_stop()
{
    using namespace asio::experimental::awaitable_operators;
    if (!stop_requested_ && !stopping_) {
        auto r = co_await (signals_.async_wait(use_tuple) || stop_.async_wait(use_tuple));
        if (auto* sig = std::get_if<0>(&r); sig && !std::get<0>(*sig))
            log::info() << "received " << (std::get<1>(*sig) == SIGTERM ? "SIGTERM" : "SIGINT")
                        << ", shutting down";
    }
    co_await shutdown();  // nothing left to do once --process ended on its own
}

asio::awaitable<void> daemon::shutdown()
{
    if (stopping_)
        co_return;
    stopping_ = true;
    notifier_.stopping("stopping: " + std::to_string(in_flight()) + " job(s) in flight");
    error_code ignored;  // a signal_set with no pending wait has nothing to cancel
    signals_.cancel(ignored);

    services_.emit(asio::cancellation_type::total);
    queue_.close();
    co_await stop_jobs();
    services_.emit(asio::cancellation_type::terminal);
    co_await services_.join();

    if (auto left = close_kafka())
        log::error() << left << " Kafka notification(s) still undelivered at shutdown";
    const auto& s = runner_.counters();
    log::info() << "stopped: " << watcher_.events() << " deaths seen, " << s.dumps_found
                << " dumps found, " << s.pushed << " images pushed, " << s.failed << " failed";
}

asio::awaitable<void> daemon::stop_jobs()
{
    jobs_.emit(asio::cancellation_type::total);
    if (jobs_.size() == 0)
        co_return;
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer grace(io_, cfg_.shutdown_grace);
    co_await (jobs_.join() || grace.async_wait(use_tuple));
    if (jobs_.size() == 0)
        co_return;
    log::warning() << "cancelling " << jobs_.size() << " job(s) still running after the "
                   << cfg_.shutdown_grace.count() << " ms grace period";
    jobs_.emit(asio::cancellation_type::terminal);
    co_await jobs_.join();
}

std::size_t daemon::close_kafka()
{
    std::size_t left = 0;
#if CORE_INTERCEPTOR_HAVE_KAFKA
    if (producer_) {
        left = producer_->flush(cfg_.kafka->flush_timeout);
        producer_->close();
    }
#endif
    return left;
}

void daemon::fail(std::exception_ptr e, const char* what)
{
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        log::error() << "fatal: " << what << " failed: " << ex.what();
    } catch (...) {
        log::error() << "fatal: " << what << " failed with an unknown exception";
    }
    exit_status_ = 1;
    stop_requested_ = true;
    stop_.cancel();  // wakes wait_for_stop(), which shuts down
}

asio::awaitable<void> daemon::catch_up_state()
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    asio::steady_timer timer(io_);
    for (;;) {
        // Short enough that /healthz turns 200 soon after space is freed; each round is a
        // no-op while the directory is healthy.
        timer.expires_after(std::chrono::seconds(2));
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec)
            co_return;  // shutdown
        co_await store_.async_catch_up();
    }
}

asio::awaitable<void> daemon::keep_watchdog_fed(std::chrono::microseconds interval)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    asio::steady_timer timer(io_);
    for (;;) {
        notifier_.watchdog();
        timer.expires_after(interval);
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec)
            co_return;  // shutdown
    }
}

std::size_t daemon::in_flight() const noexcept
{
    return dispatcher_.in_flight() + process_.in_flight();
}

std::string daemon::status_line() const
{
    if (stopping_)
        return "stopping";
    const auto& s = runner_.counters();
    std::string line = watcher_.connected()
                           ? "watching events on " + docker_.endpoint().describe()
                           : "waiting for the Docker daemon at " + docker_.endpoint().describe();
    line += "; in flight " + std::to_string(in_flight()) + ", handled " +
            std::to_string(s.handled) + ", pushed " + std::to_string(s.pushed) + ", failed " +
            std::to_string(s.failed);
    return line;
}

void daemon::publish_status() const
{
    notifier_.status(status_line());
}

std::vector<metrics::family> daemon::collect_metrics() const
{
    return collect({watcher_,
                    runner_.counters(),
                    *outbox_,
                    docker_.bytes_read(),
                    in_flight(),
                    counters_,
                    &store_,
                    docker_.calls(),
                    docker_.connections()});
}

}  // namespace core_interceptor::app
