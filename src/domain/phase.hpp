// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <string_view>

namespace core_interceptor::domain {

/// The phases of a death's handling that /metrics times (core_interceptor_phase_seconds).
enum class phase {
    probe_wait,     ///< die event taken off the queue -> probe slot taken
    probe,          ///< the layer's and the mounts' probes
    capture_wait,   ///< the probe found a dump -> capture slot taken
    commit,         ///< inspect and name, copy of the mounts' dumps, commit
    push,           ///< every try of the push
    remove,         ///< the local image's removal after its push
    deliver_kafka,  ///< a notification handed to the Kafka sink -> its delivery report
    deliver_rest,   ///< a notification handed to the REST sink -> its 2xx answer
};

inline constexpr std::array all_phases{phase::probe_wait,
                                       phase::probe,
                                       phase::capture_wait,
                                       phase::commit,
                                       phase::push,
                                       phase::remove,
                                       phase::deliver_kafka,
                                       phase::deliver_rest};

/// The value of the `phase` label.
constexpr std::string_view to_string(phase p) noexcept
{
    constexpr std::array<std::string_view, all_phases.size()> names{"probe_wait",
                                                                    "probe",
                                                                    "capture_wait",
                                                                    "commit",
                                                                    "push",
                                                                    "delete",
                                                                    "deliver_kafka",
                                                                    "deliver_rest"};
    return names[static_cast<std::size_t>(p)];
}

}  // namespace core_interceptor::domain
