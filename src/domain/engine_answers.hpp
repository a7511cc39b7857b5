// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "domain/api_version.hpp"
#include "domain/notification.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core_interceptor::domain {

/// Which Engine serves the Docker API: dockerd, or Podman's compatible service (whose
/// answers differ in places: see engine_family users).
enum class engine_family { docker, podman };

/// What `GET /version` of the Engine says.
struct engine_version {
    std::string version;                 ///< "20.10.24+dfsg1"
    api_version api;                     ///< ApiVersion: the newest it speaks
    std::optional<api_version> min_api;  ///< MinAPIVersion
    /// Podman when a component is named "Podman Engine", else Docker.
    engine_family family = engine_family::docker;

    /// "Docker Engine" or "Podman Engine".
    std::string name() const;
};

/// Parses a `GET /version` body. errc::malformed_response without ApiVersion.
result<engine_version> parse_engine_version(std::string_view body);

/// The image store named by a `GET /info` body: "containerd" when the Engine keeps images in
/// containerd's snapshotters (DriverStatus has ["driver-type", "io.containerd.snapshotter.v1"]),
/// else the storage driver (`Driver`: "overlay2" for dockerd, "overlay" for Podman).
/// errc::malformed_response when the body names neither.
result<std::string> parse_image_store(std::string_view body);

/// The `filters` of `GET /containers/json` that list the containers that have exited. Docker:
/// exited and dead. Podman 4 refuses "dead" (HTTP 500, "unknown container state"), and calls
/// a container that has exited but is not yet cleaned up "stopped".
std::string exited_filter(engine_family family);

/// Parses a `GET /containers/{id}/json` body. errc::malformed_response on anything unexpected.
result<container_info> parse_inspect(std::string_view body);

/// One image of `GET /images/json`.
struct image_summary {
    std::string id;
    std::vector<std::string> repo_tags;  ///< "REPOSITORY:TAG"; empty for an untagged image
};

/// The answer of `GET /images/json`: each image's Id and RepoTags ("<none>:<none>" dropped).
result<std::vector<image_summary>> parse_image_list(std::string_view body);

/// The answer of `GET /containers/json`: the containers' IDs.
result<std::vector<std::string>> parse_container_ids(std::string_view body);

/// Whether an archive answer about a file of a container that has just exited is one Podman
/// gives while it is still handling the exit, so that the same request a moment later is
/// answered properly: HTTP 500 "open /proc/PID/ns/mnt: no such file or directory" (it tries to
/// enter the dead process's mount namespace), or HTTP 200 with the file's stat but no byte of
/// the tar (its file system was unmounted under the copy). `message`: the error answer's
/// message; `body_bytes`: the bytes of a 200 answer. Docker gives neither.
bool archive_answer_premature(unsigned status, std::string_view message, std::uint64_t body_bytes);

/// The `changes` of `POST /commit` ("LABEL key=value", one per label) that set `labels` on
/// the new image. Podman's compatible service ignores the Labels of the commit's body and
/// takes each change's value verbatim (quotes included), while dockerd parses it as a
/// Dockerfile line: only labels whose key and value are plain (letters, digits, `._:/@+-`)
/// read the same on both, and only those are given; the body keeps carrying all of them.
std::vector<std::string>
commit_label_changes(const std::vector<std::pair<std::string, std::string>>& labels);

/// The daemon's `message` in an error answer's body ({"message": …}), else the body's first
/// 200 bytes without a trailing line break.
std::string daemon_message(std::string_view body);

/// Whether an Engine's error answer says the Engine itself is going away rather than refusing
/// the request on its merits: a 5xx whose message is its own shutdown cancelling the request
/// ("context canceled"), or its lost connection to containerd ("the client connection is
/// closing", "transport is closing", a refused dial of containerd's socket). Docker 28 with
/// the containerd image store answers a commit cut short by a restart this way. The same call
/// is expected to succeed once the Engine is back, so it is retried then.
bool engine_going_away(unsigned status, std::string_view message) noexcept;

}  // namespace core_interceptor::domain
