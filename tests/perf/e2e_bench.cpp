// SPDX-License-Identifier: MIT
// End-to-end figures of the daemon binary against the real parts: idle RSS, and the time from
// a crash (the start of a SEGV-ing container returning) to its notification arriving on
// the REST sink and on Kafka. Usage: e2e_bench PATH_TO_core_interceptor [--crashes N]
#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/private_dockerd.hpp"
#include "support/process.hpp"
#include "support/registry.hpp"
#include "support/temp_dir.hpp"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace core_interceptor;
using clock_type = std::chrono::steady_clock;

namespace {

long rss_kib(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("VmRSS:"))
            return std::stol(line.substr(6));
    return -1;
}

double cpu_seconds(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto rp = s.rfind(')');
    std::vector<std::string> f;
    std::string cur;
    for (char c : s.substr(rp + 2)) {
        if (c == ' ') {
            f.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    // fields after ')' start at state (3rd field): utime is field 14, stime 15 -> index 11, 12
    return (std::stod(f.at(11)) + std::stod(f.at(12))) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

int main(int argc, char* argv[])
{
    if (argc < 2) {
        std::cerr << "usage: e2e_bench PATH_TO_core_interceptor [--crashes N] [--idle SECONDS]\n";
        return 2;
    }
    std::string bin = argv[1];
    int crashes = 5;
    int idle_s = 10;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--crashes" && i + 1 < argc)
            crashes = std::stoi(argv[++i]);
        else if (a == "--idle" && i + 1 < argc)
            idle_s = std::stoi(argv[++i]);
    }

    test_support::private_dockerd d;
    d.build_test_image();
    test_support::registry reg;
    test_support::mock_kafka kafka;
    test_support::http_sink rest;
    test_support::temp_dir tmp;

    test_support::process_options po;
    po.argv = {bin, "--docker-host", d.host(), "--registry", reg.address(), "--kafka-brokers", kafka.bootstraps(),
               "--rest-url", rest.url(), "--hostname", "bench", "--state-dir", (tmp.path() / "state").string()};
    po.stderr_path = tmp.path() / "daemon.log";
    test_support::process daemon(po);
    std::this_thread::sleep_for(std::chrono::seconds(2));

    double cpu0 = cpu_seconds(daemon.pid());
    std::this_thread::sleep_for(std::chrono::seconds(idle_s));
    double cpu1 = cpu_seconds(daemon.pid());
    long idle_rss = rss_kib(daemon.pid());
    std::printf("idle: RSS %ld KiB, CPU %.3f s over %d s\n", idle_rss, cpu1 - cpu0, idle_s);

    std::vector<double> rest_ms, kafka_ms;
    for (int i = 0; i < crashes; ++i) {
        std::string name = "e2e-crash-" + std::to_string(i);
        auto r = d.docker({"run", "--network", "none", "--ulimit", "core=-1", "-w", "/tmp", "--name", name,
                           "testimg:1.0", "sh", "-c", "sh -c 'kill -SEGV $$'; exit 139"});
        auto t0 = clock_type::now();
        bool got_rest = rest.wait_for(static_cast<std::size_t>(i + 1), std::chrono::seconds(60));
        auto t1 = clock_type::now();
        bool got_kafka = kafka.wait_for(static_cast<std::size_t>(i + 1), std::chrono::seconds(60));
        auto t2 = clock_type::now();
        if (!got_rest || !got_kafka) {
            std::cerr << "notification " << i << " did not arrive (container start: " << r.status.describe() << ")\n";
            return 1;
        }
        rest_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        kafka_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
    }
    long busy_rss = rss_kib(daemon.pid());
    std::sort(rest_ms.begin(), rest_ms.end());
    std::sort(kafka_ms.begin(), kafka_ms.end());
    std::printf("crash -> REST notification: median %.1f ms, min %.1f, max %.1f (%d crashes)\n",
                rest_ms[rest_ms.size() / 2], rest_ms.front(), rest_ms.back(), crashes);
    std::printf("crash -> Kafka notification: median %.1f ms, min %.1f, max %.1f\n",
                kafka_ms[kafka_ms.size() / 2], kafka_ms.front(), kafka_ms.back());
    std::printf("RSS after the crashes: %ld KiB\n", busy_rss);
    daemon.signal(SIGTERM);
    auto st = daemon.wait_for(std::chrono::seconds(10));
    std::printf("SIGTERM: %s\n", st ? st->describe().c_str() : "still running");
    return st && st->success() ? 0 : 1;
}
