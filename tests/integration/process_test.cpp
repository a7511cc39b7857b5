// SPDX-License-Identifier: MIT
// Issue 5, item 3: `--process CONTAINER...` handles containers that exited before the daemon
// ran, then exits with a status that says whether every one was handled; `--dry-run` finds
// and logs what would be committed, pushed and notified and changes nothing, with --process
// and while watching events.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <sstream>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

// A --process run of a few containers takes seconds; a loaded CI machine gets a lot more.
constexpr auto process_timeout = 180s;
// Notifications delivered before the exit reach the test's Kafka consumer within seconds;
// after the expected count, a quiet period shows nothing else is coming.
constexpr auto notification_timeout = 60s;
constexpr auto quiet_period = 5s;

/// `core_interceptor ARGS --state-dir STATE EXTRA...` run to its end.
ts::run_result run_daemon(const shared_parts& p,
                          const ts::mock_kafka& kafka,
                          const ts::http_sink& rest,
                          const std::filesystem::path& state_dir,
                          const std::vector<std::string>& extra)
{
    auto args = daemon_args(p, kafka.bootstraps(), rest.url());
    args.insert(args.begin(), daemon_binary().string());
    args.insert(args.end(), {"--state-dir", state_dir.string()});
    args.insert(args.end(), extra.begin(), extra.end());
    return ts::run(std::move(args), process_timeout);
}

/// The line `--process` printed for `name` ("process NAME: ..."), or "" when there is none.
std::string line_for(const ts::run_result& r, const std::string& name)
{
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
        if (line.rfind("process " + name + ": ", 0) == 0)
            return line;
    return {};
}

bool registry_has(shared_parts& p, const std::string& tag)
{
    for (const auto& t : p.registry.tags(test_repo))
        if (t == tag)
            return true;
    return false;
}

/// A container that crashed leaving a core, checked: the scenario is real.
container crashed_container(shared_parts& p, const std::string& what)
{
    auto c = start_container(p, {"core", crash_with_core(), 139, "core"}, unique_name(what));
    wait_exited(p, {c});
    REQUIRE_MESSAGE(has_file(p, c.name, "/tmp/core"), c.name, " left no /tmp/core");
    return c;
}

/// After a dry run with the same state directory: `--process` of the container pushes its
/// dump, and each sink holds exactly one notification, the real one.
void check_real_run_pushes(shared_parts& p,
                           const ts::mock_kafka& kafka,
                           const ts::http_sink& rest,
                           const std::filesystem::path& state_dir,
                           const container& c)
{
    auto real = run_daemon(p, kafka, rest, state_dir, {"--process", c.name});
    INFO("real run stdout:\n", real.out, "\nstderr:\n", real.err);
    REQUIRE_FALSE(real.timed_out);
    CHECK(real.status.describe() == "exit 0");
    CHECK(line_for(real, c.name).find("dump pushed") != std::string::npos);
    CHECK(registry_has(p, c.tag()));
    CHECK(kafka.wait_for(1, notification_timeout));
    std::this_thread::sleep_for(quiet_period);
    check_sink("Kafka", kafka_record(kafka), {c.id}, true);
    check_sink("REST", rest_record(rest), {c.id}, true);
    CHECK(kafka_record(kafka).total == 1);
    CHECK(rest_record(rest).total == 1);
}

TEST_CASE_FIXTURE(scene,
                  "--process: exited containers are handled now, a missing or running one fails it")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    // Both died before any core_interceptor ran: there is no event to see, only --process.
    const auto crashed = crashed_container(*p, "process-core");
    const auto clean = start_container(
        *p, {"clean exit", shell("echo fine"), 0, std::nullopt}, unique_name("process-clean"));
    wait_exited(*p, {clean});
    const auto running = start_container(
        *p, {"still running", shell("sleep 600"), 0, std::nullopt}, unique_name("process-run"));
    const std::string missing = unique_name("process-missing");
    // The filters apply as they do to events: an opted-out crash is skipped, not committed.
    const auto skipped = start_container(
        *p,
        {"opted out", crash_with_core(), 139, "core", {"--label", "core_interceptor.skip=true"}},
        unique_name("process-skip"));
    wait_exited(*p, {skipped});

    auto r = run_daemon(
        *p,
        kafka,
        rest,
        work / "state",
        {"--process", crashed.name, clean.name, missing, "--process", running.name, skipped.name});
    INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
    p->dockerd.docker({"rm", "-f", running.name}, 60s);
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.status.describe() == "exit 1");
    CHECK(line_for(r, crashed.name).find("dump pushed") != std::string::npos);
    CHECK(line_for(r, clean.name).find("no dump") != std::string::npos);
    CHECK(line_for(r, missing).find("failed: no such container") != std::string::npos);
    CHECK(line_for(r, running.name).find("failed: it is running") != std::string::npos);
    CHECK(line_for(r, skipped.name).find("skipped by the filters (core_interceptor.skip=true)") !=
          std::string::npos);
    // The errors name the container, in the log (and so the journal) too.
    CHECK(r.err.find("--process " + missing + ": no such container") != std::string::npos);
    CHECK(r.err.find("--process " + running.name + ": container " + running.name) !=
          std::string::npos);

    // The crashed one is in the registry, gone from the node, announced once on each sink.
    CHECK(registry_has(*p, crashed.tag()));
    CHECK(local_images_tagged(*p, crashed.tag()).empty());
    CHECK(kafka.wait_for(1, notification_timeout));
    std::this_thread::sleep_for(quiet_period);
    check_sink("Kafka", kafka_record(kafka), {crashed.id}, true);
    check_sink("REST", rest_record(rest), {crashed.id}, true);
    for (const auto& m : kafka.messages()) {
        auto n = parse_notification(m.value);
        if (!n)
            continue;
        check_notification(*n,
                           {test_repo,
                            crashed.tag(),
                            "testhost",
                            "core",
                            true,
                            p->registry.address() + "/" + test_repo + ":" + crashed.tag()},
                           std::chrono::system_clock::now() - process_timeout);
    }
    CHECK(local_images_tagged(*p, clean.tag()).empty());
    CHECK(local_images_tagged(*p, skipped.tag()).empty());
    CHECK_FALSE(registry_has(*p, skipped.tag()));

    // Every container handled: exit 0. The core was reported already (same state directory):
    // no second notification. A container named twice (name and ID) is handled once.
    auto again = run_daemon(*p,
                            kafka,
                            rest,
                            work / "state",
                            {"--process", clean.id.substr(0, 12), crashed.name, crashed.id});
    INFO("second run stdout:\n", again.out, "\nstderr:\n", again.err);
    REQUIRE_FALSE(again.timed_out);
    CHECK(again.status.describe() == "exit 0");
    CHECK(line_for(again, clean.id.substr(0, 12)).find("no dump") != std::string::npos);
    CHECK(line_for(again, crashed.name).find("already reported") != std::string::npos);
    CHECK(line_for(again, crashed.id) ==
          "process " + crashed.id + ": same container as " + crashed.name);
    std::this_thread::sleep_for(quiet_period);
    CHECK(kafka_record(kafka).total == 1);
    CHECK(rest_record(rest).total == 1);
    remove_all_containers(*p);
}

