// SPDX-License-Identifier: MIT
// Issue 3, chaos run: a burst of 50 deaths, 10 of them with dumps, while the registry, the Kafka
// broker, the REST sink and dockerd itself fail at random moments. It must end with exactly 10
// images in the registry and 10 distinct notification ids on each sink, in a bounded time.
//
// CORE_INTERCEPTOR_CHAOS_SEED=N replays a run (the seed is printed).
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

constexpr int deaths = 50;
constexpr int dumps = 10;
constexpr auto converge_limit = 240s;
constexpr auto quiet_period = 5s;
// Its own image, so that its repository holds this run's images and nothing else.
constexpr const char* chaos_image = "chaosimg:1.0";
constexpr const char* chaos_repo = "chaosimg_1.0";

std::uint32_t chaos_seed()
{
    if (const char* s = std::getenv("CORE_INTERCEPTOR_CHAOS_SEED"); s && *s)
        return static_cast<std::uint32_t>(std::strtoul(s, nullptr, 10));
    return std::random_device{}();
}

enum class fault_kind {
    registry_stop,
    registry_start,
    kafka_down,
    kafka_up,
    rest_500,
    dockerd_kill,
};

struct fault {
    int before_death;  // applied just before this container is started
    fault_kind kind;
    std::size_t n = 0;                  // rest_500: how many requests fail
    std::chrono::milliseconds lasts{};  // outages: how long until healed
};

const char* name_of(fault_kind k)
{
    switch (k) {
    case fault_kind::registry_stop: return "registry stop";
    case fault_kind::registry_start: return "registry start";
    case fault_kind::kafka_down: return "kafka down";
    case fault_kind::kafka_up: return "kafka up";
    case fault_kind::rest_500: return "REST 500";
    case fault_kind::dockerd_kill: return "dockerd kill -9/restart";
    }
    return "?";
}

// Outages start just before a random death and last a random time (healed during the burst or
// after it); REST failures hit a few random requests; dockerd is killed once.
std::vector<fault> plan_faults(std::mt19937& rng)
{
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    std::vector<fault> f;
    f.push_back({uniform(2, 35),
                 fault_kind::registry_stop,
                 0,
                 std::chrono::milliseconds(uniform(3000, 12000))});
    f.push_back({uniform(2, 35),
                 fault_kind::kafka_down,
                 0,
                 std::chrono::milliseconds(uniform(3000, 12000))});
    for (int i = 0; i < 3; ++i)
        f.push_back({uniform(0, deaths - 1),
                     fault_kind::rest_500,
                     static_cast<std::size_t>(uniform(2, 5))});
    f.push_back({uniform(8, 42),
                 fault_kind::dockerd_kill,
                 0,
                 std::chrono::milliseconds(uniform(300, 2000))});
    std::stable_sort(f.begin(), f.end(), [](const fault& a, const fault& b) {
        return a.before_death < b.before_death;
    });
    return f;
}

// The deaths: `dumps` of them leave a core or a heap dump, the others nothing worth a commit.
std::vector<container_spec> plan_deaths(std::mt19937& rng)
{
    std::vector<int> order(deaths);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::set<int> core(order.begin(), order.begin() + dumps / 2);
    std::set<int> hprof(order.begin() + dumps / 2, order.begin() + dumps);

    const std::vector<container_spec> decoys{
        {"clean exit", shell("exit 0"), 0, std::nullopt},
        {"exit 1", shell("echo failing >&2; exit 1"), 1, std::nullopt},
        {"decoy: core.js", shell("echo 'x' > /tmp/core.js; exit 1"), 1, std::nullopt},
        {"decoy: empty core", shell(": > /tmp/core; exit 2"), 2, std::nullopt},
        {"decoy: text core", shell("echo 'no dump' > /tmp/core; exit 1"), 1, std::nullopt},
        {"decoy: directory core", shell("mkdir /tmp/core; exit 1"), 1, std::nullopt},
        {"decoy: text hprof", shell("echo nope > /tmp/x.hprof; exit 3"), 3, std::nullopt},
    };
    std::vector<container_spec> out;
    for (int i = 0; i < deaths; ++i) {
        container_spec s;
        if (core.count(i))
            s = {"core", crash_with_core(), 139, "core"};
        else if (hprof.count(i))
            s = {"hprof", write_hprof("/tmp/java_pid1.hprof", 3), 3, "hprof"};
        else
            s = decoys[static_cast<std::size_t>(i) % decoys.size()];
        s.image = chaos_image;
        out.push_back(std::move(s));
    }
    return out;
}

