// SPDX-License-Identifier: MIT
// Issue 5, filters: --include-label, --exclude-label, --include-image and the per-container
// opt-out label decide from the die event alone. The daemon talks to dockerd through a proxy
// that records every request line, so the test counts the Engine calls each container cost:
// none for a filtered one, exactly one (its changes) for a clean exit, whether or not it
// wrote a file.
#include "harness.hpp"
#include "scene.hpp"

#include "support/api_recorder.hpp"
#include "support/http_sink.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

constexpr const char* other_image = "otherimg:2.0";

std::vector<std::string> filter_args(shared_parts& p,
                                     const ts::api_recorder& proxy,
                                     const ts::http_sink& rest,
                                     const std::filesystem::path& state)
{
    auto a = daemon_args(p, "", rest.url());
    auto host = std::find(a.begin(), a.end(), "--docker-host");
    REQUIRE(host != a.end());
    *(host + 1) = proxy.host();
    a.insert(a.end(),
             {"--state-dir",
              state.string(),
              "--include-label",
              "team=core",
              "--exclude-label",
              "env=dev",
              "--include-image",
              "testimg*"});
    return a;
}

std::string lines(const std::vector<std::string>& v)
{
    std::string s;
    for (const auto& l : v)
        s += "\n  " + l;
    return s.empty() ? " (none)" : s;
}

container_spec crashing(std::string role,
                        std::vector<std::string> options,
                        std::string image = ts::private_dockerd::test_image)
{
    return {std::move(role),
            crash_with_core(),
            139,
            std::string("core"),
            std::move(options),
            std::move(image)};
}

TEST_CASE_FIXTURE(
    scene,
    "filters: a filtered container costs no Engine call, a clean exit one, the accepted "
    "crash is pushed; catch-up after a restart filters too")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    p->dockerd.build_test_image(other_image);

    ts::api_recorder proxy(work / "proxy.sock", p->dockerd.socket_path());
    const auto state = work / "state";

    std::vector<container_spec> specs{
        crashing("accepted: team=core", {"--label", "team=core"}),
        crashing("opted out: core_interceptor.skip=true",
                 {"--label", "team=core", "--label", "core_interceptor.skip=true"}),
        crashing("excluded: env=dev", {"--label", "team=core", "--label", "env=dev"}),
        crashing("not included: no team label", {}),
        crashing("not included: team=web", {"--label", "team=web"}),
        crashing("not included: image otherimg", {"--label", "team=core"}, other_image),
        {"clean exit that changed nothing",
         shell("exit 0"),
         0,
         std::nullopt,
         {"--label", "team=core"}},
        {"clean exit that wrote a file",
         shell("echo done > /tmp/out; exit 0"),
         0,
         std::nullopt,
         {"--label", "team=core"}},
    };
    std::vector<container> cs;
    {
        daemon_under_test daemon(work.path(), filter_args(*p, proxy, rest, state));
        INFO("daemon log:\n", daemon.log_tail(60));
        start_watching(daemon);
        for (const auto& s : specs)
            cs.push_back(start_container(*p, s, unique_name("flt")));
        wait_exited(*p, cs);

        const auto& accepted = cs[0];
        const auto& clean = cs.back();
        const bool got =
            wait_until([&] { return !rest_record(rest).ids_of(accepted.id).empty(); }, 60s, 250ms);
        // Every death has reached the daemon once the clean exit's changes were asked for.
        const bool clean_seen =
            wait_until([&] { return !proxy.requests_mentioning(clean.id).empty(); }, 30s, 100ms);
        std::this_thread::sleep_for(3s);  // room for any call that should not come
        CHECK_MESSAGE(got, "the accepted crash was not notified within 60 s");
        CHECK_MESSAGE(clean_seen, "the clean exit was never probed");

        const auto r = rest_record(rest);
        MESSAGE("REST ", describe(r));
        check_sink("REST", r, {accepted.id}, true, 1);
        const auto tags = p->registry.tags(test_repo);
        CHECK_MESSAGE(std::find(tags.begin(), tags.end(), accepted.tag()) != tags.end(),
                      "the accepted crash's image is not in the registry");

        for (std::size_t i = 1; i + 2 < cs.size(); ++i) {
            const auto& c = cs[i];
            INFO("container ", c.name, " (", c.spec.role, ")");
            const auto calls = proxy.requests_mentioning(c.id);
            CHECK_MESSAGE(calls.empty(), "a filtered container cost Engine calls:", lines(calls));
            CHECK_MESSAGE(has_file(*p, c.name, "/tmp/core"), "the scenario left no core");
            CHECK(std::find(tags.begin(), tags.end(), c.tag()) == tags.end());
            CHECK(r.ids_of(c.id).empty());
            CHECK_MESSAGE(daemon.log().find(c.id.substr(0, 12) + ") died; not handled") !=
                              std::string::npos,
                          "the log does not say why it was not handled");
        }
        for (const container* c :
             std::initializer_list<const container*>{&cs[cs.size() - 2], &clean}) {
            INFO("container ", c->name, " (", c->spec.role, ")");
            const auto calls = proxy.requests_mentioning(c->id);
            MESSAGE("Engine calls of the ", c->spec.role, ":", lines(calls));
            CHECK_MESSAGE(calls.size() == 1,
                          "a clean exit cost ",
                          calls.size(),
                          " Engine calls:",
                          lines(calls));
            if (!calls.empty())
                CHECK(calls.front().find("/changes") != std::string::npos);
        }
        const auto accepted_calls = proxy.requests_mentioning(accepted.id);
        MESSAGE("Engine calls of the accepted crash:", lines(accepted_calls));
        CHECK(std::any_of(accepted_calls.begin(), accepted_calls.end(), [](const std::string& l) {
            return l.find("POST /v1.") == 0 && l.find("/commit?") != std::string::npos;
        }));
        stop_cleanly(daemon);
        remove_local_images_tagged(*p, accepted.tag());
    }

    // While no daemon watches, one accepted and one opted-out container crash; the restarted
    // daemon catches up on the accepted one only.
    remove_all_containers(*p);
    const auto late_in = start_container(
        *p, crashing("caught up: team=core", {"--label", "team=core"}), unique_name("flt-late"));
    const auto late_out =
        start_container(*p,
                        crashing("caught up, opted out",
                                 {"--label", "team=core", "--label", "core_interceptor.skip=true"}),
                        unique_name("flt-late"));
    wait_exited(*p, {late_in, late_out});
    {
        daemon_under_test daemon(work.path(), filter_args(*p, proxy, rest, state));
        INFO("daemon log:\n", daemon.log_tail(60));
        start_watching(daemon);
        const bool got =
            wait_until([&] { return !rest_record(rest).ids_of(late_in.id).empty(); }, 60s, 250ms);
        CHECK_MESSAGE(got, "the crash while no one watched was not caught up within 60 s");
        const bool logged = wait_for_log(daemon, "catch-up: 1 container", 30s);
        CHECK_MESSAGE(logged, "catch-up did not report exactly one container");
        std::this_thread::sleep_for(2s);
        const auto r = rest_record(rest);
        CHECK(r.ids_of(late_out.id).empty());
        const auto tags = p->registry.tags(test_repo);
        CHECK(std::find(tags.begin(), tags.end(), late_out.tag()) == tags.end());
        // Catch-up reads its labels with one inspect; it is never committed.
        for (const auto& call : proxy.requests_mentioning(late_out.id))
            CHECK_MESSAGE(call.find("/commit") == std::string::npos, "committed: ", call);
        stop_cleanly(daemon);
        remove_local_images_tagged(*p, late_in.tag());
    }
    remove_all_containers(*p);
}

