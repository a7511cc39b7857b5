// SPDX-License-Identifier: MIT
// Burst: N container deaths, M of them leaving a core, handled by the daemon (Kafka and REST
// sinks) and, in the same run, by the floor (floor_client: the same Engine calls at the same
// concurrency, nothing else). Time from the first death (State.FinishedAt) to the last
// notification (daemon: the REST sink receiving it) or the last image deleted (floor).
// The two sides alternate for a few rounds on identical, freshly created containers that are
// started the same way and then wait at a gate (a file they look for once a second), so that
// all of them die within a second: a real burst, whatever the starts cost. Medians compared.
//
// Usage: burst_bench CORE_INTERCEPTOR FLOOR_CLIENT [--out DIR] [--rounds N] [--deaths N]
//                    [--dumps N] [--concurrency N]
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
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

using namespace core_interceptor;
namespace fs = std::filesystem;

namespace {

struct round_result {
    int round = 0;
    std::string side;
    double seconds = 0;
};

std::vector<bench::container_spec> specs_for(const std::string& prefix, int deaths, int dumps)
{
    std::vector<bench::container_spec> specs;
    const int every = std::max(1, deaths / std::max(1, dumps));
    int crashes = 0;
    for (int i = 0; i < deaths; ++i) {
        bool crash = crashes < dumps && i % every == 0;
        crashes += crash;
        specs.push_back({prefix + std::to_string(i), crash, {}});
    }
    return specs;
}

/// Reads lines from `fd` until one contains `needle`; false on EOF or timeout. Lines read are
/// appended to `seen`.
bool read_until(int fd,
                const std::string& needle,
                std::chrono::milliseconds timeout,
                std::string& seen)
{
    auto until = std::chrono::steady_clock::now() + timeout;
    std::size_t checked = 0;
    for (;;) {
        if (seen.find(needle, checked > needle.size() ? checked - needle.size() : 0) !=
            std::string::npos)
            return true;
        checked = seen.size();
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            return false;
        char buf[4096];
        auto n = ::read(fd, buf, sizeof buf);
        if (n <= 0)
            return false;
        seen.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace

int main(int argc, char* argv[])
try {
    if (argc < 3) {
        std::cerr << "usage: burst_bench CORE_INTERCEPTOR FLOOR_CLIENT [--out DIR] [--rounds N] "
                     "[--deaths N] "
                     "[--dumps N] [--concurrency N]\n";
        return 2;
    }
    const std::string bin = argv[1], floor_bin = argv[2];
    int rounds = 3, deaths = 200, dumps = 20, concurrency = 4;
    for (int i = 3; i + 1 < argc; ++i) {
        std::string a = argv[i];
        if (a == "--rounds")
            rounds = std::stoi(argv[++i]);
        else if (a == "--deaths")
            deaths = std::stoi(argv[++i]);
        else if (a == "--dumps")
            dumps = std::stoi(argv[++i]);
        else if (a == "--concurrency")
            concurrency = std::stoi(argv[++i]);
    }
    const auto out = bench::output_dir(argc, argv);
    fs::remove(out / "burst.md");

    test_support::private_dockerd d;
    d.build_test_image();
    test_support::registry reg;
    test_support::mock_kafka kafka;
    test_support::http_sink rest;
    test_support::temp_dir tmp("ci-burst-");
    const auto sock = d.socket_path();

    // Both repositories get the image's base layer first, so neither side pays for it.
    for (const std::string repo : {"testimg_1.0", "floor"}) {
        const std::string ref = reg.address() + "/" + repo + ":warm";
        if (!d.docker({"tag", "testimg:1.0", ref}).ok() || !d.docker({"push", ref}).ok())
            throw std::runtime_error("cannot push the base layer to " + ref);
    }

    const bench::gate gate(tmp.path() / "gate");
    // The daemon's state directory: on the same disk as a real one would be, unless
    // CORE_INTERCEPTOR_BENCH_STATE names another place (e.g. a tmpfs, to see what syncing costs).
    const char* state_env = std::getenv("CORE_INTERCEPTOR_BENCH_STATE");
    const fs::path state_root = state_env && *state_env ? fs::path(state_env) : tmp.path();
    std::vector<round_result> results;
    std::size_t rest_seen = 0, kafka_seen = 0;
    // A first round, not counted, warms both sides up (dockerd, the registry's repositories,
    // the page cache) with a fifth of the deaths.
    for (int r = -1; r < rounds; ++r) {
        const bool warm = r < 0;
        const int n_deaths = warm ? std::max(1, deaths / 5) : deaths;
        const int n_dumps = warm ? std::max(1, dumps / 5) : dumps;
        const bool daemon_first = r % 2 == 0;
        for (int k = 0; k < 2; ++k) {
            const bool daemon = (k == 0) == daemon_first;
            const std::string side = daemon ? "daemon" : "floor";
            auto ids = bench::create_containers(
                sock, specs_for("b" + std::to_string(r) + side + "-", n_deaths, n_dumps), 4, &gate);

            int pipefd[2];
            if (::pipe2(pipefd, O_CLOEXEC) != 0)
                throw std::runtime_error("pipe");
            test_support::process_options po;
            if (daemon) {
                po.argv = {bin,
                           "--docker-host",
                           d.host(),
                           "--registry",
                           reg.address(),
                           "--kafka-brokers",
                           kafka.bootstraps(),
                           "--rest-url",
                           rest.url(),
                           "--hostname",
                           "bench",
                           "--state-dir",
                           (state_root / ("state-" + std::to_string(r))).string(),
                           "--max-concurrency",
                           std::to_string(concurrency),
                           "--max-per-signature",
                           "0"};  // one crash, many times
                po.stderr_fd = pipefd[1];
            } else {
                po.argv = {floor_bin,
                           "--docker-host",
                           d.host(),
                           "--registry",
                           reg.address(),
                           "--concurrency",
                           std::to_string(concurrency),
                           "--dumps",
                           std::to_string(n_dumps)};
                po.stdout_fd = pipefd[1];
                po.stderr_path = tmp.path() / ("floor-" + std::to_string(r) + ".log");
            }
            test_support::process p(po);
            ::close(pipefd[1]);
            std::string text;
            if (!read_until(pipefd[0],
                            daemon ? "watching events" : "ready",
                            std::chrono::seconds(30),
                            text))
                throw std::runtime_error(side + " did not start: " + text);
            // Keep reading its output on the side, so it never blocks on a full pipe.
            std::string rest_of_output;
            std::thread drain([fd = pipefd[0], &rest_of_output] {
                char buf[4096];
                for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
                    rest_of_output.append(buf, static_cast<std::size_t>(n));
            });
            // On a failure: stop the side, collect its output, and say what it was doing.
            auto fail = [&](const std::string& what) {
                p.stop(std::chrono::seconds(10));
                drain.join();
                ::close(pipefd[0]);
                return std::runtime_error(side + ": " + what + "; its last output:\n" +
                                          test_support::tail_lines(text + rest_of_output, 30));
            };

            // Every container runs and waits at the gate; then they all die at once.
            try {
                bench::start_containers(sock, ids, 4);
            } catch (const std::exception& e) {
                throw fail(e.what());
            }
            std::this_thread::sleep_for(std::chrono::seconds(1));
            if (!gate.release(sock, ids, std::chrono::minutes(5)))
                throw fail("containers still running after the gate opened");
            std::int64_t end_nano = 0;
            if (daemon) {
                if (!rest.wait_for(rest_seen + static_cast<std::size_t>(n_dumps),
                                   std::chrono::minutes(5)))
                    throw fail("the daemon did not notify every dump");
                end_nano = bench::now_nano();
                rest_seen += static_cast<std::size_t>(n_dumps);
                if (!kafka.wait_for(kafka_seen + static_cast<std::size_t>(n_dumps),
                                    std::chrono::minutes(2)))
                    throw fail("Kafka did not receive every notification");
                kafka_seen += static_cast<std::size_t>(n_dumps);
                p.signal(SIGTERM);
            }
            auto st = p.wait_for(std::chrono::minutes(5));
            if (!st)
                throw fail("still running after 5 minutes");
            drain.join();
            ::close(pipefd[0]);
            if (!st || !st->success())
                throw std::runtime_error(
                    side + " failed: " + (st ? st->describe() : "still running") + "\n" +
                    test_support::tail_lines(rest_of_output, 20) +
                    test_support::read_file(tmp.path() / ("floor-" + std::to_string(r) + ".log")));
            if (!daemon) {
                std::istringstream lines(rest_of_output);
                for (std::string w; lines >> w;)
                    if (w == "done") {
                        long long t;
                        lines >> t;
                        end_nano = std::max<std::int64_t>(end_nano, t);
                    }
            }
            if (!bench::wait_all_exited(sock, ids, std::chrono::minutes(1)))
                throw std::runtime_error("containers still running");
            std::int64_t first = 0;
            for (const auto& id : ids) {
                auto f = bench::finished_at_nano(sock, id);
                if (f > 0 && (first == 0 || f < first))
                    first = f;
            }
            double s = static_cast<double>(end_nano - first) / 1e9;
            if (!warm)
                results.push_back({r + 1, side, s});
            std::cerr << (warm ? std::string("warm-up") : "round " + std::to_string(r + 1)) << " "
                      << side << ": " << bench::fixed(s, 3) << " s\n";
            bench::remove_containers(sock, ids);
        }
    }

    bench::table t;
    t.title = "Burst: " + std::to_string(deaths) + " deaths, " + std::to_string(dumps) +
              " with a core, --max-concurrency " + std::to_string(concurrency) +
              " (first death -> last notification / last image deleted)";
    t.header = {"round", "daemon s", "floor s", "daemon / floor"};
    std::vector<double> dm, fl, ratios;
    std::string data = "# round daemon_s floor_s\n";
    for (int r = 1; r <= rounds; ++r) {
        double a = 0, b = 0;
        for (const auto& x : results)
            if (x.round == r)
                (x.side == "daemon" ? a : b) = x.seconds;
        dm.push_back(a);
        fl.push_back(b);
        ratios.push_back(a / b);
        t.rows.push_back(
            {std::to_string(r), bench::fixed(a, 3), bench::fixed(b, 3), bench::fixed(a / b, 3)});
        data += std::to_string(r) + " " + bench::fixed(a, 4) + " " + bench::fixed(b, 4) + "\n";
    }
    const double md = bench::median(dm), mf = bench::median(fl);
    t.rows.push_back({"**median**",
                      bench::fixed(md, 3),
                      bench::fixed(mf, 3),
                      "**" + bench::fixed(md / mf, 3) + "**"});
    t.print(out, "burst");
    std::printf("\nburst ratio (median daemon / median floor): %.3f (target <= 1.15); median of "
                "per-round ratios %.3f\n",
                md / mf,
                bench::median(ratios));
    data += "median " + bench::fixed(md, 4) + " " + bench::fixed(mf, 4) + "\n";
    auto png = bench::chart(
        out,
        "burst",
        data,
        "set title 'Burst: " + std::to_string(deaths) + " deaths, " + std::to_string(dumps) +
            " cores - daemon vs floor (ratio " + bench::fixed(md / mf, 2) +
            ")'\n"
            "set style data histograms\nset style histogram clustered gap 1\n"
            "set style fill solid 0.8 border -1\nset boxwidth 0.9\n"
            "set ylabel 'first death -> last notification (s)'\nset yrange [0:*]\n"
            "set grid ytics\nset key top left\n"
            "plot 'burst.dat' using 2:xtic(1) title 'core\\_interceptor', '' using 3 title "
            "'floor (same API calls only)'\n");
    std::printf("table: %s\n", (out / "burst.md").c_str());
    if (png)
        std::printf("chart: %s\n", png->c_str());
    return 0;
} catch (const std::exception& e) {
    std::cerr << "burst_bench: " << e.what() << '\n';
    return 1;
}
