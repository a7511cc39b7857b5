// SPDX-License-Identifier: MIT
#pragma once

#include "domain/event.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>

namespace core_interceptor::domain {

/// What a death's exit code says about the chance of a dump, in the order deaths are probed.
enum class death_class {
    core_signal,  ///< 128 + a signal whose default action dumps core (SIGSEGV: 139)
    failure,      ///< another non-zero exit code, or none known
    clean,        ///< exit code 0 (a dump is still looked for: a child may have crashed)
};

/// The probe lanes, each with its own bound: deaths whose exit code says something went wrong
/// (a core-dumping signal, or another failure), and clean exits. A crash's probe never waits
/// for a slot held by the probe of a clean exit, and a clean exit is never starved by crashes.
enum class probe_lane { suspect, clean };
/// How many probe lanes there are (each has --max-probes slots).
inline constexpr std::size_t probe_lanes = 2;

/// The lane of a class: `clean` for clean exits, `suspect` for the others.
constexpr probe_lane lane_of(death_class c) noexcept
{
    return c == death_class::clean ? probe_lane::clean : probe_lane::suspect;
}

/// Whether `signal`'s default action writes a core (signal(7)): SIGQUIT, SIGILL, SIGTRAP,
/// SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS (their Linux numbers).
bool core_dumping_signal(int signal) noexcept;

/// The class of an exit code as the Engine writes it (decimal text; 128 + N for a process
/// killed by signal N). Text that is no number is a failure: nothing says the exit was clean.
death_class classify_exit_code(std::string_view code) noexcept;

/// The class of a death from its event's `exitCode` attribute (a failure when absent).
death_class classify(const die_event& ev) noexcept;

/// The deaths waiting for a probe, and which goes next: the oldest death that has waited
/// `max_wait` or more, if any (so that no death waits for ever behind a stream of crashes);
/// else the oldest of the first class (death_class order) that has one. Either among all the
/// deaths, or among those of one probe lane. Pure: the caller gives the time. Not thread-safe.
class death_queue {
public:
    using clock = std::chrono::steady_clock;

    struct entry {
        die_event ev;
        clock::time_point since;  ///< when it was queued
        death_class kind = death_class::failure;
        std::uint64_t seq = 0;  ///< order of arrival, across classes
    };

    explicit death_queue(clock::duration max_wait) : max_wait_(max_wait) {}

    /// Queues `ev`; returns its class.
    death_class push(die_event ev, clock::time_point now);
    /// The next death to probe, or nullopt when none waits.
    std::optional<entry> pop(clock::time_point now);
    /// The next death of `lane` to probe, or nullopt when none of it waits.
    std::optional<entry> pop(clock::time_point now, probe_lane lane);

    std::size_t size() const noexcept;
    bool empty() const noexcept { return size() == 0; }
    bool empty(probe_lane lane) const noexcept;

private:
    /// pop() among the classes [first, last) of death_class order.
    std::optional<entry> pop(clock::time_point now, std::size_t first, std::size_t last);

    clock::duration max_wait_;
    std::array<std::deque<entry>, 3> classes_;  // FIFO each, indexed by death_class
    std::uint64_t next_seq_ = 0;
};

}  // namespace core_interceptor::domain
