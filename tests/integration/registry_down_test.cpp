// SPDX-License-Identifier: MIT
// A push that fails for good leaves the committed image on the node and says "pushed": false.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <iostream>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

// Brings the shared registry back for the test cases that follow, however this one ends.
struct registry_outage {
    ts::registry& r;
    explicit registry_outage(ts::registry& reg) : r(reg) { r.stop(); }
    registry_outage(const registry_outage&) = delete;
    registry_outage& operator=(const registry_outage&) = delete;
    ~registry_outage()
    {
        try {
            r.start();
        } catch (const std::exception& e) {
            std::clog << "cannot restart the registry: " << e.what() << '\n';
        }
    }
};

TEST_CASE_FIXTURE(
    scene,
    "registry down: the image stays on the node and the notification says pushed false" *
        doctest::test_suite("engines"))
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    const auto started = std::chrono::system_clock::now();

    registry_outage outage(p->registry);

    auto args = usual_args();
    // No retries: the failure is announced at once (SPEC §5 retries within a window).
    args.insert(args.end(), {"--push-retry-window", "0"});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail());

    const auto c =
        start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("down"));
    wait_exited(*p, {c});

    const bool kafka_got = kafka.wait_for(1, 60s);
    const bool rest_got = rest.wait_for(1, 60s);
    std::this_thread::sleep_for(3s);  // nothing more may come
    REQUIRE_MESSAGE(kafka_got, "no Kafka notification within 60 s");
    REQUIRE_MESSAGE(rest_got, "no REST notification within 60 s");
    const auto messages = kafka.messages();
    const auto requests = rest.requests();
    CHECK(messages.size() == 1);
    CHECK(requests.size() == 1);

    const expected_notification want{test_repo, c.tag(), "testhost", "core", false, ""};
    CHECK(messages.front().key == std::string(test_repo) + ":" + c.tag());
    if (auto n = parse_notification(messages.front().value))
        check_notification(*n, want, started);
    CHECK(requests.front().method == "POST");
    if (auto n = parse_notification(requests.front().body))
        check_notification(*n, want, started);

    // The evidence stays on the node: the committed image, under the name it was to be pushed
    // as (SPEC §3) or its local IMAGE_NAME:TAG.
    const auto local = local_images_tagged(*p, c.tag());
    const auto pushed_ref = p->registry.address() + "/" + test_repo + ":" + c.tag();
    const auto local_ref = std::string(test_repo) + ":" + c.tag();
    bool kept = false;
    for (const auto& ref : local)
        kept = kept || ref == pushed_ref || ref == local_ref;
    CHECK_MESSAGE(kept,
                  "no local image ",
                  pushed_ref,
                  " (nor ",
                  local_ref,
                  ") on the node; ",
                  local.size(),
                  " image(s) with tag ",
                  c.tag());

    REQUIRE(daemon.running());
    daemon.proc().signal(SIGTERM);
    auto st = daemon.proc().wait_for(5s);
    REQUIRE_MESSAGE(st.has_value(), "the daemon did not exit within 5 s of SIGTERM");
    CHECK(st->describe() == "exit 0");

    for (const auto& ref : local)
        p->dockerd.docker({"rmi", "-f", ref}, 60s);
    remove_all_containers(*p);
}

}  // namespace
}  // namespace core_interceptor::integration
