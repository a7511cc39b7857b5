// SPDX-License-Identifier: MIT
// Issue 3, "nothing lost": faults injected into the real parts (dockerd killed, registry
// stopped, Kafka broker down, REST sink failing, the daemon itself killed) never lose a dump
// nor a notification; hostile configuration ends in a clear error, never a crash.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;
namespace fs = std::filesystem;

using namespace std::chrono_literals;

// After the expected notifications, nothing else may come for a while.
constexpr auto quiet_period = 5s;

// --- dockerd killed in the middle of a burst ----------------------------------------------------

TEST_CASE_FIXTURE(
    scene,
    "faults: kill -9 of dockerd in the middle of a burst: every dump is still pushed and "
    "notified" *
        doctest::test_suite("engines"))
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    restore_dockerd_at_end();

    const auto tags_before = registry_tags(*p, test_repo);

    auto& daemon = watch(fault_args());
    // (short: what failed is printed before it, and a long tail pushes that out of CI's view)
    INFO("daemon log:\n", daemon.log_tail(25));

    // A burst, all started at once: dumping containers and decoys; one decoy still runs when
    // dockerd dies. The dumping ones also leave 24 MiB of random bytes, so that commits and
    // pushes take a while: dockerd dies while the daemon is at work on them.
    const std::vector<container_spec> specs{
        ballast_core("core 1"),
        {"decoy: clean exit", shell("echo fine"), 0, std::nullopt},
        ballast_hprof("hprof 1", "/tmp/heap.hprof"),
        {"decoy: core.js", shell("echo 'x' > /tmp/core.js; exit 1"), 1, std::nullopt},
        ballast_core("core 2"),
        {"decoy: still running", shell("sleep 4; exit 1"), 1, std::nullopt},
        ballast_hprof("hprof 2", "/tmp/java_pid7.hprof"),
        {"decoy: empty core", shell(": > /tmp/core; exit 1"), 1, std::nullopt},
    };
    const auto cs = start_burst(*p, specs, "f1", work.path());
    const auto dumping = dumping_of(cs);
    // The dumps are written once the dumping containers have exited: then dockerd dies.
    wait_dumping(*p, dumping);
    const auto before_kill = rest_record(rest);
    p->dockerd.kill9();
    MESSAGE("dockerd killed with ",
            before_kill.count.size(),
            " of ",
            dumping.size(),
            " notification(s) already on the REST sink");
    if (before_kill.count.size() == dumping.size())
        MESSAGE("NOTE: the daemon had finished before dockerd was killed; this run shows "
                "less than it could");
    std::this_thread::sleep_for(1s);
    p->dockerd.restart();

    // Whatever state the containers came back in, the dumps are in their writable layers.
    wait_until(
        [&] {
            for (const auto& c : cs)
                if (inspect(*p, c.name, "{{.State.Running}}").value_or("false") == "true")
                    return false;
            return true;
        },
        30s,
        250ms);
    const std::map<std::string, std::string> dump_path{{"core 1", "/tmp/core"},
                                                       {"core 2", "/tmp/core"},
                                                       {"hprof 1", "/tmp/heap.hprof"},
                                                       {"hprof 2", "/tmp/java_pid7.hprof"}};
    for (const auto& c : dumping) {
        const auto& path = dump_path.at(c.spec.role);
        // (docker diff right after the Engine's restart may not see the layer yet: asked again)
        REQUIRE_MESSAGE(wait_until([&] { return has_file(*p, c.name, path); }, 30s, 500ms),
                        c.name,
                        " (",
                        c.spec.role,
                        ") holds no ",
                        path,
                        " after the dockerd restart");
    }

    const auto expected = ids_of(dumping);
    const auto waited = wait_delivered(dumping);
    const bool converged = waited.converged;
    std::this_thread::sleep_for(quiet_period);
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    MESSAGE("after the dockerd restart: ",
            waited.describe(),
            "; Kafka ",
            describe(k),
            "; REST ",
            describe(r));
    CHECK_MESSAGE(converged,
                  "not every dump was pushed and notified within 120 s of the "
                  "dockerd restart");
    check_sink("Kafka", k, expected, true);
    check_sink("REST", r, expected, true);
    const auto pushed = joined(new_tags(*p, test_repo, tags_before));
    CHECK_MESSAGE(pushed == joined(tags_of(dumping)),
                  "new tags in the registry: ",
                  pushed,
                  "; expected ",
                  joined(tags_of(dumping)));
    check_deleted_locally(*p, dumping);
    for (const auto& c : cs)
        if (!c.spec.object) {
            INFO("decoy ", c.name, " (", c.spec.role, ")");
            CHECK(local_images_tagged(*p, c.tag()).empty());
        }

    stop_cleanly(daemon);
    clean_up(*p, cs);
}

