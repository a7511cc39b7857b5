// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core_interceptor::domain {

/// A container `die` event from `GET /events` (SPEC §4a).
struct die_event {
    std::string id;              ///< full container ID (64 hex)
    std::string name;            ///< Actor.Attributes.name, may be empty
    std::string image;           ///< Actor.Attributes.image or "from", may be empty
    std::int64_t time_nano = 0;  ///< timeNano (or time * 1e9 when absent)
    /// Actor.Attributes: the container's labels, plus name, image and exitCode (string values
    /// only; all kept, bounded by the length of a line). Used by the filters, at no API call.
    std::vector<std::pair<std::string, std::string>> attributes;
    /// Read live from the event stream and not tried before in this process: no earlier try
    /// can have committed it, so the capture skips the look for one (an Engine call). False for
    /// deaths resumed from the journal, caught up, given to --process or queued again.
    bool fresh = false;
};

/// What one event-stream line is.
enum class event_kind { die, destroy, other };

struct parsed_event {
    event_kind kind = event_kind::other;
    die_event event;  ///< filled for every container event (kind says whether it is a die)
};

/// Parses one line. A container event needs Type/type "container", an ID (`id` or `Actor.ID`)
/// and a time; Action/status "die" (Podman 4.3: "died") makes it a die, "destroy" (Podman:
/// "remove") a destroy. errc::malformed_event for anything that
/// is not a JSON object or lacks those fields. Never throws.
result<parsed_event> parse_event_line(std::string_view line);

/// What names one death of container `id` on its commit (the death label), the same whichever
/// way the death was found: "<id>-<FinishedAt in ns>" from the container's inspect, or, when the
/// Engine gave no FinishedAt, "<id>-<event time>". A death seen both by its event and by the
/// catch-up's list of exited containers has two times (the event's, and FinishedAt: Podman 4.3
/// writes its event about half a second after FinishedAt), but one FinishedAt.
std::string death_id(std::string_view id, std::int64_t finished_nano, std::int64_t event_nano);

/// The `since=` value that replays events from `time_nano` on: "<seconds>.<9 digits>".
std::string since_param(std::int64_t time_nano);

/// The `filters=` value for container die and destroy events (destroy right after die
/// reveals an --rm container): {"type":["container"],"event":["die","died","destroy","remove"]}.
/// Podman before 4.4 names the event "died" internally and its compatibility endpoint matches
/// nothing for "die" alone; Podman calls destroy "remove" (its events say Action "remove");
/// Docker accepts the unknown names.
std::string die_filter();

}  // namespace core_interceptor::domain
