// SPDX-License-Identifier: MIT
#include "app/metrics.hpp"

#include "sinks/outbox.hpp"
#include "state/store.hpp"
#include "watcher/watcher.hpp"

namespace core_interceptor::app {
namespace {

using metrics::family;
using metrics::kind;

family scalar(std::string name, std::string help, kind k, double v)
{
    return family{std::move(name), std::move(help), k, {{{}, v}}, {}};
}

double d(std::uint64_t v)
{
    return static_cast<double>(v);
}

}  // namespace

std::vector<double> notification_latency_buckets()
{
    return {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
}

std::vector<double> phase_buckets()
{
    return {0.005, 0.0075, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.15, 0.25, 0.4, 0.6, 1,
            1.5,   2.5,    4,    6,     10,    15,   25,   40,  60,   120,  300, 600};
}

phase_histograms::phase_histograms()
{
    by_phase.reserve(domain::all_phases.size());
    for (std::size_t i = 0; i < domain::all_phases.size(); ++i)
        by_phase.emplace_back(phase_buckets());
}

void phase_histograms::observe(domain::phase p, std::chrono::steady_clock::duration d) noexcept
{
    by_phase[static_cast<std::size_t>(p)].observe(std::chrono::duration<double>(d).count());
}

namespace {

/// The state directory: write errors, dead letters, spool sizes against their threshold.
void add_state_metrics(const state::store& st, std::vector<metrics::family>& out)
{
    out.push_back(
        scalar("core_interceptor_state_write_errors_total",
               "Writes to --state-dir that failed (full disk, quota, read-only, I/O error).",
               kind::counter,
               d(st.write_errors())));
    out.push_back(scalar("core_interceptor_state_writable",
                         "1 while everything of the state directory is written, 0 while a write "
                         "failure holds state in memory.",
                         kind::gauge,
                         st.problem() ? 0 : 1));
    out.push_back(scalar("core_interceptor_notifications_dead_lettered_total",
                         "Notifications a sink refused for good, kept in STATE_DIR/dead-letter/.",
                         kind::counter,
                         d(st.dead_letters())));
    // The spool sizes themselves are core_interceptor_spool_notifications, one sample per
    // configured sink (collect()): a family is written once.
    bool over = false;
    for (const auto& [sink, n] : st.spool_sizes())
        over = over || n > st.spool_warning();
    out.push_back(scalar("core_interceptor_spool_over_threshold",
                         "1 while a sink's spool holds more notifications than the warning "
                         "threshold (nothing is dropped).",
                         kind::gauge,
                         over ? 1 : 0));
}

/// Per sink: notifications delivered, failed, spooled, rejected, and the spool's size.
void add_sink_metrics(const sinks::outbox& outbox, std::vector<metrics::family>& out)
{
    family delivered{"core_interceptor_notifications_delivered_total",
                     "Notifications confirmed by a sink (Kafka delivery report, REST 2xx), "
                     "redeliveries included.",
                     kind::counter,
                     {},
                     {}};
    family failed{"core_interceptor_notifications_failed_total",
                  "Notification delivery attempts that failed (each is retried or spooled).",
                  kind::counter,
                  {},
                  {}};
    family spooled{"core_interceptor_notifications_spooled_total",
                   "Notifications put in the spool of the state directory for later redelivery.",
                   kind::counter,
                   {},
                   {}};
    family rejected{
        "core_interceptor_notifications_rejected_total",
        "Notifications refused for good by a sink (HTTP 4xx but 408 and 429, a Kafka error no "
        "retry cures), not retried: kept in STATE_DIR/dead-letter/.",
        kind::counter,
        {},
        {}};
    const auto& per_sink = outbox.stats();
    for (std::size_t i = 0; i < per_sink.size(); ++i) {
        const metrics::labels l{{"sink", std::string(outbox.sink_name(i))}};
        delivered.samples.push_back({l, d(per_sink[i].delivered)});
        failed.samples.push_back({l, d(per_sink[i].failed)});
        spooled.samples.push_back({l, d(per_sink[i].spooled)});
        rejected.samples.push_back({l, d(per_sink[i].rejected)});
    }
    out.push_back(std::move(delivered));
    out.push_back(std::move(failed));
    out.push_back(std::move(spooled));
    out.push_back(std::move(rejected));

    family spool{"core_interceptor_spool_notifications",
                 "Notifications waiting in the spool of the state directory for redelivery.",
                 kind::gauge,
                 {},
                 {}};
    for (std::size_t i = 0; i < per_sink.size(); ++i)
        spool.samples.push_back(
            {{{"sink", std::string(outbox.sink_name(i))}}, d(outbox.spool_size(i))});
    out.push_back(std::move(spool));
}

/// What the daemon asks of the Engine: the event stream's state, requests, connections, bytes.
void add_engine_metrics(const metric_sources& s, std::vector<family>& out)
{
    out.push_back(scalar("core_interceptor_docker_event_stream_connected",
                         "1 while the Docker event stream is open, else 0.",
                         kind::gauge,
                         s.watcher.connected() ? 1 : 0));
    out.push_back(
        scalar("core_interceptor_docker_read_bytes_total",
               "Bytes read from the Docker daemon's socket (events, API answers, archive probes).",
               kind::counter,
               d(s.docker_bytes_read)));
    out.push_back(scalar("core_interceptor_engine_requests_total",
                         "HTTP requests sent to the Docker daemon (the event stream included).",
                         kind::counter,
                         d(s.engine_requests)));
    out.push_back(scalar("core_interceptor_engine_connections_total",
                         "Connections opened to the Docker daemon.",
                         kind::counter,
                         d(s.engine_connections)));
}

}  // namespace

std::vector<metrics::family> collect(const metric_sources& s)
{
    std::vector<family> out;
    out.push_back(
        scalar("core_interceptor_events_received_total",
               "Container die events received from the Docker event stream (after de-duplication).",
               kind::counter,
               d(s.watcher.events())));
    out.push_back(scalar(
        "core_interceptor_events_filtered_total",
        "Die events not handled because of --include-label, --exclude-label or --include-image.",
        kind::counter,
        d(s.watcher.filtered())));

    family dies{"core_interceptor_dies_handled_total",
                "Container deaths handled, by outcome.",
                kind::counter,
                {},
                {}};
    for (auto o : pipeline::all_outcomes)
        dies.samples.push_back({{{"outcome", std::string(pipeline::to_string(o))}},
                                d(s.daemon.dies_by_outcome[static_cast<std::size_t>(o)])});
    out.push_back(std::move(dies));

    out.push_back(family{"core_interceptor_dumps_found_total",
                         "Dumps found in dead containers, by type.",
                         kind::counter,
                         {{{{"type", "core"}}, d(s.pipeline.cores_found)},
                          {{{"type", "hprof"}}, d(s.pipeline.heap_dumps_found)}},
                         {}});
    family crashes{"core_interceptor_crashes_total",
                   "Deaths that left a core whose notes name the signal, by signal.",
                   kind::counter,
                   {},
                   {}};
    for (const auto& [signal, n] : s.pipeline.crashes_by_signal)
        crashes.samples.push_back({{{"signal", signal}}, d(n)});
    out.push_back(std::move(crashes));
    out.push_back(scalar("core_interceptor_images_pushed_total",
                         "Committed images pushed to the registry.",
                         kind::counter,
                         d(s.pipeline.pushed)));
    out.push_back(
        scalar("core_interceptor_images_push_failed_total",
               "Pushes given up after --push-retry-window (the image is kept locally and retried).",
               kind::counter,
               d(s.pipeline.push_failed)));

    add_sink_metrics(s.outbox, out);

    out.push_back(scalar("core_interceptor_jobs_in_flight",
                         "Containers being handled now.",
                         kind::gauge,
                         d(s.jobs_in_flight)));
    out.push_back(family{"core_interceptor_die_to_notification_seconds",
                         "From the die event to the notification confirmed by at least one sink.",
                         kind::histogram,
                         {},
                         {{{}, &s.daemon.die_to_notification}}});
    family phases{"core_interceptor_phase_seconds",
                  "Time spent in each phase of a death's handling: probe_wait (die event queued "
                  "-> probe slot), probe, capture_wait (dump found -> capture slot), commit, "
                  "push, delete, deliver_kafka and deliver_rest (handed to the sink -> confirmed).",
                  kind::histogram,
                  {},
                  {}};
    for (auto p : domain::all_phases)
        phases.histograms.push_back(
            {{{"phase", std::string(domain::to_string(p))}}, &s.daemon.phases[p]});
    out.push_back(std::move(phases));
    add_engine_metrics(s, out);
    if (s.store)
        add_state_metrics(*s.store, out);
    return out;
}

std::optional<std::string> health(const watcher::watcher& w, const state::store* store)
{
    if (store)
        if (auto why = store->problem())
            return why;
    if (w.connected())
        return std::nullopt;
    if (w.last_error().empty())
        return std::string("docker event stream not connected yet");
    return "docker event stream not connected: " + w.last_error();
}

}  // namespace core_interceptor::app
