// SPDX-License-Identifier: MIT
// The engine matrix (doctest suite `engines`, run against every engine of
// CORE_INTERCEPTOR_TEST_ENGINE by the meson suite of the same name): besides the end-to-end,
// registry-down and dockerd-killed cases tagged elsewhere, the engine stopped in order and
// started again in the middle of a burst.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"

#include <doctest/doctest.h>

#include <set>
#include <thread>

namespace core_interceptor::integration {
namespace {

using namespace std::chrono_literals;

constexpr auto quiet_period = 5s;

std::vector<std::string> with_ballast(const std::string& then)
{
    // 24 MiB of random bytes: commits and pushes take a while, so the engine stops while the
    // daemon is at work on them.
    return shell("dd if=/dev/urandom of=/tmp/ballast bs=1M count=24 2>/dev/null; " + then);
}

TEST_CASE_FIXTURE(scene,
                  "engines: the engine stopped (SIGTERM) and started in the middle of a burst: "
                  "every dump pushed and notified once, nothing for the rest" *
                      doctest::test_suite("engines"))
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    restore_dockerd_at_end();
    const auto tags_before = [&] {
        auto v = p->registry.tags(test_repo);
        return std::set<std::string>(v.begin(), v.end());
    }();

    auto& daemon = watch(fault_args());
    INFO("daemon log:\n", daemon.log_tail(60));

    // "still running" is stopped by the engine on its way down: a death without a dump.
    const std::vector<container_spec> specs{
        {"core", with_ballast("sh -c \"kill -SEGV \\$\\$\"; exit $?"), 139, "core"},
        {"decoy: clean exit", shell("echo fine"), 0, std::nullopt},
        {"hprof",
         with_ballast("printf 'JAVA PROFILE 1.0.2\\000\\000\\000\\000\\010' > /tmp/heap.hprof; "
                      "exit 3"),
         3,
         "hprof"},
        {"decoy: text core", shell("echo 'not a core dump' > /tmp/core; exit 1"), 1, std::nullopt},
        {"still running", shell("trap 'exit 1' TERM; sleep 120 & wait"), 1, std::nullopt},
    };
    std::vector<std::string> names;
    for (std::size_t i = 0; i < specs.size(); ++i)
        names.push_back(unique_name("eng-" + std::to_string(i)));
    const auto cs = start_containers_at_once(*p, specs, names, work.path());
    std::vector<container> dumping;
    std::set<std::string> dumping_ids, dumping_tags;
    std::vector<std::string> wait{"wait"};
    for (const auto& c : cs)
        if (c.spec.object) {
            dumping.push_back(c);
            dumping_ids.insert(c.id);
            dumping_tags.insert(c.tag());
            wait.push_back(c.name);
        }
    auto w = p->dockerd.docker(wait, 60s);
    REQUIRE_MESSAGE(w.ok(), "docker wait for the dumping containers: ", w.err);

    const auto before = rest_record(rest);
    p->dockerd.restart();
    MESSAGE("engine restarted with ",
            before.count.size(),
            " of ",
            dumping.size(),
            " notification(s) already on the REST sink");

    const auto waited =
        wait_all({{"registry",
                   [&] {
                       try {
                           const auto have = p->registry.tags(test_repo);
                           const std::set<std::string> s(have.begin(), have.end());
                           for (const auto& t : dumping_tags)
                               if (!s.count(t))
                                   return false;
                           return true;
                       } catch (const std::exception&) {
                           return false;
                       }
                   }},
                  {"Kafka", [&] { return sink_complete(kafka_record(kafka), dumping_ids, true); }},
                  {"REST", [&] { return sink_complete(rest_record(rest), dumping_ids, true); }}},
                 120s);
    std::this_thread::sleep_for(quiet_period);
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    CHECK_MESSAGE(waited.converged, "after the engine restart: ", waited.describe());
    check_sink("Kafka", k, dumping_ids, true);
    check_sink("REST", r, dumping_ids, true);

    std::set<std::string> new_tags;
    for (const auto& t : p->registry.tags(test_repo))
        if (!tags_before.count(t))
            new_tags.insert(t);
    CHECK(joined(new_tags) == joined(dumping_tags));
    for (const auto& c : cs) {
        INFO("container ", c.name, " (", c.spec.role, ") tag ", c.tag());
        std::vector<std::string> left;
        wait_until(
            [&] {
                left = local_images_tagged(*p, c.tag());
                return left.empty();
            },
            15s,
            250ms);
        CHECK_MESSAGE(left.empty(), "an image left on the node: ", left.empty() ? "" : left[0]);
    }

    stop_cleanly(daemon);
    for (const auto& c : cs)
        remove_local_images_tagged(*p, c.tag());
    remove_all_containers(*p);
}

}  // namespace
}  // namespace core_interceptor::integration
