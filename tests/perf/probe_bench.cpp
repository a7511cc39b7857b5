// SPDX-License-Identifier: MIT
// Probe cost against dump size: time and bytes read from the Docker socket to find and verify
// a core of 1 MiB, 64 MiB and 1 GiB, and the Engine calls a clean exit and a filtered
// container cost after their die event (through the real watcher and job). Runs against a
// private dockerd (root). Prints markdown tables and draws probe_cost.png into the output
// directory (`--out DIR`); `--csv FILE` also writes the rows.
#include "bench_util.hpp"
#include "docker/client.hpp"
#include "domain/dump.hpp"
#include "pipeline/job.hpp"
#include "sinks/outbox.hpp"
#include "support/private_dockerd.hpp"
#include "watcher/watcher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace core_interceptor;
using clock_type = std::chrono::steady_clock;

namespace {

struct sample {
    double ms;
    std::uint64_t bytes;
    std::uint64_t calls;
};

template <class T> T run(asio::io_context& io, asio::awaitable<T> op)
{
    auto f = asio::co_spawn(io, std::move(op), asio::use_future);
    io.restart();
    io.run();
    return f.get();
}

asio::awaitable<bool> probe(docker::client& c, std::string id, std::vector<std::string> patterns)
{
    auto cands = co_await c.dump_candidates(id, patterns);
    if (!cands)
        co_return false;
    bool found = false;
    for (const auto& p : cands->candidates) {
        auto st = co_await c.stat_path(id, p);
        if (!st || !st->is_regular() || st->size <= 0)
            continue;
        auto head = co_await c.read_prefix(id, p, domain::magic_bytes);
        if (head && domain::classify(head->content) == domain::dump_type::core)
            found = true;
    }
    co_return found;
}

std::string make_container(test_support::private_dockerd& d, const std::string& name, int mib)
{
    // An ELF64 little-endian header with e_type ET_CORE, then `mib` MiB of zeros.
    std::string script =
        "printf '\\177ELF\\002\\001\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\004\\000' > "
        "/tmp/core";
    if (mib > 0)
        script += " && dd if=/dev/zero bs=1048576 count=" + std::to_string(mib) +
                  " >> /tmp/core 2>/dev/null";
    auto r =
        d.docker(test_support::run_isolated({"--name", name, "testimg:1.0", "sh", "-c", script}),
                 std::chrono::minutes(5));
    if (!r.ok())
        throw std::runtime_error("cannot create " + name + ": " + r.err);
    auto id = d.docker({"inspect", "-f", "{{.Id}}", name});
    std::string s = id.out;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    return s;
}

/// What a death costs after its event, counted on the client the watcher and the job share.
struct event_cost {
    std::uint64_t filtered_calls = 0;  ///< skip-labelled container: calls after its event
    std::uint64_t clean_calls = 0;     ///< clean exit: calls from its event to the job's end
    bool filtered_seen = false;
    bool clean_no_dump = false;
};

asio::awaitable<void> pause(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

/// Runs the watcher; a container labelled core_interceptor.skip=true dies, then a clean exit.
asio::awaitable<void> event_scenario(test_support::private_dockerd& d,
                                     docker::client& c,
                                     watcher::watcher& w,
                                     watcher::job_channel& q,
                                     pipeline::job_runner& runner,
                                     asio::cancellation_signal& stop_watcher,
                                     event_cost& out)
{
    for (int i = 0; i < 200 && !w.connected(); ++i)
        co_await pause(std::chrono::milliseconds(50));
    if (!w.connected())
        throw std::runtime_error("the watcher did not open the event stream");

    auto before = c.calls();
    d.docker(test_support::run_isolated({"--label",
                                         "core_interceptor.skip=true",
                                         "--name",
                                         "filtered-exit",
                                         "testimg:1.0",
                                         "sh",
                                         "-c",
                                         "echo done > /tmp/app.log; exit 0"}));
    for (int i = 0; i < 200 && w.filtered() == 0; ++i)
        co_await pause(std::chrono::milliseconds(20));
    out.filtered_seen = w.filtered() == 1;
    out.filtered_calls = c.calls() - before;

    d.docker(test_support::run_isolated(
        {"--name", "clean-exit-2", "testimg:1.0", "sh", "-c", "echo done > /tmp/app.log; exit 0"}));
    before = c.calls();
    auto [ec, ev] = co_await q.async_receive(asio::as_tuple(asio::use_awaitable));
    if (!ec) {
        auto o = co_await runner.run(ev);
        out.clean_no_dump = o == pipeline::outcome::no_dump;
    }
    out.clean_calls = c.calls() - before;
    stop_watcher.emit(asio::cancellation_type::terminal);
}

}  // namespace

int main(int argc, char* argv[])
try {
    const auto out_dir = bench::output_dir(argc, argv);
    std::filesystem::remove(out_dir / "probe.md");
    std::string csv;
    int rounds = 7;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--csv" && i + 1 < argc)
            csv = argv[++i];
        else if (a == "--rounds" && i + 1 < argc)
            rounds = std::stoi(argv[++i]);
    }

