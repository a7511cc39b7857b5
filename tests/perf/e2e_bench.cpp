// SPDX-License-Identifier: MIT
// The daemon binary against the real parts (private dockerd, docker-registry, mock Kafka, HTTP
// sink), with both sinks configured:
//  - start-up: exec to the event stream being open (its "watching events" line), median of runs;
//  - idle: RSS (VmRSS, VmHWM), CPU (utime + stime) and context switches per thread over a window
//    with no events, after the settle time (the Kafka producer opened at start-up closes once
//    idle);
//  - crash -> notification: a SEGV-ing container's start returning to its notification on the
//    REST sink and on Kafka;
//  - peak RSS (VmHWM) during a burst of deaths, most of them clean exits, some with cores.
// Usage: e2e_bench CORE_INTERCEPTOR [--out DIR] [--starts N] [--idle S] [--settle S]
//                  [--crashes N] [--deaths N] [--dumps N]
#include "bench_util.hpp"
#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/private_dockerd.hpp"
#include "support/process.hpp"
#include "support/registry.hpp"
#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

using namespace core_interceptor;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

struct parts {
    test_support::private_dockerd d;
    test_support::registry reg;
    test_support::mock_kafka kafka;
    test_support::http_sink rest;
    test_support::temp_dir tmp{"ci-e2e-"};
};

/// The daemon with both sinks; its stderr is read until "watching events", then drained on
/// a thread (kept for the end).
class daemon_run {
public:
    daemon_run(const std::string& bin, parts& p, const std::string& state)
    {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe");
        test_support::process_options po;
        po.argv = {bin,
                   "--docker-host",
                   p.d.host(),
                   "--registry",
                   p.reg.address(),
                   "--kafka-brokers",
                   p.kafka.bootstraps(),
                   "--rest-url",
                   p.rest.url(),
                   "--hostname",
                   "bench",
                   "--state-dir",
                   (p.tmp.path() / state).string(),
                   "--max-per-signature",
                   "0"};  // one crash, many times
        po.stderr_fd = fds[1];
        const auto t0 = clock_type::now();
        proc_.emplace(po);
        ::close(fds[1]);
        fd_ = fds[0];
        std::string seen;
        auto until = t0 + std::chrono::seconds(30);
        while (seen.find("watching events") == std::string::npos) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now())
                    .count();
            pollfd pf{fd_, POLLIN, 0};
            char buf[4096];
            ssize_t n = 0;
            if (left <= 0 || ::poll(&pf, 1, static_cast<int>(left)) <= 0 ||
                (n = ::read(fd_, buf, sizeof buf)) <= 0)
                throw std::runtime_error("the daemon did not open the event stream: " + seen);
            seen.append(buf, static_cast<std::size_t>(n));
        }
        startup_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
        log_ = seen;
        drain_ = std::thread([this] {
            char buf[4096];
            for (ssize_t n; (n = ::read(fd_, buf, sizeof buf)) > 0;)
                log_.append(buf, static_cast<std::size_t>(n));
        });
    }
    ~daemon_run()
    {
        if (proc_ && proc_->running())
            proc_->stop(std::chrono::seconds(10));
        if (drain_.joinable())
            drain_.join();
        ::close(fd_);
    }
    pid_t pid() const { return proc_->pid(); }
    /// SIGTERM; true when it exited 0.
    bool stop()
    {
        proc_->signal(SIGTERM);
        auto st = proc_->wait_for(std::chrono::seconds(15));
        if (drain_.joinable())
            drain_.join();
        return st && st->success();
    }
    const std::string& log() const { return log_; }

    double startup_ms = 0;

private:
    std::optional<test_support::process> proc_;
    int fd_ = -1;
    std::string log_;
    std::thread drain_;
};

double kib_to_mib(long kib)
{
    return static_cast<double>(kib) / 1024.0;
}

}  // namespace

