// SPDX-License-Identifier: MIT
#pragma once

#include "support/private_dockerd.hpp"
#include "support/process.hpp"
#include "support/registry.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::test_support {
class http_sink;
class mock_kafka;
}  // namespace core_interceptor::test_support

namespace core_interceptor::integration {

/// The repository every test container's image is pushed to (SPEC §3: `testimg:1.0`).
inline constexpr const char* test_repo = "testimg_1.0";

/// CI=true or CORE_INTERCEPTOR_REQUIRE_PARTS=1 (meson integration_tests=enabled): a missing
/// part fails the test instead of skipping it.
bool parts_required();

/// `s` without leading and trailing white space.
std::string trim(std::string s);
/// The non-blank lines of `text`, trimmed.
std::vector<std::string> lines_of(const std::string& text);

/// The real parts shared by every test case of a run: one private dockerd and one registry.
/// The engine is the one CORE_INTERCEPTOR_TEST_ENGINE names (support/engines.hpp).
struct shared_parts {
    shared_parts();
    /// Parts of a test's own, started differently (a TLS listener, a registry with a login).
    shared_parts(test_support::dockerd_options d, test_support::registry_options r);
    test_support::private_dockerd dockerd;
    test_support::registry registry;
};

/// The shared parts, started (and checked: a crashing process must leave an ELF core) on first
/// use. When a part is missing: nullptr after a MESSAGE saying why (the test returns), or a
/// failed test when parts are required. A broken harness always fails.
shared_parts* parts();

/// The daemon under test, from CORE_INTERCEPTOR_BIN; fails the test when unset or missing.
std::filesystem::path daemon_binary();

/// Whether the daemon under test knows `--state-dir` (its `--help` says so; asked once).
bool daemon_has_state_dir();

/// Whether the daemon under test knows `--max-per-signature` (asked once).
bool daemon_has_signature_limit();

/// `core_interceptor` started in its own process group with stdout/stderr in `work_dir`.
/// Stopped (SIGTERM, then SIGKILL) when destroyed. It never uses the default state directory:
/// unless `args` name one, `--state-dir work_dir/state` is added (when the daemon knows it).
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
    /// The last lines of it, for failure messages; then how it ended, if it has.
    std::string log_tail(std::size_t lines = 40);

private:
    std::filesystem::path out_;
    std::filesystem::path err_;
    test_support::process proc_;
};

/// The usual command line: docker host, registry, both sinks, hostname "testhost", -v 1, and
/// no per-signature limit (`--max-per-signature 0`) when the daemon knows that option.
std::vector<std::string>
daemon_args(const shared_parts& p, const std::string& kafka_brokers, const std::string& rest_url);

/// Gives `option`, already in `args` (daemon_args sets it), the value `value`; fails the test
/// when it is not there.
void set_option(std::vector<std::string>& args, const std::string& option, std::string value);

/// Starts the daemon, waits for "watching events" (else a short pause); fails if it exits.
void start_watching(daemon_under_test& d);

/// Stops the daemon with SIGTERM: it must still be running, exit within `within`, and exit 0.
void stop_cleanly(daemon_under_test& d, std::chrono::seconds within = std::chrono::seconds(10));

/// A container a test runs from the test image, always with `--network none`.
struct container_spec {
    std::string role;                   ///< for messages: "core", "decoy: empty core", ...
    std::vector<std::string> command;   ///< after the image name
    int exit_code = 0;                  ///< what it exits with (checked: the scenario is real)
    std::optional<std::string> object;  ///< "core"/"hprof" when it leaves a dump, else nothing
    std::vector<std::string> run_options =
        {};  ///< extra options of the container start (--restart, --rm)
    std::string image = test_support::private_dockerd::test_image;  ///< must be built already
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
/// `shell(then)` after writing 24 MiB of random bytes to /tmp/ballast: commits and pushes of
/// the container take a while, so a fault can strike while the daemon is at work on them.
std::vector<std::string> with_ballast(const std::string& then);
/// Containers `with_ballast` that leave a dump: a core (/tmp/core, killed by SIGSEGV), an
/// hprof at `path` (exit 3).
container_spec ballast_core(const std::string& role);
container_spec ballast_hprof(const std::string& role, const std::string& path);

/// A name no other test case of this run uses: ci-<what>-<random hex>.
std::string unique_name(const std::string& what);

/// `docker run -d --network none --ulimit core=-1 -w /tmp --name NAME testimg:1.0 ...`;
/// fails the test when docker refuses.
container start_container(shared_parts& p, const container_spec& spec, const std::string& name);

/// Like `start_container` for several containers at once: every container start runs in
/// parallel (a burst), with its output under `work_dir`. Fails the test when one fails.
std::vector<container> start_containers_at_once(shared_parts& p,
                                                const std::vector<container_spec>& specs,
                                                const std::vector<std::string>& names,
                                                const std::filesystem::path& work_dir);

/// `start_containers_at_once` named `unique_name(prefix + "-" + index)`.
std::vector<container> start_burst(shared_parts& p,
                                   const std::vector<container_spec>& specs,
                                   const std::string& prefix,
                                   const std::filesystem::path& work_dir);

/// The containers of `cs` that leave a dump (`container_spec::object`).
std::vector<container> dumping_of(const std::vector<container>& cs);

/// `docker wait` (60 s) for the dumping containers `dumping`; fails the test when it fails.
void wait_dumping(shared_parts& p, const std::vector<container>& dumping);

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

// --- Fault injection (issue 3: nothing lost) ----------------------------------------------

/// Polls `done` every `poll` until it is true or `timeout` passes; its last answer.
bool wait_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(250));

