// SPDX-License-Identifier: MIT
#pragma once

#include "docker/config.hpp"
#include "domain/docker_config.hpp"
#include "log/log.hpp"
#include "metrics/config.hpp"
#include "pipeline/config.hpp"
#include "sinks/config.hpp"
#include "watcher/config.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace core_interceptor::config {

/// Everything the daemon runs with, filled by config/ from the command line and INI file.
struct app_config {
    log::config logging;
    docker::client_config docker;
    watcher::config watcher;
    pipeline::config pipeline;
    std::optional<sinks::kafka_config> kafka;
    std::optional<sinks::rest_config> rest;
    sinks::delivery_config delivery;
    /// Durable state: last event time, unfinished work, spooled notifications.
    std::filesystem::path state_dir = "/var/lib/core_interceptor";
    /// On a first run (no state yet), handle containers that exited this long before start.
    std::chrono::seconds catch_up_since{0};
    /// Containers being captured (committed, pushed, deleted) at once (`--max-concurrency`);
    /// each is announced after its slot goes back.
    std::size_t max_concurrency = 4;
    /// Dead containers probed for dumps at once in each probe lane (`--max-probes`).
    std::size_t max_probes = 4;
    /// Die events queued while every job slot is busy; beyond it the reader waits.
    std::size_t queue_capacity = 1024;
    /// On SIGTERM, in-flight jobs get this long to finish before they are cancelled.
    std::chrono::milliseconds shutdown_grace{2000};
    /// `--metrics-address`: the /metrics and /healthz server; unset, no port is opened.
    std::optional<metrics::config> metrics;
    /// `--process`: handle these (exited) containers, names or IDs, now and exit; no event stream.
    std::vector<std::string> process;
    /// `--check`: check the configuration and every connection, print one line each, exit.
    bool check = false;
    /// The file the registry credentials come from: `--registry-auth`, else the docker CLI's
    /// config.json when it has credentials for the registry; "" when there are none.
    std::string registry_auth_file;
    /// Where in it (`auths`, a credential helper), for `--check`.
    domain::registry_credentials registry_credentials;
};

}  // namespace core_interceptor::config
