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

TEST_CASE_FIXTURE(scene,
                  "engines: the engine stopped (SIGTERM) and started in the middle of a burst: "
                  "every dump pushed and notified once, nothing for the rest" *
                      doctest::test_suite("engines"))
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    restore_dockerd_at_end();
    const auto tags_before = registry_tags(*p, test_repo);

    auto& daemon = watch(fault_args());
    INFO("daemon log:\n", daemon.log_tail(60));

    // The dumping ones leave 24 MiB of random bytes (`ballast_core`, `ballast_hprof`): the
    // engine stops while the daemon is at work on them.
    // "still running" is stopped by the engine on its way down: a death without a dump.
    const std::vector<container_spec> specs{
        ballast_core("core"),
        {"decoy: clean exit", shell("echo fine"), 0, std::nullopt},
        ballast_hprof("hprof", "/tmp/heap.hprof"),
        {"decoy: text core", shell("echo 'not a core dump' > /tmp/core; exit 1"), 1, std::nullopt},
        {"still running", shell("trap 'exit 1' TERM; sleep 120 & wait"), 1, std::nullopt},
    };
    const auto cs = start_burst(*p, specs, "eng", work.path());
    const auto dumping = dumping_of(cs);
    const auto dumping_ids = ids_of(dumping);
    const auto dumping_tags = tags_of(dumping);
    wait_dumping(*p, dumping);

    const auto before = rest_record(rest);
    p->dockerd.restart();
    MESSAGE("engine restarted with ",
            before.count.size(),
            " of ",
            dumping.size(),
            " notification(s) already on the REST sink");

    const auto waited = wait_delivered(dumping);
    std::this_thread::sleep_for(quiet_period);
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    CHECK_MESSAGE(waited.converged, "after the engine restart: ", waited.describe());
    check_sink("Kafka", k, dumping_ids, true);
    check_sink("REST", r, dumping_ids, true);

    CHECK(joined(new_tags(*p, test_repo, tags_before)) == joined(dumping_tags));
    check_deleted_locally(*p, cs, "an image left on the node: ");

    stop_cleanly(daemon);
    clean_up(*p, cs);
}

}  // namespace
}  // namespace core_interceptor::integration
