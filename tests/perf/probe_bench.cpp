// SPDX-License-Identifier: MIT
// Probe cost against dump size: time and bytes read from the Docker socket to find and verify
// a core of 1 MiB, 64 MiB and 1 GiB, and the Engine calls a clean exit costs. Runs against a
// private dockerd (root). Prints a table; `--csv FILE` also writes the rows.
#include "docker/client.hpp"
#include "domain/dump.hpp"
#include "pipeline/job.hpp"
#include "support/private_dockerd.hpp"

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

template <class T>
T run(asio::io_context& io, asio::awaitable<T> op)
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
        "printf '\\177ELF\\002\\001\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\004\\000' > /tmp/core";
    if (mib > 0)
        script += " && dd if=/dev/zero bs=1048576 count=" + std::to_string(mib) + " >> /tmp/core 2>/dev/null";
    auto r = d.docker({"run", "--network", "none", "--name", name, "testimg:1.0", "sh", "-c", script},
                      std::chrono::minutes(5));
    if (!r.ok())
        throw std::runtime_error("cannot create " + name + ": " + r.err);
    auto id = d.docker({"inspect", "-f", "{{.Id}}", name});
    std::string s = id.out;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    return s;
}

}  // namespace

int main(int argc, char* argv[])
{
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
    auto clean = d.docker({"run", "--network", "none", "--name", "clean-exit", "testimg:1.0", "sh", "-c",
                           "echo done > /tmp/app.log; exit 0"});
    std::string clean_id = d.docker({"inspect", "-f", "{{.Id}}", "clean-exit"}).out.substr(0, 64);
    auto untouched = d.docker({"run", "--network", "none", "--name", "clean-untouched", "testimg:1.0", "true"});
    std::string untouched_id = d.docker({"inspect", "-f", "{{.Id}}", "clean-untouched"}).out.substr(0, 64);

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
    std::printf("%-10s %10s %10s %10s %12s %9s\n", "core", "median ms", "min ms", "max ms", "bytes read", "API calls");
    for (const auto& [mib, id] : containers) {
        std::vector<sample> samples;
        for (int r = 0; r < rounds; ++r) {
            auto calls0 = c.calls();
            auto bytes0 = c.bytes_read();
            auto t0 = clock_type::now();
            bool found = run(io, probe(c, id, patterns));
            auto t1 = clock_type::now();
            if (!found)
                throw std::runtime_error("the core was not recognised");
            samples.push_back({std::chrono::duration<double, std::milli>(t1 - t0).count(), c.bytes_read() - bytes0,
                               c.calls() - calls0});
        }
        std::sort(samples.begin(), samples.end(), [](auto& a, auto& b) { return a.ms < b.ms; });
        const auto& med = samples[samples.size() / 2];
        std::printf("%6d MiB %10.2f %10.2f %10.2f %12llu %9llu\n",
                    mib,
                    med.ms,
                    samples.front().ms,
                    samples.back().ms,
                    static_cast<unsigned long long>(med.bytes),
                    static_cast<unsigned long long>(med.calls));
        if (out)
            out << mib << ',' << med.ms << ',' << samples.front().ms << ',' << samples.back().ms << ',' << med.bytes
                << ',' << med.calls << '\n';
    }

    // A clean exit through the real job: only the changes list is asked for.
    (void)clean;
    (void)untouched;
    pipeline::config pcfg;
    pcfg.dump_patterns = patterns;
    pcfg.hostname = "bench";
    sinks::outbox no_sinks(io.get_executor(), {}, nullptr, {});
    pipeline::job_runner runner(c, no_sinks, nullptr, pcfg);
    bool ok = true;
    for (const auto& [id, what] : {std::pair{clean_id, "clean exit (wrote a file)"},
                                   std::pair{untouched_id, "clean exit (changed nothing: --rm check)"}}) {
        auto calls0 = c.calls();
        auto o = run(io, runner.run(domain::die_event{id, "clean", "testimg:1.0", 1}));
        ok = ok && o == pipeline::outcome::no_dump;
        std::printf("%s: outcome %s, %llu Engine API call(s)\n",
                    what,
                    o == pipeline::outcome::no_dump ? "no dump" : "UNEXPECTED",
                    static_cast<unsigned long long>(c.calls() - calls0));
    }
    return ok ? 0 : 1;
}
