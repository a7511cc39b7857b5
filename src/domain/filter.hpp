// SPDX-License-Identifier: MIT
#pragma once

#include "domain/event.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::domain {

/// `K` or `K=V`: a label that must be present (with that value, when given).
struct label_match {
    std::string key;
    std::optional<std::string> value;
};

/// Parses `K[=V]`; nullopt for an empty key.
std::optional<label_match> parse_label_match(std::string_view text);

/// The per-container opt-out label: `core_interceptor.skip=true`.
inline constexpr std::string_view skip_label = "core_interceptor.skip";

/// Which deaths are handled (`--include-label`, `--exclude-label`, `--include-image`): decided
/// from the die event alone, so a filtered container costs no Engine call.
struct container_filter {
    std::vector<label_match> include_labels;  ///< all must match (none: everything)
    std::vector<label_match> exclude_labels;  ///< any match excludes
    std::vector<std::string> include_images;  ///< globs on the image reference (none: all)
};

/// An image reference as the docker CLI shows it: Docker Hub's domain and its "library/"
/// dropped ("docker.io/library/testimg:1.0", as Podman names it, is "testimg:1.0"); other
/// references unchanged. `--include-image` globs match either form.
std::string familiar_reference(std::string_view image);

/// Whether `ev` is handled. When not, `why` (if given) says which rule excluded it.
bool accepts(const container_filter& f, const die_event& ev, std::string* why = nullptr);

}  // namespace core_interceptor::domain