TEST_CASE_FIXTURE(
    scene, "chaos: 50 deaths, 10 with dumps, under random faults: 10 images and 10 ids per sink")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    p->dockerd.build_test_image(chaos_image);
    restore_registry_at_end();
    restore_dockerd_at_end();

    const auto seed = chaos_seed();
    MESSAGE("chaos seed ", seed, " (CORE_INTERCEPTOR_CHAOS_SEED replays it)");
    std::mt19937 rng(seed);
    const auto specs = plan_deaths(rng);
    const auto faults = plan_faults(rng);

    const auto tags_before = [&] {
        auto v = p->registry.tags(chaos_repo);
        return std::set<std::string>(v.begin(), v.end());
    }();

    auto args = fault_args();
    // daemon_args() says --max-concurrency 4.
    args.insert(args.end(), {"--push-retry-window", "120"});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail(80));

    // --- The burst, with the faults ------------------------------------------------------
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    std::ostringstream fault_log;
    auto note = [&](const std::string& what) {
        fault_log << " [" << std::fixed << std::setprecision(1) << elapsed() << "s " << what << "]";
    };
    // Outages in progress, healed when due.
    std::vector<std::pair<std::chrono::steady_clock::time_point, fault_kind>> heals;
    auto heal = [&](fault_kind k) {
        if (k == fault_kind::registry_start)
            p->registry.start();
        if (k == fault_kind::kafka_up)
            kafka.set_up();
        note(name_of(k));
    };
    auto heal_due = [&](bool all) {
        std::sort(heals.begin(), heals.end());
        while (!heals.empty()) {
            const auto now = std::chrono::steady_clock::now();
            if (heals.front().first > now) {
                if (!all)
                    break;
                std::this_thread::sleep_until(heals.front().first);
            }
            heal(heals.front().second);
            heals.erase(heals.begin());
        }
    };
    std::vector<container> cs;
    std::size_t next_fault = 0;
    for (int i = 0; i < deaths; ++i) {
        heal_due(false);
        for (; next_fault < faults.size() && faults[next_fault].before_death <= i; ++next_fault) {
            const auto& f = faults[next_fault];
            const auto until = std::chrono::steady_clock::now() + f.lasts;
            switch (f.kind) {
            case fault_kind::registry_stop:
                note("#" + std::to_string(i) + " registry stop for " +
                     std::to_string(f.lasts.count()) + " ms");
                p->registry.stop();
                heals.emplace_back(until, fault_kind::registry_start);
                break;
            case fault_kind::kafka_down:
                note("#" + std::to_string(i) + " kafka down for " +
                     std::to_string(f.lasts.count()) + " ms");
                kafka.set_down();
                heals.emplace_back(until, fault_kind::kafka_up);
                break;
            case fault_kind::rest_500:
                note("#" + std::to_string(i) + " REST 500 x" + std::to_string(f.n));
                rest.fail_next(f.n, 500);
                break;
            case fault_kind::dockerd_kill: {
                // The containers started so far have left their dumps (they die at once):
                // what the kill takes away is the daemon's view of their deaths and its
                // requests in flight.
                if (!cs.empty()) {
                    std::vector<std::string> wait{"wait"};
                    for (const auto& c : cs)
                        wait.push_back(c.name);
                    p->dockerd.docker(wait, 60s);
                }
                note("#" + std::to_string(i) + " dockerd kill -9, restart after " +
                     std::to_string(f.lasts.count()) + " ms");
                p->dockerd.kill9();
                std::this_thread::sleep_for(f.lasts);
                p->dockerd.restart();
                note("dockerd back");
                break;
            }
            default: break;
            }
        }
        cs.push_back(start_container(
            *p, specs[static_cast<std::size_t>(i)], unique_name("chaos" + std::to_string(i))));
    }
    note("last death started");
    heal_due(true);  // the outages still in progress end when due
    p->registry.start();
    const double burst_s = elapsed();
    MESSAGE("burst of ",
            deaths,
            " deaths over ",
            static_cast<int>(burst_s),
            " s; faults:",
            fault_log.str());

    wait_exited(*p, cs);
    std::vector<container> dumping;
    for (const auto& c : cs)
        if (c.spec.object) {
            const auto path = *c.spec.object == "core" ? "/tmp/core" : "/tmp/java_pid1.hprof";
            REQUIRE_MESSAGE(has_file(*p, c.name, path), c.name, " left no ", path);
            dumping.push_back(c);
        }
    REQUIRE(dumping.size() == static_cast<std::size_t>(dumps));
    std::set<std::string> expected, expected_tags;
    for (const auto& c : dumping) {
        expected.insert(c.id);
        expected_tags.insert(c.tag());
    }

    // --- Convergence -------------------------------------------------------------------------
    std::set<std::string> images;
    auto registry_done = [&] {
        try {
            images.clear();
            for (const auto& t : p->registry.tags(chaos_repo))
                if (!tags_before.count(t))
                    images.insert(t);
        } catch (const std::exception&) {
            return false;
        }
        return images == expected_tags;
    };
    const auto waited =
        wait_all({{"registry", registry_done},
                  {"Kafka", [&] { return sink_complete(kafka_record(kafka), expected, true); }},
                  {"REST", [&] { return sink_complete(rest_record(rest), expected, true); }}},
                 converge_limit,
                 1s);
    const bool converged = waited.converged;
    const double converge_s = waited.seconds;
    const double total_s = elapsed();
    std::this_thread::sleep_for(quiet_period);
    registry_done();
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    std::size_t rest_500s = 0;
    for (const auto& q : rest.requests())
        rest_500s += q.status == 500 ? 1 : 0;

    std::ostringstream figures;
    figures.setf(std::ios::fixed);
    figures.precision(1);
    figures << "deaths=" << cs.size() << " dumps=" << dumping.size() << " images=" << images.size()
            << " kafka_ids=" << k.count.size() << " kafka_notifications=" << k.total
            << " kafka_duplicates=" << k.duplicates() << " rest_ids=" << r.count.size()
            << " rest_notifications=" << r.total << " rest_duplicates=" << r.duplicates()
            << " rest_500_answers=" << rest_500s << " burst_s=" << burst_s
            << " converge_after_heal_s=" << converge_s << " converge_total_s=" << total_s
            << " converged=" << (converged ? "yes" : "no");
    for (const auto& [what, t] : waited.first_true)
        figures << " " << what << "_done_after_heal_s=" << t;
    figures << " seed=" << seed;
    MESSAGE("chaos figures: ", figures.str());
    std::cout << "CHAOS: " << figures.str() << std::endl;

    CHECK_MESSAGE(converged,
                  "no convergence within ",
                  converge_limit.count(),
                  " s of the last fault: registry ",
                  joined(images),
                  " vs ",
                  joined(expected_tags),
                  "; Kafka ",
                  describe(k),
                  "; REST ",
                  describe(r));
    CHECK(joined(images) == joined(expected_tags));
    CHECK(images.size() == static_cast<std::size_t>(dumps));
    check_sink("Kafka", k, expected, true);
    check_sink("REST", r, expected, true);
    CHECK(k.count.size() == static_cast<std::size_t>(dumps));
    CHECK(r.count.size() == static_cast<std::size_t>(dumps));
    for (const auto& c : dumping) {
        INFO("dump of ", c.name, " (", c.spec.role, ")");
        for (const auto& id : k.ids_of(c.id))
            CHECK(string_field(k.last.at(id), "object") == *c.spec.object);
        std::vector<std::string> left;
        wait_until(
            [&] {
                left = local_images_tagged(*p, c.tag());
                return left.empty();
            },
            15s);
        CHECK_MESSAGE(
            left.empty(), "still on the node after the push: ", left.empty() ? "" : left.front());
    }
    for (const auto& c : cs)
        if (!c.spec.object) {
            INFO("decoy ", c.name, " (", c.spec.role, ")");
            CHECK(local_images_tagged(*p, c.tag()).empty());
        }

    REQUIRE_MESSAGE(daemon.running(), "the daemon died during the chaos run");
    daemon.proc().signal(SIGTERM);
    auto st = daemon.proc().wait_for(10s);
    REQUIRE_MESSAGE(st.has_value(), "the daemon did not exit within 10 s of SIGTERM");
    CHECK(st->describe() == "exit 0");
    for (const auto& c : cs)
        remove_local_images_tagged(*p, c.tag());
    remove_all_containers(*p);
}

}  // namespace
}  // namespace core_interceptor::integration