// --- registry down, then up ---------------------------------------------------------------------

TEST_CASE_FIXTURE(
    scene,
    "faults: registry stopped then started: the push completes later, nothing deleted "
    "before it is pushed")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    restore_registry_at_end();

    p->registry.stop();

    auto args = fault_args();
    args.insert(args.end(), {"--push-retry-window", "120"});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail(60));

    const auto c = start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("f2"));
    wait_exited(*p, {c});

    // Committed and kept while the registry is away; nothing announced as pushed.
    std::vector<std::string> local;
    const bool committed = wait_until(
        [&] {
            local = local_images_tagged(*p, c.tag());
            return !local.empty();
        },
        30s,
        250ms);
    CHECK_MESSAGE(committed, "no committed image with tag ", c.tag(), " on the node within 30 s");
    std::this_thread::sleep_for(5s);  // a few failed attempts
    CHECK_MESSAGE(!local_images_tagged(*p, c.tag()).empty(),
                  "the image left the node while the registry was down");
    {
        const auto k = kafka_record(kafka);
        const auto r = rest_record(rest);
        INFO("Kafka ", describe(k), "; REST ", describe(r));
        CHECK_MESSAGE(k.pushed.empty(), "Kafka: \"pushed\": true while the registry is down");
        CHECK_MESSAGE(r.pushed.empty(), "REST: \"pushed\": true while the registry is down");
        if (k.total + r.total > 0)
            MESSAGE("notified during the outage: Kafka ", describe(k), "; REST ", describe(r));
    }

    p->registry.start();
    const std::set<std::string> expected{c.id};
    const auto waited =
        wait_all({{"registry", [&] { return registry_has_all(*p, test_repo, {c.tag()}); }},
                  {"Kafka", [&] { return sink_complete(kafka_record(kafka), expected, true); }},
                  {"REST", [&] { return sink_complete(rest_record(rest), expected, true); }}},
                 60s);
    const bool converged = waited.converged;
    std::this_thread::sleep_for(quiet_period);
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    MESSAGE("after the registry came back: ",
            waited.describe(),
            "; Kafka ",
            describe(k),
            "; REST ",
            describe(r));
    CHECK_MESSAGE(converged, "the push did not complete within 60 s of the registry's return");
    check_sink("Kafka", k, expected, true);
    check_sink("REST", r, expected, true);
    check_deleted_locally(*p, {c});

    stop_cleanly(daemon);
    clean_up(*p, {c});
}

// --- Kafka broker down and REST failing, then healthy -------------------------------------------

TEST_CASE_FIXTURE(
    scene,
    "faults: Kafka broker down and REST answering 500, then healthy: every id arrives on "
    "each sink")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    rest.fail_next(3, 500);

    auto& daemon = watch(fault_args());
    INFO("daemon log:\n", daemon.log_tail(60));
    kafka.set_down();

    std::vector<container> cs{
        start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("f3a")),
        start_container(
            *p, {"hprof", write_hprof("/tmp/heap.hprof", 3), 3, "hprof"}, unique_name("f3b")),
        start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("f3c")),
    };
    wait_exited(*p, cs);

    // Long enough for Kafka deliveries to time out (message.timeout.ms=3000) into the spool.
    std::this_thread::sleep_for(10s);
    {
        const auto k = kafka_record(kafka);
        MESSAGE("while the broker was down: Kafka ",
                describe(k),
                "; REST ",
                describe(rest_record(rest)));
    }
    kafka.set_up();

    const auto expected = ids_of(cs);
    const auto waited =
        wait_all({{"Kafka", [&] { return sink_complete(kafka_record(kafka), expected, false); }},
                  {"REST", [&] { return sink_complete(rest_record(rest), expected, false); }}},
                 90s);
    const bool converged = waited.converged;
    std::this_thread::sleep_for(quiet_period);
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    std::size_t rest_failures = 0;
    for (const auto& q : rest.requests())
        rest_failures += q.status == 500 ? 1 : 0;
    MESSAGE("after the broker came back: ",
            waited.describe(),
            "; Kafka ",
            describe(k),
            "; REST ",
            describe(r),
            "; REST answered 500 ",
            rest_failures,
            " time(s); duplicates: Kafka ",
            k.duplicates(),
            ", REST ",
            r.duplicates());
    CHECK_MESSAGE(converged, "not every id arrived on both sinks within 90 s");
    CHECK_MESSAGE(rest_failures == 3,
                  "the REST sink should have failed 3 requests (were there "
                  "fewer attempts?)");
    check_sink("Kafka", k, expected, true);
    check_sink("REST", r, expected, true);
    // SPEC §5: the same body on every sink, per id.
    for (const auto& [id, body] : k.last)
        if (r.last.count(id)) {
            CHECK(string_field(body, "tag") == string_field(r.last.at(id), "tag"));
            CHECK(string_field(body, "object") == string_field(r.last.at(id), "object"));
        }
    for (const auto& c : cs) {
        for (const auto& id : k.ids_of(c.id))
            CHECK_MESSAGE(string_field(k.last.at(id), "object") == *c.spec.object, "id ", id);
    }

    stop_cleanly(daemon);
    clean_up(*p, cs);
}

