// SPDX-License-Identifier: MIT
#pragma once

#include "domain/event.hpp"
#include "domain/notification.hpp"
#include "log/log.hpp"

#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace core_interceptor::pipeline::detail {

/// What one job has learnt so far, handed from step to step, and from the probe to the capture
/// (job_runner::probe makes it, a `probed` holds it).
struct job_state {
    explicit job_state(domain::die_event e)
        : ev(std::move(e)), fields{{"CONTAINER_ID", ev.id},
                                   {"CONTAINER_NAME", ev.name},
                                   {"IMAGE", ev.image}}
    {
    }

    const domain::die_event ev;
    std::vector<log::field> fields;  // CONTAINER_ID, CONTAINER_NAME, IMAGE first, in that order

    // Probe the layer.
    std::set<std::string, std::less<>> in_layer;  // the paths /changes listed
    std::size_t already = 0;                      // dumps found that were reported before
    std::vector<domain::dump_info> dumps;
    std::vector<std::string> mtimes;  // per dump, to remember it as reported

    // Probe the mounts.
    std::vector<std::string> volume_dirs;  // --dump-path directories to copy from

    // Name the image.
    domain::container_info info;
    std::string name;  // IMAGE_NAME
    std::string tag;   // TAG
    std::string repo;
    std::string reference;  // repo:tag

    // Commit and push.
    std::string death_id;  // the death label of the commit
    bool pushed = false;
    bool push_later = false;  // the push failed for good: kept for the failed-push retrier
    std::string digest;
};

/// The dumps' paths, comma-separated (DUMP_PATH, the image's label).
inline std::string join_paths(const std::vector<domain::dump_info>& dumps)
{
    std::string out;
    for (const auto& d : dumps) {
        if (!out.empty())
            out += ',';
        out += d.path;
    }
    return out;
}

}  // namespace core_interceptor::pipeline::detail