TEST_CASE_FIXTURE(
    scene, "--dry-run --process: logs the image, reference and notification, changes nothing")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    const auto c = crashed_container(*p, "dryrun");
    const std::string reference = p->registry.address() + "/" + test_repo + ":" + c.tag();

    auto dry = run_daemon(*p, kafka, rest, work / "state", {"--dry-run", "--process", c.name});
    INFO("dry run stdout:\n", dry.out, "\nstderr:\n", dry.err);
    REQUIRE_FALSE(dry.timed_out);
    CHECK(dry.status.describe() == "exit 0");
    CHECK(line_for(dry, c.name).find("dry run") != std::string::npos);
    CHECK(dry.err.find("dry run: would commit container " + c.name) != std::string::npos);
    CHECK(dry.err.find("as image " + reference) != std::string::npos);
    CHECK(dry.err.find("dry run: would push " + reference) != std::string::npos);
    const auto notify = dry.err.find("dry run: would notify 2 sink(s) with {");
    CHECK(notify != std::string::npos);
    if (notify != std::string::npos) {
        // The body, then the log line's structured fields (" CONTAINER_ID=...").
        const auto start = dry.err.find('{', notify);
        const auto line = dry.err.substr(start, dry.err.find('\n', start) - start);
        auto n = parse_notification(line.substr(0, line.rfind('}') + 1));
        if (n)
            check_notification(*n,
                               {test_repo, c.tag(), "testhost", "core", true, reference},
                               std::chrono::system_clock::now() - process_timeout);
    }
    // Nothing made, pushed or sent; the dump is still in the container.
    CHECK_FALSE(registry_has(*p, c.tag()));
    CHECK(local_images_tagged(*p, c.tag()).empty());
    CHECK(rest.requests().empty());  // REST delivery completes before the exit
    CHECK(has_file(*p, c.name, "/tmp/core"));

    // A real run still handles it: the dry run remembered nothing.
    check_real_run_pushes(*p, kafka, rest, work / "state", c);
    remove_all_containers(*p);
}

TEST_CASE_FIXTURE(
    scene, "--dry-run while watching events: a crash is detected and logged, nothing committed")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    auto args = usual_args();
    args.insert(args.end(), {"--state-dir", (work / "state").string(), "--dry-run"});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail(60));

    const auto c = crashed_container(*p, "dryd");
    const std::string reference = p->registry.address() + "/" + test_repo + ":" + c.tag();
    REQUIRE_MESSAGE(wait_for_log(daemon, "dry run: would notify", notification_timeout),
                    "the dry run did not log the notification of ",
                    c.name);
    const auto log = daemon.log();
    CHECK(log.find("dry run: would commit container " + c.name) != std::string::npos);
    CHECK(log.find("dry run: would push " + reference) != std::string::npos);
    CHECK(log.find("\"tag\":\"" + c.tag() + "\"") != std::string::npos);

    stop_cleanly(daemon);

    CHECK_FALSE(registry_has(*p, c.tag()));
    CHECK(local_images_tagged(*p, c.tag()).empty());
    CHECK(rest.requests().empty());
    CHECK(kafka.messages().empty());
    CHECK(has_file(*p, c.name, "/tmp/core"));

    // The same state directory: a real run afterwards still handles the death.
    check_real_run_pushes(*p, kafka, rest, work / "state", c);
    remove_all_containers(*p);
}

}  // namespace
}  // namespace core_interceptor::integration