// --- the daemon itself killed mid-push ----------------------------------------------------------

TEST_CASE_FIXTURE(
    scene,
    "faults: kill -9 of core_interceptor mid-push, then a restart: the work resumes and "
    "completes")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    restore_registry_at_end();

    fs::create_directories(work / "run1");
    fs::create_directories(work / "run2");
    p->registry.stop();  // the push can only retry: the daemon is mid-push when it dies

    auto args = fault_args();
    args.insert(args.end(), {"--push-retry-window", "120"});
    container c;
    std::string first_log;
    {
        daemon_under_test first(work / "run1", args);
        INFO("first daemon's log:\n", first.log_tail(60));
        start_watching(first);
        c = start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("f4"));
        wait_exited(*p, {c});
        const bool committed =
            wait_until([&] { return !local_images_tagged(*p, c.tag()).empty(); }, 30s, 250ms);
        CHECK_MESSAGE(committed, "no committed image with tag ", c.tag(), " within 30 s");
        std::this_thread::sleep_for(3s);  // retrying the push
        CHECK(kafka_record(kafka).pushed.empty());
        CHECK(rest_record(rest).pushed.empty());
        first.proc().signal(SIGKILL);
        auto st = first.proc().wait_for(10s);
        REQUIRE(st.has_value());
        CHECK(st->describe().rfind("signal 9", 0) == 0);
        first_log = first.log();
    }
    CHECK_MESSAGE(!local_images_tagged(*p, c.tag()).empty(),
                  "the committed image is gone though it was never pushed");

    p->registry.start();
    daemon_under_test second(work / "run2", args);
    INFO("second daemon's log:\n", second.log_tail(60));
    start_watching(second);

    const std::set<std::string> expected{c.id};
    const auto waited =
        wait_all({{"registry", [&] { return registry_has_all(*p, test_repo, {c.tag()}); }},
                  {"Kafka", [&] { return sink_complete(kafka_record(kafka), expected, true); }},
                  {"REST", [&] { return sink_complete(rest_record(rest), expected, true); }}},
                 90s);
    const bool converged = waited.converged;
    std::this_thread::sleep_for(quiet_period);
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    MESSAGE(
        "after the restart: ", waited.describe(), "; Kafka ", describe(k), "; REST ", describe(r));
    INFO("first daemon's log (killed):\n", ts::tail_lines(first_log, 30));
    CHECK_MESSAGE(converged, "the restarted daemon did not finish the work within 90 s");
    check_sink("Kafka", k, expected, true);
    check_sink("REST", r, expected, true);
    check_deleted_locally(*p, {c});

    stop_cleanly(second);
    clean_up(*p, {c});
}

// --- a push that fails for good is retried later ------------------------------------------------

TEST_CASE_FIXTURE(
    scene,
    "faults: a push failing past its window says pushed false, keeps the image, and is "
    "retried later")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    restore_registry_at_end();

    p->registry.stop();

    auto args = fault_args();
    args.insert(args.end(), {"--push-retry-window", "3"});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail(60));

    const auto c = start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("f5"));
    wait_exited(*p, {c});
    const std::set<std::string> expected{c.id};

    // The window is over: "pushed": false on both sinks, the image still on the node.
    const auto announced =
        wait_all({{"Kafka", [&] { return sink_complete(kafka_record(kafka), expected, false); }},
                  {"REST", [&] { return sink_complete(rest_record(rest), expected, false); }}},
                 45s);
    CHECK_MESSAGE(announced.converged, "no notification within 45 s: ", announced.describe());
    CHECK(kafka_record(kafka).pushed.empty());
    CHECK(rest_record(rest).pushed.empty());
    CHECK_MESSAGE(!local_images_tagged(*p, c.tag()).empty(),
                  "the image is not on the node after a failed push");

    // The registry is back: the image is pushed after all, then deleted from the node.
    p->registry.start();
    const auto pushed =
        wait_all({{"registry", [&] { return registry_has_all(*p, test_repo, {c.tag()}); }}}, 90s);
    CHECK_MESSAGE(pushed.converged,
                  "the image was not pushed within 90 s of the registry's "
                  "return");
    if (pushed.converged)
        check_deleted_locally(*p, {c});
    std::this_thread::sleep_for(quiet_period);
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    MESSAGE("pushed later: ",
            pushed.describe(),
            "; Kafka ",
            describe(k),
            "; REST ",
            describe(r),
            "; a follow-up with \"pushed\": true: Kafka ",
            k.pushed.size(),
            ", REST ",
            r.pushed.size());
    check_sink("Kafka", k, expected, false);
    check_sink("REST", r, expected, false);

    stop_cleanly(daemon);
    clean_up(*p, {c});
}