    test_support::private_dockerd d;
    d.build_test_image();
    const std::vector<int> sizes{1, 64, 1024};
    std::vector<std::pair<int, std::string>> containers;
    for (int mib : sizes)
        containers.emplace_back(mib, make_container(d, "probe-" + std::to_string(mib), mib));
    // Clean exits: one that wrote a file (the common case), one that changed nothing at all.
    auto clean = d.docker(test_support::run_isolated(
        {"--name", "clean-exit", "testimg:1.0", "sh", "-c", "echo done > /tmp/app.log; exit 0"}));
    std::string clean_id = d.docker({"inspect", "-f", "{{.Id}}", "clean-exit"}).out.substr(0, 64);
    auto untouched =
        d.docker(test_support::run_isolated({"--name", "clean-untouched", "testimg:1.0", "true"}));
    std::string untouched_id =
        d.docker({"inspect", "-f", "{{.Id}}", "clean-untouched"}).out.substr(0, 64);

    asio::io_context io;
    docker::client_config cfg;
    cfg.host = d.host();
    docker::client c(cfg);
    if (!run(io, c.negotiate()))
        throw std::runtime_error("cannot negotiate the API version");
    auto patterns = domain::default_dump_patterns();

    std::ofstream out;
    if (!csv.empty()) {
        out.open(csv);
        out << "core_mib,median_ms,min_ms,max_ms,bytes_read,api_calls\n";
    }
    bench::table t;
    t.title = "Probe cost against core size (changes, HEAD archive, GET archive prefix), " +
              std::to_string(rounds) + " rounds after a first probe";
    t.header = {
        "core", "first probe ms", "median ms", "min ms", "max ms", "bytes read", "API calls"};
    std::string data = "# core_mib median_ms bytes_read\n";
    std::vector<sample> medians;
    for (const auto& [mib, id] : containers) {
        // The first probe is shown apart: it pays for dockerd mounting the container's layers,
        // whatever the dump's size.
        auto cold0 = clock_type::now();
        run(io, probe(c, id, patterns));
        const double cold_ms =
            std::chrono::duration<double, std::milli>(clock_type::now() - cold0).count();
        std::vector<sample> samples;
        for (int r = 0; r < rounds; ++r) {
            auto calls0 = c.calls();
            auto bytes0 = c.bytes_read();
            auto t0 = clock_type::now();
            bool found = run(io, probe(c, id, patterns));
            auto t1 = clock_type::now();
            if (!found)
                throw std::runtime_error("the core was not recognised");
            samples.push_back({std::chrono::duration<double, std::milli>(t1 - t0).count(),
                               c.bytes_read() - bytes0,
                               c.calls() - calls0});
        }
        std::sort(samples.begin(), samples.end(), [](auto& a, auto& b) { return a.ms < b.ms; });
        const auto& med = samples[samples.size() / 2];
        t.rows.push_back({std::to_string(mib) + " MiB",
                          bench::fixed(cold_ms),
                          bench::fixed(med.ms),
                          bench::fixed(samples.front().ms),
                          bench::fixed(samples.back().ms),
                          std::to_string(med.bytes),
                          std::to_string(med.calls)});
        data += (mib >= 1024 ? "1GiB" : std::to_string(mib) + "MiB") + " " +
                bench::fixed(med.ms, 3) + " " + std::to_string(med.bytes) + "\n";
        medians.push_back(med);
        if (out)
            out << mib << ',' << med.ms << ',' << samples.front().ms << ',' << samples.back().ms
                << ',' << med.bytes << ',' << med.calls << '\n';
    }

