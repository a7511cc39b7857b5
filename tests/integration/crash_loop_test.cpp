// SPDX-License-Identifier: MIT
// Issue 3, crash loops: a container with a restart policy dies again and again. A dump already
// reported (same path, size, mtime) is not reported again; every new one is, up to
// --max-per-container per hour, and the limit is logged.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <sstream>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

// After the last death, time for the daemon to handle it (and say nothing more).
constexpr auto settle = 8s;

// Waits until the container has stopped for good after `restarts` restarts.
void wait_stopped_after(shared_parts& p, const container& c, int restarts, int last_exit_code)
{
    std::string state;
    const auto want = "exited " + std::to_string(restarts) + " " + std::to_string(last_exit_code);
    const bool done = wait_until(
        [&] {
            state = inspect(p, c.name, "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}")
                        .value_or("<gone>");
            return state == want;
        },
        90s,
        250ms);
    REQUIRE_MESSAGE(done,
                    c.name,
                    ": expected '",
                    want,
                    "' (status, restarts, exit code), got '",
                    state,
                    "' after 90 s");
}

TEST_CASE_FIXTURE(
    scene, "crash loop: crashed once, then a clean exit on restart: exactly one notification")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    auto& daemon = watch(fault_args());
    INFO("daemon log:\n", daemon.log_tail(60));

    // First run: leaves a marker and dies of SIGSEGV (core in /tmp); second run: exits 0.
    container_spec spec{"crash once",
                        shell("if [ -e /tmp/ran ]; then exit 0; fi; touch /tmp/ran; "
                              "sh -c \"kill -SEGV \\$\\$\"; exit $?"),
                        0,
                        "core",
                        {"--restart", "on-failure"}};
    const auto c = start_container(*p, spec, unique_name("cl1"));
    wait_stopped_after(*p, c, 1, 0);
    REQUIRE_MESSAGE(has_file(*p, c.name, "/tmp/core"), "the first run left no /tmp/core");

    const std::set<std::string> expected{c.id};
    const bool got = wait_until(
        [&] {
            return sink_complete(kafka_record(kafka), expected, true) &&
                   sink_complete(rest_record(rest), expected, true);
        },
        60s,
        500ms);
    std::this_thread::sleep_for(settle);
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    MESSAGE("Kafka ", describe(k), "; REST ", describe(r));
    CHECK_MESSAGE(got, "no pushed notification on both sinks within 60 s");
    check_sink("Kafka", k, expected, true, 1);
    check_sink("REST", r, expected, true, 1);
    const auto tags = p->registry.tags(test_repo);
    CHECK_MESSAGE(std::find(tags.begin(), tags.end(), c.tag()) != tags.end(),
                  "tag ",
                  c.tag(),
                  " is not in the registry");

    stop_cleanly(daemon);
    remove_local_images_tagged(*p, c.tag());
    remove_all_containers(*p);
}

TEST_CASE_FIXTURE(scene,
                  "crash loop: four crashes, each with a fresh core, --max-per-container 2: two "
                  "notifications and a warning")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    auto args = fault_args();
    args.insert(args.end(), {"--max-per-container", "2"});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail(60));

    // Every run lives 3 s, then crashes: the kernel replaces /tmp/core with a fresh one (a new
    // mtime), and the daemon has time to look at each death's dump before the next one.
    container_spec spec{"crash loop",
                        shell("sleep 3; sh -c \"kill -SEGV \\$\\$\"; exit $?"),
                        139,
                        "core",
                        {"--restart", "on-failure:3"}};
    const auto c = start_container(*p, spec, unique_name("cl2"));
    wait_stopped_after(*p, c, 3, 139);
    REQUIRE_MESSAGE(has_file(*p, c.name, "/tmp/core"), "the crashes left no /tmp/core");

    const std::set<std::string> expected{c.id};
    auto two_each = [&] {
        return kafka_record(kafka).ids_of(c.id).size() >= 2 &&
               rest_record(rest).ids_of(c.id).size() >= 2;
    };
    const bool got = wait_until(two_each, 60s, 500ms);
    const bool warned = wait_for_log(daemon, "max-per-container", 30s);
    std::this_thread::sleep_for(settle);
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    MESSAGE("Kafka ", describe(k), "; REST ", describe(r));
    CHECK_MESSAGE(got, "not two notifications on both sinks within 60 s");
    check_sink("Kafka", k, expected, true, 2);
    check_sink("REST", r, expected, true, 2);
    CHECK_MESSAGE(warned, "no log line mentions max-per-container");
    if (warned) {
        std::istringstream in(daemon.log());
        for (std::string line; std::getline(in, line);)
            if (contains_nocase(line, "max-per-container")) {
                MESSAGE("the rate-limit warning: ", line);
                CHECK_MESSAGE((line.find(c.name) != std::string::npos ||
                               line.find(c.tag()) != std::string::npos),
                              "the warning does not name the container: ",
                              line);
                break;
            }
    }
    const auto tags = p->registry.tags(test_repo);
    CHECK_MESSAGE(std::find(tags.begin(), tags.end(), c.tag()) != tags.end(),
                  "tag ",
                  c.tag(),
                  " is not in the registry");

    stop_cleanly(daemon);
    remove_local_images_tagged(*p, c.tag());
    remove_all_containers(*p);
}

}  // namespace
}  // namespace core_interceptor::integration