int main(int argc, char* argv[])
try {
    if (argc < 2) {
        std::cerr
            << "usage: e2e_bench CORE_INTERCEPTOR [--out DIR] [--starts N] [--idle S] [--settle S] "
               "[--crashes N] [--deaths N] [--dumps N]\n";
        return 2;
    }
    const std::string bin = argv[1];
    int starts = 5, idle_s = 60, settle_s = 5, crashes = 5, deaths = 1000, dumps = 10;
    for (int i = 2; i + 1 < argc; ++i) {
        std::string a = argv[i];
        if (a == "--starts")
            starts = std::stoi(argv[++i]);
        else if (a == "--idle")
            idle_s = std::stoi(argv[++i]);
        else if (a == "--settle")
            settle_s = std::stoi(argv[++i]);
        else if (a == "--crashes")
            crashes = std::stoi(argv[++i]);
        else if (a == "--deaths")
            deaths = std::stoi(argv[++i]);
        else if (a == "--dumps")
            dumps = std::stoi(argv[++i]);
    }
    const auto out = bench::output_dir(argc, argv);
    fs::remove(out / "e2e.md");

    parts p;
    p.d.build_test_image();
    const auto sock = p.d.socket_path();

    // Start-up ------------------------------------------------------------------------------
    std::vector<double> startup;
    std::string startup_data = "# run ms\n";
    for (int i = 0; i < starts; ++i) {
        daemon_run dr(bin, p, "start-" + std::to_string(i));
        startup.push_back(dr.startup_ms);
        startup_data += std::to_string(i + 1) + " " + bench::fixed(dr.startup_ms, 3) + "\n";
        if (!dr.stop())
            throw std::runtime_error("the daemon did not stop cleanly:\n" +
                                     test_support::tail_lines(dr.log(), 20));
    }
    {
        bench::table t;
        t.title =
            "Start-up: exec to the event stream open (\"watching events\"), both sinks configured";
        t.header = {"runs", "median ms", "min ms", "max ms"};
        t.rows.push_back({std::to_string(starts),
                          bench::fixed(bench::median(startup)),
                          bench::fixed(*std::min_element(startup.begin(), startup.end())),
                          bench::fixed(*std::max_element(startup.begin(), startup.end()))});
        t.print(out, "e2e");
        bench::chart(
            out,
            "startup",
            startup_data,
            "set title 'Start-up: exec -> event stream open (median " +
                bench::fixed(bench::median(startup), 1) +
                " ms)'\nset style fill solid 0.8 border -1\nset boxwidth 0.6\nset yrange [0:*]\n"
                "set xlabel 'run'\nset ylabel 'ms'\nset grid ytics\nunset key\n"
                "plot 'startup.dat' using 1:2 with boxes\n");
    }

    // Idle ----------------------------------------------------------------------------------
    daemon_run dr(bin, p, "state");
    std::this_thread::sleep_for(std::chrono::seconds(settle_s));
    const pid_t pid = dr.pid();
    auto threads0 = bench::threads_of(pid);
    auto cpu0 = bench::cpu_ticks(pid).value_or(0);
    auto rss0 = bench::status_field(pid, "VmRSS").value_or(-1);
    std::string idle_data = "# second rss_kib cpu_ms_cumulative\n";
    for (int s = 0; s <= idle_s; ++s) {
        if (s > 0)
            std::this_thread::sleep_for(std::chrono::seconds(1));
        idle_data +=
            std::to_string(s) + " " +
            std::to_string(bench::status_field(pid, "VmRSS").value_or(-1)) + " " +
            bench::fixed(bench::ticks_to_seconds(bench::cpu_ticks(pid).value_or(0) - cpu0) * 1000,
                         0) +
            "\n";
    }
    auto cpu1 = bench::cpu_ticks(pid).value_or(0);
    auto threads1 = bench::threads_of(pid);
    const long rss1 = bench::status_field(pid, "VmRSS").value_or(-1);
    const long hwm_idle = bench::status_field(pid, "VmHWM").value_or(-1);
    const double idle_cpu = bench::ticks_to_seconds(cpu1 - cpu0);
    std::uint64_t wakeups = 0;
    bench::table threads_table;
    threads_table.title = "Idle: per thread over " + std::to_string(idle_s) + " s";
    threads_table.header = {"thread", "name", "CPU s", "context switches"};
    for (const auto& [tid, t1] : threads1) {
        auto it = threads0.find(tid);
        auto sw = t1.switches - (it == threads0.end() ? 0 : it->second.switches);
        auto tk = t1.ticks - (it == threads0.end() ? 0 : it->second.ticks);
        wakeups += sw;
        threads_table.rows.push_back({std::to_string(tid),
                                      t1.name,
                                      bench::fixed(bench::ticks_to_seconds(tk), 2),
                                      std::to_string(sw) + (it == threads0.end() ? " (new)" : "")});
    }
    {
        bench::table t;
        t.title = "Idle: " + std::to_string(idle_s) +
                  " s with no events, Kafka and REST sinks configured (after " +
                  std::to_string(settle_s) + " s settling)";
        t.header = {"figure", "value", "target"};
        t.rows.push_back({"CPU (utime+stime)",
                          bench::fixed(idle_cpu, 2) +
                              " s = " + bench::fixed(100.0 * idle_cpu / idle_s, 2) + " %",
                          "0.0 %"});
        t.rows.push_back({"context switches, all threads (wake-ups)",
                          std::to_string(wakeups),
                          "0 (no watchdog)"});
        t.rows.push_back({"threads", std::to_string(threads1.size()), ""});
        t.rows.push_back(
            {"VmRSS at start / end of window",
             bench::fixed(kib_to_mib(rss0)) + " / " + bench::fixed(kib_to_mib(rss1)) + " MiB",
             "<= 12 MiB"});
        t.rows.push_back({"VmHWM (peak so far)", bench::fixed(kib_to_mib(hwm_idle)) + " MiB", ""});
        t.print(out, "e2e");
        threads_table.print(out, "e2e");
        bench::chart(
            out,
            "idle",
            idle_data,
            "set title 'Idle " + std::to_string(idle_s) +
                " s: RSS and cumulative CPU'\n"
                "set xlabel 'second'\nset ylabel 'VmRSS (MiB)'\nset y2label 'CPU (ms, "
                "cumulative)'\n"
                "set yrange [0:14]\nset y2range [0:100]\nset ytics nomirror\nset y2tics\nset grid\n"
                "set key bottom right\n"
                "plot 'idle.dat' using 1:($2/1024) with lines lw 2 title 'VmRSS', "
                "'' using 1:3 axes x1y2 with steps lw 2 title 'CPU', 12 with lines dt 2 title 'RSS "
                "target 12 MiB'\n");
    }

    // Crash -> notification -----------------------------------------------------------------
    std::vector<double> rest_ms, kafka_ms;
    std::size_t notified = p.rest.requests().size();
    for (int i = 0; i < crashes; ++i) {
        std::string name = "e2e-crash-" + std::to_string(i);
        auto r = p.d.docker(test_support::run_isolated({"--ulimit",
                                                        "core=-1",
                                                        "-w",
                                                        "/tmp",
                                                        "--name",
                                                        name,
                                                        "testimg:1.0",
                                                        "sh",
                                                        "-c",
                                                        "sh -c 'kill -SEGV $$'; exit 139"}));
        auto t0 = clock_type::now();
        bool got_rest = p.rest.wait_for(notified + 1, std::chrono::seconds(60));
        auto t1 = clock_type::now();
        bool got_kafka = p.kafka.wait_for(notified + 1, std::chrono::seconds(60));
        auto t2 = clock_type::now();
        if (!got_rest || !got_kafka)
            throw std::runtime_error("notification " + std::to_string(i) +
                                     " did not arrive (container: " + r.status.describe() + ")\n" +
                                     test_support::tail_lines(dr.log(), 20));
        ++notified;
        rest_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        kafka_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
    }
    if (crashes > 0) {
        bench::table t;
        t.title = "Crash -> notification (container start of a SEGV-ing container returned -> "
                  "received), " +
                  std::to_string(crashes) +
                  " crashes one after another; the first reopens the Kafka producer";
        t.header = {"sink", "median ms", "min ms", "max ms"};
        auto row = [&](const char* n, std::vector<double> v) {
            std::sort(v.begin(), v.end());
            t.rows.push_back({n,
                              bench::fixed(bench::median(v), 1),
                              bench::fixed(v.front(), 1),
                              bench::fixed(v.back(), 1)});
        };
        row("REST", rest_ms);
        row("Kafka (consumer)", kafka_ms);
        t.print(out, "e2e");
    }

    // Peak RSS during a burst of deaths -----------------------------------------------------
    // In waves of at most 200 (each wave's containers run, wait at a gate, then all die at
    // once), so that the host is not asked for 1000 running containers at a time.
    const bench::gate gate(p.tmp.path() / "gate");
    std::vector<bench::container_spec> specs;
    const int every = std::max(1, deaths / std::max(1, dumps));
    for (int i = 0; i < deaths; ++i)
        specs.push_back({"e2e-burst-" + std::to_string(i), dumps > 0 && i % every == 0, {}});
    const int with_core = static_cast<int>(
        std::count_if(specs.begin(), specs.end(), [](auto& s) { return s.crash; }));
    std::atomic<bool> sampling{true};
    std::string burst_data = "# second rss_kib\n";
    const auto tb0 = clock_type::now();
    std::thread sampler([&] {
        while (sampling) {
            burst_data +=
                bench::fixed(std::chrono::duration<double>(clock_type::now() - tb0).count(), 2) +
                " " + std::to_string(bench::status_field(pid, "VmRSS").value_or(-1)) + "\n";
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
    });
    struct stop_sampling {
        std::atomic<bool>& flag;
        std::thread& t;
        ~stop_sampling()
        {
            flag = false;
            if (t.joinable())
                t.join();
        }
    } sampler_guard{sampling, sampler};
    const std::size_t wave = 200;
    int waves = 0;
    std::vector<std::string> all_ids;  // removed at the end, once the daemon is done with them
    for (std::size_t first = 0; first < specs.size(); first += wave) {
        std::vector<bench::container_spec> part(
            specs.begin() + static_cast<long>(first),
            specs.begin() + static_cast<long>(std::min(specs.size(), first + wave)));
        auto ids = bench::create_containers(sock, part, 4, &gate);
        bench::start_containers(sock, ids, 4);
        std::this_thread::sleep_for(std::chrono::seconds(1));
        if (!gate.release(sock, ids, std::chrono::minutes(5)))
            throw std::runtime_error("containers still running after the gate opened");
        all_ids.insert(all_ids.end(), ids.begin(), ids.end());
        ++waves;
    }
    const std::size_t cores_expected = notified + static_cast<std::size_t>(with_core);
    bool all = p.rest.wait_for(cores_expected, std::chrono::minutes(5));
    // The clean exits leave no trace: done once the daemon has used no CPU for a second.
    for (auto ticks = bench::cpu_ticks(pid).value_or(0);;) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        auto now = bench::cpu_ticks(pid).value_or(0);
        if (now == ticks || std::chrono::steady_clock::now() - tb0 > std::chrono::minutes(10))
            break;
        ticks = now;
    }
    sampling = false;
    sampler.join();  // before burst_data is read
    const double burst_s = std::chrono::duration<double>(clock_type::now() - tb0).count();
    const long hwm = bench::status_field(pid, "VmHWM").value_or(-1);
    const long rss_after = bench::status_field(pid, "VmRSS").value_or(-1);
    {
        bench::table t;
        t.title = std::to_string(deaths) + " deaths (" + std::to_string(with_core) +
                  " with a core) in " + std::to_string(waves) + " waves, each dying at once";
        t.header = {"figure", "value", "target"};
        t.rows.push_back({"VmHWM (peak RSS of the daemon's life)",
                          bench::fixed(kib_to_mib(hwm)) + " MiB",
                          "<= 40 MiB"});
        t.rows.push_back(
            {"VmRSS after the burst", bench::fixed(kib_to_mib(rss_after)) + " MiB", ""});
        t.rows.push_back({"every core notified", all ? "yes" : "NO", ""});
        t.rows.push_back(
            {"whole run (create, start, die, remove)", bench::fixed(burst_s, 1) + " s", ""});
        t.print(out, "e2e");
        bench::chart(out,
                     "burst_rss",
                     burst_data,
                     "set title 'RSS during " + std::to_string(deaths) + " deaths (peak " +
                         bench::fixed(kib_to_mib(hwm), 1) +
                         " MiB)'\nset xlabel 'second'\nset ylabel 'VmRSS (MiB)'\nset yrange "
                         "[0:45]\nset grid\n"
                         "set key bottom right\nplot 'burst_rss.dat' using 1:($2/1024) with lines "
                         "lw 2 title 'VmRSS', "
                         "40 with lines dt 2 lw 1 title 'target 40 MiB'\n");
    }
    bench::remove_containers(sock, all_ids);
    const bool stopped = dr.stop();
    std::printf("SIGTERM: %s\n", stopped ? "exit 0" : "FAILED");
    std::printf("tables: %s; charts: startup.png idle.png burst_rss.png in %s\n",
                (out / "e2e.md").c_str(),
                out.c_str());
    return stopped && all ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "e2e_bench: " << e.what() << '\n';
    return 1;
}