// --- spooled notifications survive a restart ----------------------------------------------------

TEST_CASE_FIXTURE(scene,
                  "faults: a notification spooled while Kafka is down is delivered after a daemon "
                  "restart")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    fs::create_directories(work / "run1");
    fs::create_directories(work / "run2");
    const auto args = fault_args();

    container c;
    {
        daemon_under_test first(work / "run1", args);
        INFO("first daemon's log:\n", first.log_tail(60));
        start_watching(first);
        kafka.set_down();
        c = start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("f6"));
        wait_exited(*p, {c});
        const bool on_rest =
            wait_until([&] { return sink_complete(rest_record(rest), {c.id}, true); }, 45s);
        CHECK_MESSAGE(on_rest, "no REST notification within 45 s");
        std::this_thread::sleep_for(5s);  // the Kafka message times out (3 s) into the spool
        CHECK(kafka.messages().empty());
        stop_cleanly(first);
    }
    kafka.set_up();

    daemon_under_test second(work / "run2", args);
    INFO("second daemon's log:\n", second.log_tail(60));
    start_watching(second);
    const auto waited = wait_all(
        {{"Kafka", [&] { return sink_complete(kafka_record(kafka), {c.id}, true); }}}, 45s);
    std::this_thread::sleep_for(quiet_period);
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    MESSAGE(
        "after the restart: ", waited.describe(), "; Kafka ", describe(k), "; REST ", describe(r));
    CHECK_MESSAGE(waited.converged,
                  "the spooled notification was not delivered within 45 s of "
                  "the restart");
    check_sink("Kafka", k, {c.id}, true);
    check_sink("REST", r, {c.id}, true);

    stop_cleanly(second);
    clean_up(*p, {c});
}

// --- a --rm container ---------------------------------------------------------------------------

TEST_CASE_FIXTURE(
    scene, "faults: a --rm container that dies with a core: a warning naming it, no notification")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    auto& daemon = watch(fault_args());
    INFO("daemon log:\n", daemon.log_tail(60));

    container_spec spec{"--rm core", crash_with_core(), 139, "core", {"--rm"}};
    const auto c = start_container(*p, spec, unique_name("f7"));
    const bool removed = wait_until([&] { return !inspect(*p, c.name, "{{.Id}}"); }, 30s);
    CHECK_MESSAGE(removed, "the --rm container was not removed within 30 s");

    // The warning: one line naming the container (name or ID) and its image.
    std::string line_found;
    auto find_line = [&] {
        std::istringstream in(daemon.log());
        for (std::string line; std::getline(in, line);) {
            const bool names_it =
                line.find(c.name) != std::string::npos || line.find(c.tag()) != std::string::npos;
            const bool says_why =
                line.find("--rm") != std::string::npos || contains_nocase(line, "removed");
            if (names_it && says_why) {
                line_found = line;
                return true;
            }
        }
        return false;
    };
    const bool warned = wait_until(find_line, 30s);
    CHECK_MESSAGE(warned,
                  "no log line names the --rm container ",
                  c.name,
                  " (",
                  c.tag(),
                  ") and says it was removed / --rm");
    if (warned) {
        MESSAGE("the --rm warning: ", line_found);
        CHECK_MESSAGE(line_found.find("testimg") != std::string::npos,
                      "the warning does not name the image testimg:1.0: ",
                      line_found);
        CHECK_MESSAGE((contains_nocase(line_found, "warn") || contains_nocase(line_found, "error")),
                      "not a warning: ",
                      line_found);
    }
    std::this_thread::sleep_for(3s);
    CHECK_MESSAGE(kafka.messages().empty(), "a Kafka notification for a --rm container");
    CHECK_MESSAGE(rest.requests().empty(), "a REST notification for a --rm container");
    CHECK(daemon.running());

    stop_cleanly(daemon);
    clean_up(*p, {c});
}

