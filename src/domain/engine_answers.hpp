// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "domain/api_version.hpp"
#include "domain/notification.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::domain {

/// What `GET /version` of the Engine says.
struct engine_version {
    std::string version;                 ///< "20.10.24+dfsg1"
    api_version api;                     ///< ApiVersion: the newest it speaks
    std::optional<api_version> min_api;  ///< MinAPIVersion
};

/// Parses a `GET /version` body. errc::malformed_response without ApiVersion.
result<engine_version> parse_engine_version(std::string_view body);

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
