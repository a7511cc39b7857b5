// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// Images committed per crash signature within a window on this host (`--max-per-signature`):
/// an orchestrator that replaces a crash-looping container with a new one each time must not
/// fill the registry with copies of one crash. Wall-clock times, so that the counts saved in
/// the state directory still mean something after a restart.
class signature_limit {
public:
    using clock = std::chrono::system_clock;

    /// `max` commits per `window` per signature; 0: no limit (nothing is counted).
    signature_limit(std::size_t max, std::chrono::seconds window);

    /// The last image committed for `signature` when it already had `max` commits within the
    /// window: the death is a duplicate. nullopt: commit it (no limit, no signature, or room).
    std::optional<std::string> duplicate_of(std::string_view signature, clock::time_point now);
    /// Counts a commit of image `reference` for `signature` (nothing without a limit or a
    /// signature); forgets what is past the window.
    void record(std::string_view signature, std::string_view reference, clock::time_point now);

    /// The counts as JSON: {"SIGNATURE": {"times_ms": [...], "image": "..."}}.
    std::string to_json() const;
    /// Replaces the counts by those of `text` (as to_json() writes), dropping what is past the
    /// window at `now`; false, with no counts, when it is not such JSON.
    bool load(std::string_view text, clock::time_point now);

    /// Signatures counted now.
    std::size_t size() const noexcept { return by_signature_.size(); }

private:
    struct entry {
        std::deque<std::int64_t> times_ms;  // commits within the window, oldest first
        std::string image;                  // the last image committed
    };
    void prune(clock::time_point now);

    std::size_t max_;
    std::chrono::seconds window_;
    std::map<std::string, entry, std::less<>> by_signature_;
};

}  // namespace core_interceptor::domain
