// SPDX-License-Identifier: MIT
#pragma once

#include "domain/crash.hpp"
#include "domain/dump.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core_interceptor::domain {

/// A dump found in a container.
struct dump_info {
    std::string path;
    std::int64_t size = 0;
    dump_type type = dump_type::none;
    /// For a dump found in a `--dump-path` mount: where it is in the container ("" for one in
    /// the writable layer); `path` is then where the image holds it, unless not `copied`.
    std::string original_path;
    bool copied = true;
    /// What a core's notes say (read from its first bytes by the probe); unset when unread.
    std::optional<crash_info> crash;
    /// What an hprof's header says; unset when unread.
    std::optional<heap_info> heap;
    std::string reason;  ///< why a dump of a mount was not copied ("" when copied)
};

/// The container a notification is about.
struct container_info {
    std::string id;
    std::string name;   ///< without the leading '/'
    std::string image;  ///< Config.Image
    std::string image_id;
    int exit_code = 0;
    bool auto_remove = false;
    std::string status;  ///< State.Status: "exited", "dead", "running", "paused", "created", ...
    std::int64_t finished_nano = 0;  ///< State.FinishedAt, 0 when unknown
    /// Config.Labels (string values only, all of them), for the filters when no event carried them.
    std::vector<std::pair<std::string, std::string>> labels;
    std::int64_t started_nano = 0;  ///< State.StartedAt, 0 when unknown
};

/// The notification of SPEC §5, one per committed image.
struct notification {
    std::string id;  ///< unique to the death: "<container id>-<timeNano>"
    std::chrono::system_clock::time_point timestamp;
    bool pushed = false;
    std::string name;  ///< IMAGE_NAME
    std::string tag;   ///< TAG
    std::string hostname;
    std::string image;     ///< full reference: pushed one, or the local one when not pushed
    std::string registry;  ///< "" when no registry is configured
    std::string digest;    ///< "" when unknown
    container_info container;
    std::vector<dump_info> dumps;
    /// Set when the death was not committed because its crash signature is over
    /// --max-per-signature: the last image pushed for that signature.
    std::string duplicate_of;
};

/// The crash of the first core whose notes could be read; nullptr when none.
const crash_info* first_crash(const std::vector<dump_info>& dumps) noexcept;

/// "core" when any dump is a core, else "hprof" (SPEC §5 `object`).
std::string_view object_of(const std::vector<dump_info>& dumps) noexcept;

/// RFC 3339 UTC with milliseconds: "2026-11-24T20:21:10.123Z".
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

/// The JSON body sent to every sink: version "1.0", timestamp, pushed, name, tag, hostname,
/// object, id, image, registry, digest, container {id, name, image, exit_code},
/// dumps [{path, size, type, crash | heap}]; `crash` (the first core's, as in its dumps entry)
/// and `heap` (the first hprof's) at the top level too; `duplicate_of` when set.
std::string to_json(const notification& n);

/// The Kafka key: "IMAGE_NAME:TAG".
std::string kafka_key(const notification& n);

/// One notification as every sink is sent it; made by `announce` only (a spooled one is read
/// back as it was made).
struct announcement {
    std::string id;    ///< unique to the death, for consumers to deduplicate
    std::string key;   ///< Kafka key "IMAGE_NAME:TAG"
    std::string body;  ///< the JSON document (to_json)
};

/// The announcement of `n`: its id, kafka_key and to_json body.
announcement announce(const notification& n);

/// The announcement of an image pushed after `announced` (a body made by to_json with
/// `pushed: false`) went out: the same document and id, with `pushed` true, `digest` and the
/// timestamp `now`. nullopt when `announced` is not a JSON object.
std::optional<announcement> announce_pushed(std::string_view announced,
                                            std::string_view digest,
                                            std::chrono::system_clock::time_point now);

}  // namespace core_interceptor::domain
