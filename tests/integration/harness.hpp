// SPDX-License-Identifier: MIT
#pragma once

#include "support/private_dockerd.hpp"
#include "support/process.hpp"
#include "support/registry.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace core_interceptor::integration {

/// The repository every test container's image is pushed to (SPEC §3: `testimg:1.0`).
inline constexpr const char* test_repo = "testimg_1.0";

/// CI=true or CORE_INTERCEPTOR_REQUIRE_PARTS=1 (meson integration_tests=enabled): a missing
/// part fails the test instead of skipping it.
bool parts_required();

/// The real parts shared by every test case of a run: one private dockerd and one registry.
struct shared_parts {
    test_support::private_dockerd dockerd;
    test_support::registry registry;
};

/// The shared parts, started (and checked: a crashing process must leave an ELF core) on first
/// use. When a part is missing: nullptr after a MESSAGE saying why (the test returns), or a
/// failed test when parts are required. A broken harness always fails.
shared_parts* parts();

/// The daemon under test, from CORE_INTERCEPTOR_BIN; fails the test when unset or missing.
std::filesystem::path daemon_binary();

/// `core_interceptor` started in its own process group with stdout/stderr in `work_dir`.
/// Stopped (SIGTERM, then SIGKILL) when destroyed.
class daemon_under_test {
public:
    daemon_under_test(const std::filesystem::path& work_dir, std::vector<std::string> args);

    pid_t pid() const { return proc_.pid(); }
    test_support::process& proc() { return proc_; }
    bool running() { return proc_.running(); }

    /// Waits until its log says "watching events". Fails the test if it exits first; false if
    /// the line does not show up within `timeout`.
    bool wait_until_watching(std::chrono::milliseconds timeout);

    /// What it wrote to stderr and stdout.
    std::string log() const;
    /// The last lines of it, for failure messages.
    std::string log_tail(std::size_t lines = 40) const;

private:
    std::filesystem::path out_;
    std::filesystem::path err_;
    test_support::process proc_;
};

/// The usual command line: docker host, registry, both sinks, hostname "testhost", -v 1.
std::vector<std::string> daemon_args(const shared_parts& p,
                                     const std::string& kafka_brokers,
                                     const std::string& rest_url);

/// Starts the daemon, waits for "watching events" (else a short pause); fails if it exits.
void start_watching(daemon_under_test& d);

/// A container a test runs from the test image, always with `--network none`.
struct container_spec {
    std::string role;                   ///< for messages: "core", "decoy: empty core", ...
    std::vector<std::string> command;   ///< after the image name
    int exit_code = 0;                  ///< what it exits with (checked: the scenario is real)
    std::optional<std::string> object;  ///< "core"/"hprof" when it leaves a dump, else nothing
};

/// A started container.
struct container {
    container_spec spec;
    std::string name;
    std::string id;
    /// SPEC §3: the first 12 characters of the container ID.
    std::string tag() const { return id.substr(0, 12); }
};

/// "sh -c '...'" commands for the scenarios.
std::vector<std::string> crash_with_core();
std::vector<std::string> write_hprof(const std::string& path, int exit_code);
std::vector<std::string> shell(const std::string& script);

/// A name no other test case of this run uses: ci-<what>-<random hex>.
std::string unique_name(const std::string& what);

/// `docker run -d --network none --ulimit core=-1 -w /tmp --name NAME testimg:1.0 ...`;
/// fails the test when docker refuses.
container start_container(shared_parts& p, const container_spec& spec, const std::string& name);

/// Waits (`docker wait`, bounded) for the containers to exit and checks their exit codes.
void wait_exited(shared_parts& p, const std::vector<container>& cs);

/// Removes every container of the private dockerd, so that a daemon started next sees no
/// exited container from an earlier test case.
void remove_all_containers(shared_parts& p);

/// "REPOSITORY:TAG" of every local image whose tag is `tag`.
std::vector<std::string> local_images_tagged(shared_parts& p, const std::string& tag);

/// Sorted, comma-joined, for readable comparisons of sets in failure messages.
std::string joined(const std::set<std::string>& s);

/// What a notification must say (SPEC §5).
struct expected_notification {
    std::string name;
    std::string tag;
    std::string hostname;
    std::string object;
    bool pushed = true;
    std::string image;  ///< the full pushed reference; checked when the body has `image`
};

/// Parses a notification body; fails the check and gives nothing when it is not a JSON object.
std::optional<boost::json::object> parse_notification(const std::string& body);

/// Checks every field SPEC §5 requires; the timestamp must be RFC 3339 UTC ("...Z") within
/// [not_before - 60 s, now + 60 s].
void check_notification(const boost::json::object& n,
                        const expected_notification& e,
                        std::chrono::system_clock::time_point not_before);

/// A string field of a JSON object, or "<missing>"/"<not a string>".
std::string string_field(const boost::json::object& o, const char* key);

}  // namespace core_interceptor::integration