/// What `wait_all` saw: whether every condition held at once before the timeout, how long it
/// took, and when each condition was first seen true (seconds from the start).
struct convergence {
    bool converged = false;
    double seconds = 0;
    std::vector<std::pair<std::string, double>> first_true;  ///< -1: never
    /// "converged in 12.3 s (registry 1.0 s, Kafka 12.3 s, REST 3.1 s)".
    std::string describe() const;
};

/// Polls every named condition until all hold in the same round, or `timeout` passes.
convergence wait_all(const std::vector<std::pair<std::string, std::function<bool()>>>& conditions,
                     std::chrono::milliseconds timeout,
                     std::chrono::milliseconds poll = std::chrono::milliseconds(500));

/// Whether `hay` contains `needle`, ignoring case.
bool contains_nocase(std::string_view hay, std::string_view needle);

/// Waits until the daemon's log contains `needle` (ignoring case); false on timeout.
bool wait_for_log(const daemon_under_test& d,
                  const std::string& needle,
                  std::chrono::milliseconds timeout);

/// The usual command line (daemon_args) plus what the fault tests need: a private
/// `--state-dir`, quick retries (`--retry-max-backoff 1`) and Kafka messages that fail after
/// 3 s (`-X message.timeout.ms=3000`) so that they reach the spool.
std::vector<std::string> fault_daemon_args(const shared_parts& p,
                                           const std::string& kafka_brokers,
                                           const std::string& rest_url,
                                           const std::filesystem::path& state_dir);

/// The container ID part of a notification `id` ("<container id>-<event timeNano>").
std::string container_of_id(const std::string& id);

/// What one sink received, deduplicated on the notification `id`.
struct sink_record {
    std::map<std::string, std::size_t> count;  ///< id -> deliveries
    std::set<std::string> pushed;              ///< ids seen at least once with "pushed": true
    std::map<std::string, boost::json::object> last;  ///< id -> the last body seen
    std::size_t total = 0;                            ///< deliveries, duplicates included
    std::size_t without_id = 0;                       ///< bodies without a string `id`
    std::vector<std::string> bad_bodies;              ///< not JSON objects

    std::set<std::string> ids() const;
    std::size_t duplicates() const;  ///< total - distinct ids (bodies without id excluded)
    /// Ids of a container (whose container part is `container_id`).
    std::set<std::string> ids_of(const std::string& container_id) const;
};

/// Every record of the Kafka topic, by id.
sink_record kafka_record(const test_support::mock_kafka& k);
/// Every request the REST sink answered with 2xx, by id (failed attempts are not deliveries).
sink_record rest_record(const test_support::http_sink& s);

/// For messages: "ids=N deliveries=M duplicates=D" and the ids.
std::string describe(const sink_record& r);

/// Whether `sink` has, for every container ID of `containers`, at least one id (and, with
/// `need_pushed`, one that said "pushed": true), and no id of any other container.
bool sink_complete(const sink_record& sink,
                   const std::set<std::string>& containers,
                   bool need_pushed);

/// Checks (doctest CHECKs) what `sink_complete` says, naming what is missing or unexpected.
/// `ids_per_container` is how many distinct ids each container must have (0: at least one).
void check_sink(const char* sink_name,
                const sink_record& sink,
                const std::set<std::string>& containers,
                bool need_pushed,
                std::size_t ids_per_container = 1);

/// `docker inspect -f FORMAT name`; nothing when docker fails (e.g. no such container).
std::optional<std::string>
inspect(shared_parts& p, const std::string& name, const std::string& format);

/// Whether the container's writable layer holds `path` (`docker diff`: added or changed).
bool has_file(shared_parts& p, const std::string& name, const std::string& path);

/// Brings the shared registry back up when it goes out of scope, however the test ends.
struct registry_guard {
    test_support::registry& r;
    explicit registry_guard(test_support::registry& reg) : r(reg) {}
    registry_guard(const registry_guard&) = delete;
    registry_guard& operator=(const registry_guard&) = delete;
    ~registry_guard();
};

/// Brings the shared dockerd back up when it goes out of scope (after a kill9 in a test).
struct dockerd_guard {
    test_support::private_dockerd& d;
    explicit dockerd_guard(test_support::private_dockerd& dockerd) : d(dockerd) {}
    dockerd_guard(const dockerd_guard&) = delete;
    dockerd_guard& operator=(const dockerd_guard&) = delete;
    ~dockerd_guard();
};

/// Removes every local image whose tag is `tag` (`docker rmi -f`).
void remove_local_images_tagged(shared_parts& p, const std::string& tag);

/// The IDs, and the tags (`container::tag`), of `cs`.
std::set<std::string> ids_of(const std::vector<container>& cs);
std::set<std::string> tags_of(const std::vector<container>& cs);

/// The tags of `repo` in the shared registry.
std::set<std::string> registry_tags(shared_parts& p, const std::string& repo);
/// The tags of `repo` in the shared registry that are not in `before`.
std::set<std::string>
new_tags(shared_parts& p, const std::string& repo, const std::set<std::string>& before);
/// Whether `repo` holds every one of `tags`; false while the registry does not answer.
bool registry_has_all(shared_parts& p, const std::string& repo, const std::set<std::string>& tags);

/// Checks that every image of `cs` left the node (pushed, then deleted) within 15 s; a failure
/// says `failure` and the image left.
void check_deleted_locally(shared_parts& p,
                           const std::vector<container>& cs,
                           std::string_view failure = "still on the node after the push: ");

/// Removes the local images of `cs` and every container.
void clean_up(shared_parts& p, const std::vector<container>& cs);

}  // namespace core_interceptor::integration