// --- malformed configuration, unreadable credentials, an unreachable socket ---------------------

// These do not talk to Docker; the host is one where nothing listens, in case they tried.
const std::vector<std::pair<std::string, std::string>> no_docker{
    {"DOCKER_HOST", "unix:///nonexistent/core_interceptor-test/docker.sock"}};

std::vector<std::string> non_empty_lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.find_first_not_of(" \t\r") != std::string::npos)
            out.push_back(line);
    return out;
}

TEST_CASE("faults: a config file with a bad value exits 2 with one line naming it")
{
    const auto bin = daemon_binary();
    ts::temp_dir work("ci-f8-");
    struct bad_case {
        std::string line;
        std::string names;
    };
    const bad_case cases[] = {
        {"max-concurrency = many", "max-concurrency"},
        {"retry-max-backoff = soon", "retry-max-backoff"},
        {"max-per-container = -5", "max-per-container"},
        {"catch-up-since = yesterday", "catch-up-since"},
        {"push-retry-window = 1e99", "push-retry-window"},
    };
    int n = 0;
    for (const auto& c : cases) {
        const auto file = work / ("bad" + std::to_string(n++) + ".conf");
        std::ofstream(file) << "# core_interceptor\nhostname = testhost\n" << c.line << "\n";
        ::chmod(file.c_str(), 0600);  // a configuration readable by others is refused
        auto r = ts::run(
            {bin.string(), "--config", file.string(), "--state-dir", (work / "state").string()},
            10s,
            no_docker);
        INFO("config line: ", c.line, "\nstderr: ", r.err, "\nstdout: ", r.out);
        REQUIRE_FALSE(r.timed_out);
        CHECK(r.status.describe() == "exit 2");
        CHECK(non_empty_lines(r.err).size() == 1);
        CHECK(r.err.find(c.names) != std::string::npos);
    }
}

TEST_CASE("faults: a registry credentials file readable by others is refused (exit 2)")
{
    const auto bin = daemon_binary();
    ts::temp_dir work("ci-f8a-");
    const auto auth = work / "auth.json";
    const std::string secret = "s3cret-Passw0rd-not-for-logs";
    std::ofstream(auth) << R"({"username": "ci", "password": ")" << secret << "\"}\n";
    REQUIRE(::chmod(auth.c_str(), 0644) == 0);

    auto r = ts::run({bin.string(),
                      "--registry",
                      "127.0.0.1:5999",
                      "--registry-auth",
                      auth.string(),
                      "--state-dir",
                      (work / "state").string()},
                     10s,
                     no_docker);
    INFO("stderr: ", r.err, "\nstdout: ", r.out);
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.status.describe() == "exit 2");
    CHECK(non_empty_lines(r.err).size() == 1);
    CHECK(r.err.find("registry-auth") != std::string::npos);
    CHECK_MESSAGE((r.out + r.err).find(secret) == std::string::npos,
                  "the password appears in the output");
}

TEST_CASE("faults: an unreachable Docker socket is a clear logged error, the daemon keeps "
          "running and stops cleanly")
{
    const auto bin = daemon_binary();
    ts::temp_dir work("ci-f8b-");
    ts::http_sink rest;
    daemon_under_test daemon(work.path(),
                             {"--docker-host",
                              "unix:///nonexistent.sock",
                              "--state-dir",
                              (work / "state").string(),
                              "--rest-url",
                              rest.url(),
                              "--hostname",
                              "testhost",
                              "--retry-max-backoff",
                              "1"});
    INFO("daemon log:\n", daemon.log_tail());
    const bool said = wait_for_log(daemon, "/nonexistent.sock", 15s);
    CHECK_MESSAGE(said, "the log does not name the socket /nonexistent.sock within 15 s");
    if (said) {
        std::string line;
        std::istringstream in(daemon.log());
        for (std::string l; std::getline(in, l);)
            if (l.find("/nonexistent.sock") != std::string::npos) {
                line = l;
                break;
            }
        MESSAGE("the line: ", line);
        CHECK_MESSAGE((contains_nocase(line, "warn") || contains_nocase(line, "error")),
                      "not logged as a warning or an error: ",
                      line);
    }
    std::this_thread::sleep_for(2s);
    REQUIRE_MESSAGE(daemon.running(),
                    "the daemon exited (",
                    daemon.proc().status() ? daemon.proc().status()->describe() : "?",
                    ") instead of waiting for the Docker daemon");
    CHECK(rest.requests().empty());
    stop_cleanly(daemon);
}

}  // namespace
}  // namespace core_interceptor::integration
