// SPDX-License-Identifier: MIT
#pragma once
// The fixture of the integration tests: the real parts, a temporary directory, a mock Kafka
// cluster, an HTTP sink and, when asked, the daemon watching them.
#include "integration/harness.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace core_interceptor::integration {

/// What a test case starts from (`TEST_CASE_FIXTURE(scene, "...")`): the shared parts with no
/// container left by an earlier case, a fresh temporary directory, a mock Kafka cluster with
/// its consumer and an HTTP sink. `p` is nullptr when a part is missing (after `parts()` said
/// why): the test case then returns at once (`if (!p) return;`).
struct scene {
    shared_parts* p = parts();
    test_support::temp_dir work;
    test_support::mock_kafka kafka;
    test_support::http_sink rest;

    scene();
    explicit scene(const std::string& work_prefix);
    scene(const scene&) = delete;
    scene& operator=(const scene&) = delete;
    ~scene();

    /// `daemon_args` on this scene's sinks.
    std::vector<std::string> usual_args() const;
    /// `fault_daemon_args` on this scene's sinks, state in `work/state`.
    std::vector<std::string> fault_args() const;

    /// Starts the daemon with `args` in `dir` (the work directory by default) and waits until
    /// it watches events (`start_watching`, its log shown on failure). It is stopped when the
    /// scene ends, unless the test stops it first.
    daemon_under_test& watch(std::vector<std::string> args);
    daemon_under_test& watch(const std::filesystem::path& dir, std::vector<std::string> args);

    /// Waits (`wait_all`, 120 s) until the shared registry holds the image of every one of
    /// `dumping` and both sinks have a notification of each, pushed.
    convergence wait_delivered(const std::vector<container>& dumping);

    /// Brings the shared registry (dockerd) back up when the scene ends, after its daemon
    /// stopped, however the test ends.
    void restore_registry_at_end();
    void restore_dockerd_at_end();

private:
    std::optional<registry_guard> registry_back_;
    std::optional<dockerd_guard> dockerd_back_;
    std::optional<daemon_under_test> daemon_;
};

}  // namespace core_interceptor::integration
