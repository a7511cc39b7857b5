// SPDX-License-Identifier: MIT
// SIGTERM/SIGINT end the daemon cleanly: exit status 0, promptly, no process left behind.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/value.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

// SPEC §2: exit 0 after a clean shutdown; the brief of a systemd stop is a few seconds.
constexpr auto shutdown_limit = 5s;

// Processes left in the daemon's own process group after it is gone: orphans it forked.
std::vector<ts::proc_info> left_in_group(pid_t pgid)
{
    std::vector<ts::proc_info> out;
    for (const auto& p : ts::list_processes())
        if (p.pgid == pgid)
            out.push_back(p);
    return out;
}

// Sends `sig` and watches the daemon until it exits: every child seen meanwhile is recorded.
std::optional<ts::exit_status>
stop_and_watch(daemon_under_test& d, int sig, std::vector<pid_t>& children_seen)
{
    d.proc().signal(sig);
    const auto deadline = std::chrono::steady_clock::now() + shutdown_limit;
    for (;;) {
        for (pid_t c : ts::children_of(d.pid()))
            children_seen.push_back(c);
        if (auto st = d.proc().wait_for(20ms))
            return st;
        if (std::chrono::steady_clock::now() >= deadline)
            return std::nullopt;
    }
}

TEST_CASE_FIXTURE(
    scene, "shutdown: SIGTERM during a burst of crashes exits 0 within 5 s, leaving no process")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    auto& daemon = watch(usual_args());
    INFO("daemon log:\n", daemon.log_tail());
    const pid_t pid = daemon.pid();

    // --- A burst: ten crashing containers started at once -----------------------------------
    constexpr int burst = 10;
    std::vector<ts::process> runs;
    std::vector<std::string> names;
    for (int i = 0; i < burst; ++i) {
        names.push_back(unique_name("stop" + std::to_string(i)));
        ts::process_options o;
        o.argv = {"docker", "-H", p->dockerd.host()};
        const auto run =
            ts::run_isolated({"-d", "--ulimit", "core=-1", "-w", "/tmp", "--name", names.back()});
        o.argv.insert(o.argv.end(), run.begin(), run.end());
        const auto engine_options = p->dockerd.run_options();
        o.argv.insert(o.argv.end(), engine_options.begin(), engine_options.end());
        o.argv.push_back(ts::private_dockerd::test_image);
        for (auto& a : crash_with_core())
            o.argv.push_back(a);
        o.env = {{"DOCKER_CONFIG", (p->dockerd.dir() / "cli").string()}};
        o.stdout_path = work / ("run" + std::to_string(i) + ".out");
        o.stderr_path = work / ("run" + std::to_string(i) + ".err");
        runs.emplace_back(std::move(o));
    }
    for (int i = 0; i < burst; ++i) {
        auto st = runs[static_cast<std::size_t>(i)].wait_for(120s);
        REQUIRE_MESSAGE(st.has_value(),
                        "start of container ",
                        names[static_cast<std::size_t>(i)],
                        " did not return");
        CHECK_MESSAGE(st->success(),
                      "start of container ",
                      names[static_cast<std::size_t>(i)],
                      ": ",
                      ts::read_file(work / ("run" + std::to_string(i) + ".err")));
    }

    // --- Stop it while it works: as soon as the first notification is out -----------------
    const bool working = rest.wait_for(1, 60s);
    CHECK_MESSAGE(working, "no notification within 60 s of the burst");
    const auto delivered_before = rest.requests().size();
    if (delivered_before >= static_cast<std::size_t>(burst))
        MESSAGE("the daemon had finished the whole burst before SIGTERM");

    std::vector<pid_t> children_seen = ts::children_of(pid);
    CHECK_MESSAGE(children_seen.empty(), "the daemon has child processes while working");
    auto st = stop_and_watch(daemon, SIGTERM, children_seen);
    REQUIRE_MESSAGE(st.has_value(), "the daemon did not exit within 5 s of SIGTERM");
    CHECK(st->describe() == "exit 0");
    CHECK_MESSAGE(children_seen.empty(),
                  "the daemon had ",
                  children_seen.size(),
                  " child process(es) while stopping");
    const auto orphans = left_in_group(pid);
    CHECK_MESSAGE(orphans.empty(),
                  "left behind in the daemon's process group: ",
                  orphans.empty() ? "" : orphans.front().comm);

    // Whatever it announced as pushed is in the registry.
    const auto tags = p->registry.tags(test_repo);
    for (const auto& r : rest.requests()) {
        auto n = parse_notification(r.body);
        if (!n)
            continue;
        const auto* pushed = n->if_contains("pushed");
        if (pushed && pushed->is_bool() && pushed->as_bool()) {
            const auto tag = string_field(*n, "tag");
            CHECK_MESSAGE(std::find(tags.begin(), tags.end(), tag) != tags.end(),
                          "notified as pushed but not in the registry: ",
                          tag);
        }
    }
    remove_all_containers(*p);
}

TEST_CASE_FIXTURE(scene, "shutdown: SIGINT while idle exits 0 within 5 s")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    auto& daemon = watch(daemon_args(*p, "", rest.url()));
    INFO("daemon log:\n", daemon.log_tail());
    const pid_t pid = daemon.pid();

    std::vector<pid_t> children_seen;
    auto st = stop_and_watch(daemon, SIGINT, children_seen);
    REQUIRE_MESSAGE(st.has_value(), "the daemon did not exit within 5 s of SIGINT");
    CHECK(st->describe() == "exit 0");
    CHECK(children_seen.empty());
    CHECK(left_in_group(pid).empty());
    CHECK(rest.requests().empty());
}

}  // namespace
}  // namespace core_interceptor::integration