    t.print(out_dir, "probe");
    const double time_ratio = medians.back().ms / medians.front().ms;
    std::printf("\n1 GiB core: %llu bytes read (target <= 65536), time %.2fx the 1 MiB case "
                "(target <= 1.5x)\n",
                static_cast<unsigned long long>(medians.back().bytes),
                time_ratio);
    auto png = bench::chart(
        out_dir,
        "probe_cost",
        data,
        "set title 'Probe cost against core size'\nset style fill solid 0.8 border -1\n"
        "set boxwidth 0.5\nset xtics nomirror\nset ytics nomirror\nset yrange [0:*]\n"
        "set y2range [0:*]\nset ylabel 'median time (ms)'\nset y2label 'bytes read from the "
        "socket'\n"
        "set y2tics\nset grid ytics\nset key outside bottom center horizontal\n"
        "plot 'probe_cost.dat' using 0:2:xtic(1) with boxes title 'time (ms)', "
        "'' using 0:3 axes x1y2 with linespoints lw 2 pt 7 title 'bytes read'\n");

    // A clean exit through the real job: only the changes list is asked for.
    (void)clean;
    (void)untouched;
    pipeline::config pcfg;
    pcfg.dump_patterns = patterns;
    pcfg.hostname = "bench";
    sinks::outbox no_sinks(io.get_executor(), {}, nullptr, {});
    pipeline::job_runner runner(c, no_sinks, nullptr, pcfg);
    bool ok = true;
    bench::table calls;
    calls.title = "Engine API calls after the die event";
    calls.header = {"death", "outcome", "API calls", "target"};
    for (const auto& [id, what] :
         {std::pair{clean_id, "clean exit, wrote a file (job only)"},
          std::pair{untouched_id, "clean exit, changed nothing (job only)"}}) {
        auto calls0 = c.calls();
        auto o = run(io, runner.run(domain::die_event{id, "clean", "testimg:1.0", 1}));
        ok = ok && o == pipeline::outcome::no_dump;
        calls.rows.push_back({what,
                              o == pipeline::outcome::no_dump ? "no dump" : "UNEXPECTED",
                              std::to_string(c.calls() - calls0),
                              "1"});
    }

    // The same through the watcher: a container with the opt-out label, then a clean exit.
    {
        docker::client wc(cfg);
        watcher::config wcfg;
        watcher::job_channel q(io, 16);
        watcher::watcher w(wc, wcfg, q);
        pipeline::job_runner wrunner(wc, no_sinks, nullptr, pcfg);
        asio::cancellation_signal stop_watcher;
        event_cost cost;
        asio::co_spawn(
            io, w.run(), asio::bind_cancellation_slot(stop_watcher.slot(), asio::detached));
        run(io, event_scenario(d, wc, w, q, wrunner, stop_watcher, cost));
        ok = ok && cost.filtered_seen && cost.clean_no_dump;
        calls.rows.push_back({"clean exit, through the watcher (event to job end)",
                              cost.clean_no_dump ? "no dump" : "UNEXPECTED",
                              std::to_string(cost.clean_calls),
                              "1"});
        calls.rows.push_back({"core_interceptor.skip=true, through the watcher",
                              cost.filtered_seen ? "filtered" : "NOT FILTERED",
                              std::to_string(cost.filtered_calls),
                              "0"});
    }
    calls.print(out_dir, "probe");
    std::printf("table: %s\n", (out_dir / "probe.md").c_str());
    if (png)
        std::printf("chart: %s\n", png->c_str());
    return ok ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "probe_bench: " << e.what() << '\n';
    return 1;
}