TEST_CASE_FIXTURE(scene, "filters: the opt-out label is seen when 300 labels sort before it")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    ts::api_recorder proxy(work / "proxy.sock", p->dockerd.socket_path());
    // The Engine sends the attributes sorted by key: "aa.*" before "core_interceptor.skip".
    std::vector<std::string> many;
    for (int i = 0; i < 300; ++i)
        many.insert(many.end(), {"--label", "aa.label." + std::to_string(1000 + i) + "=v"});
    auto opted_out = many;
    opted_out.insert(opted_out.end(), {"--label", "core_interceptor.skip=true"});

    daemon_under_test daemon(work.path(), filter_args(*p, proxy, rest, work / "state"));
    INFO("daemon log:\n", daemon.log_tail(60));
    start_watching(daemon);
    opted_out.insert(opted_out.end(), {"--label", "team=core"});
    many.insert(many.end(), {"--label", "team=core"});
    const auto out = start_container(
        *p, crashing("opted out after 300 labels", opted_out), unique_name("flt-many"));
    wait_exited(*p, {out});
    const auto in =
        start_container(*p, crashing("accepted with 300 labels", many), unique_name("flt-many"));
    wait_exited(*p, {in});

    const bool got =
        wait_until([&] { return !rest_record(rest).ids_of(in.id).empty(); }, 60s, 250ms);
    CHECK_MESSAGE(got, "the accepted crash with 300 labels was not notified within 60 s");
    std::this_thread::sleep_for(2s);
    const auto r = rest_record(rest);
    CHECK(r.ids_of(out.id).empty());
    const auto calls = proxy.requests_mentioning(out.id);
    CHECK_MESSAGE(calls.empty(), "the opted-out container cost Engine calls:", lines(calls));
    const auto tags = p->registry.tags(test_repo);
    CHECK(std::find(tags.begin(), tags.end(), out.tag()) == tags.end());
    CHECK(std::find(tags.begin(), tags.end(), in.tag()) != tags.end());
    CHECK(daemon.log().find(out.id.substr(0, 12) + ") died; not handled") != std::string::npos);
    stop_cleanly(daemon);
    remove_local_images_tagged(*p, in.tag());
    remove_all_containers(*p);
}

}  // namespace
}  // namespace core_interceptor::integration
