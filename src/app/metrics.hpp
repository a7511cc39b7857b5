// SPDX-License-Identifier: MIT
#pragma once

#include "domain/phase.hpp"
#include "metrics/registry.hpp"
#include "pipeline/job.hpp"
#include "pipeline/outcome.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace core_interceptor::sinks {
class outbox;
}
namespace core_interceptor::watcher {
class watcher;
}
namespace core_interceptor::state {
class store;
}

namespace core_interceptor::app {

/// Buckets of die-to-notification seconds: a commit takes about a second, a push seconds to
/// minutes, and a failing push is retried for --push-retry-window (180 s by default).
std::vector<double> notification_latency_buckets();

/// Buckets of a phase's seconds (core_interceptor_phase_seconds): about 1.6 apart from 5 ms to
/// 10 s, so that a p50 or p95 read from them is close, then coarser up to 10 minutes (a push
/// retried for --push-retry-window).
std::vector<double> phase_buckets();

/// One histogram per phase of a death's handling, indexed by domain::phase.
struct phase_histograms {
    phase_histograms();
    void observe(domain::phase p, std::chrono::steady_clock::duration d) noexcept;
    const metrics::histogram& operator[](domain::phase p) const noexcept
    {
        return by_phase[static_cast<std::size_t>(p)];
    }
    std::vector<metrics::histogram> by_phase;
};

/// What the daemon counts itself, beside the counters its parts keep.
struct daemon_counters {
    std::array<std::uint64_t, pipeline::all_outcomes.size()>
        dies_by_outcome{};  ///< indexed by pipeline::outcome
    metrics::histogram die_to_notification{notification_latency_buckets()};
    phase_histograms phases;
};

/// Everything a scrape reads, at scrape time.
struct metric_sources {
    const watcher::watcher& watcher;
    const pipeline::stats& pipeline;
    const sinks::outbox& outbox;
    std::uint64_t docker_bytes_read = 0;
    std::size_t jobs_in_flight = 0;  ///< containers with a job running (dispatcher::in_flight)
    const daemon_counters& daemon;
    const state::store* store = nullptr;   ///< the state directory's health and spool, if any
    std::uint64_t engine_requests = 0;     ///< HTTP requests sent to the Engine, events included
    std::uint64_t engine_connections = 0;  ///< connections opened to the Engine
};

/// The metric families of the daemon (names follow the Prometheus conventions:
/// core_interceptor_ prefix, _total counters, seconds and bytes).
std::vector<metrics::family> collect(const metric_sources& s);

/// Nothing while the event stream is open and the state directory writable, else why not
/// (for /healthz).
std::optional<std::string> health(const watcher::watcher& w, const state::store* store = nullptr);

}  // namespace core_interceptor::app
