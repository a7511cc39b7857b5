// SPDX-License-Identifier: MIT
// Issue 10: SIGKILL of the daemon at random moments of a burst of dumps (and of dockerd with it
// in some rounds): every death is still announced, every image is in the registry, and no image
// of the daemon's is left on the host (an earlier try's commit is reused or removed).
#include "harness.hpp"
#include "scene.hpp"

#include "support/mock_kafka.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <random>
#include <sstream>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;
using namespace std::chrono_literals;

/// The local images (untagged ones too) committed for any of `containers`, by their label.
std::vector<std::string> images_of(shared_parts& p, const std::vector<container>& containers)
{
    std::vector<std::string> out;
    for (const auto& c : containers) {
        auto r = p.dockerd.docker({"images",
                                   "-a",
                                   "--no-trunc",
                                   "--filter",
                                   "label=core_interceptor.container.id=" + c.id,
                                   "--format",
                                   "{{.ID}} {{.Repository}}:{{.Tag}}"},
                                  60s);
        std::istringstream in(r.out);
        for (std::string line; std::getline(in, line);)
            if (!line.empty())
                out.push_back(c.name + ": " + line);
    }
    return out;
}

bool registry_has(shared_parts& p, const std::vector<container>& cs)
{
    try {
        const auto have = p.registry.tags(test_repo);
        for (const auto& c : cs)
            if (std::find(have.begin(), have.end(), c.tag()) == have.end())
                return false;
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

TEST_CASE_FIXTURE(
    scene,
    "kills: SIGKILL of the daemon (and of dockerd) at random moments of a burst: every death "
    "announced and pushed, no image left behind")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    restore_dockerd_at_end();
    const auto args = fault_daemon_args(*p, kafka.bootstraps(), "", work / "state");

    std::mt19937 rng(std::random_device{}());
    constexpr int rounds = 12;
    constexpr int per_wave = 4;
    std::vector<container> all;
    int kills = 0, dockerd_kills = 0;
    std::string logs;  // every run's log, to count the earlier commits found
    const auto started = std::chrono::steady_clock::now();
    for (int round = 0; round < rounds; ++round) {
        const auto run_dir = work / ("run" + std::to_string(round));
        std::filesystem::create_directories(run_dir);
        daemon_under_test d(run_dir, args);
        INFO("round ", round, " daemon log:\n", d.log_tail(30));
        start_watching(d);
        // Every other round a wave of crashes while it runs (the last round too, so that the
        // final run has work left); the others find work left over.
        if (round % 2 == 1) {
            std::vector<container_spec> specs(
                per_wave, container_spec{"core", crash_with_core(), 139, "core"});
            std::vector<std::string> names;
            for (int i = 0; i < per_wave; ++i)
                names.push_back(unique_name("kill"));
            auto wave = start_containers_at_once(*p, specs, names, run_dir);
            all.insert(all.end(), wave.begin(), wave.end());
        }
        // A random moment of the handling: probe, commit, push or delete.
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 1500)(rng)));
        d.proc().signal(SIGKILL);
        REQUIRE(d.proc().wait_for(10s).has_value());
        ++kills;
        logs += d.log();
        if (round % 4 == 3) {  // dockerd dies too, mid-commit or mid-push
            p->dockerd.kill9();
            p->dockerd.restart();
            ++dockerd_kills;
        }
    }
    wait_exited(*p, all);

    // A last run that is left alone: everything converges.
    const auto final_dir = work / "final";
    std::filesystem::create_directories(final_dir);
    daemon_under_test last(final_dir, args);
    INFO("final daemon log:\n", last.log_tail(60));
    start_watching(last);
    std::set<std::string> ids;
    for (const auto& c : all)
        ids.insert(c.id);
    std::vector<std::string> left;
    const auto waited =
        wait_all({{"registry", [&] { return registry_has(*p, all); }},
                  {"Kafka", [&] { return sink_complete(kafka_record(kafka), ids, true); }},
                  {"no image left",
                   [&] {
                       left = images_of(*p, all);
                       return left.empty();
                   }}},
                 120s);
    const auto k = kafka_record(kafka);
    logs += last.log();
    auto count = [&](const std::string& needle) {
        std::size_t n = 0;
        for (auto at = logs.find(needle); at != std::string::npos; at = logs.find(needle, at + 1))
            ++n;
        return n;
    };
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    MESSAGE(all.size(),
            " deaths, ",
            kills,
            " daemon kills (",
            dockerd_kills,
            " with dockerd), Kafka ",
            describe(k),
            ", images left ",
            left.size(),
            "; earlier commits reused ",
            count("already committed this death"),
            ", removed ",
            count("an earlier commit of this death"),
            "; final run ",
            waited.describe(),
            "; ",
            total,
            " s in all");
    CHECK_MESSAGE(waited.converged, "not converged: images left: ", [&] {
        std::string s;
        for (const auto& l : left)
            s += "\n  " + l;
        return s;
    }());
    check_sink("Kafka", k, ids, true, 0);
    CHECK(left.empty());

    stop_cleanly(last);
    for (const auto& c : all)
        remove_local_images_tagged(*p, c.tag());
    remove_all_containers(*p);
}

}  // namespace core_interceptor::integration
