// SPDX-License-Identifier: MIT
#pragma once

#include "domain/event.hpp"
#include "pipeline/outcome.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace core_interceptor::app {

/// Tells a container started with --rm (destroyed right after its death, SPEC §4a) from a late
/// `docker rm`, and warns, once, when such a removal may have taken a dump its job could not
/// keep. Loop thread only.
class rm_watch {
public:
    /// A job starts for `ev`: remembered for a minute.
    void remember(const domain::die_event& ev);

    /// The job of container `id` ended with `o`.
    void on_outcome(const std::string& id, pipeline::outcome o);

    /// The Engine destroyed `ev`'s container (a destroy event).
    void on_destroy(const domain::die_event& ev);

private:
    /// What is remembered of a recent death.
    struct recent_death {
        std::chrono::steady_clock::time_point died;
        std::string name, image;
        std::optional<pipeline::outcome> outcome;
        bool destroyed = false;
    };

    void warn_if_lost(const std::string& id, recent_death& d);

    std::unordered_map<std::string, recent_death> recent_;
};

}  // namespace core_interceptor::app
