// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// Where images are pushed: `HOST[:PORT][/PREFIX]` (SPEC §2 `--registry`).
struct registry_target {
    std::string host;    ///< "reg.example.com:5000", "127.0.0.1:5000", "localhost"
    std::string prefix;  ///< "" or "team/cores" (no leading or trailing '/')
};

/// Parses `--registry`. nullopt when empty, when the host is empty or has characters a
/// registry host cannot have, or when the prefix is not a valid repository path.
std::optional<registry_target> parse_registry(std::string_view text);

/// IMAGE_NAME of SPEC §3 for a container created from `config_image` (its `Config.Image`),
/// whose image ID is `image_id` ("sha256:<64 hex>", used to recognise a container created
/// from an image ID or an ID prefix). The result is a valid repository path of at most
/// `max_length` characters.
std::string image_name(std::string_view config_image,
                       std::string_view image_id = {},
                       std::size_t max_length = 255 - 13);

/// TAG of SPEC §3: the first 12 characters of the container ID.
std::string image_tag(std::string_view container_id);

/// `[HOST/][PREFIX/]IMAGE_NAME` — the repository an image is committed and pushed as.
/// With no registry the repository is the bare IMAGE_NAME (kept locally).
std::string repository(const std::optional<registry_target>& registry, std::string_view name);

/// Longest IMAGE_NAME that keeps `repository(registry, name) + ":" + TAG` within 255.
std::size_t max_image_name_length(const std::optional<registry_target>& registry);

}  // namespace core_interceptor::domain
