// SPDX-License-Identifier: MIT
// Issue 12: what reading a core's notes costs the probe. A core of a process with 2,000
// mappings and 64 threads (synthesised as the kernel lays one out: ELF header, PT_NOTE first,
// a PT_LOAD per mapping, the notes after the program headers, per thread NT_PRSTATUS,
// NT_PRFPREG and NT_X86_XSTATE), padded sparse to 1 MiB and 1 GiB inside a container of a
// private dockerd (root). The probe's GET of the archive reads on to the end of the note
// segment and drops the connection: its bytes and time must not grow with the core's size.
// Prints a markdown table into the output directory (`--out DIR`).
#include "bench_util.hpp"
#include "docker/client.hpp"
#include "domain/crash.hpp"
#include "pipeline/triage.hpp"
#include "support/core_file.hpp"
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

// Upper bound of what a GET costs besides the tar header and the notes: the HTTP response
// header (~300 bytes) and, at most, one read chunk of the client past the notes' end.
constexpr std::uint64_t read_chunk = 8 * 1024;

template <class T> T run(asio::io_context& io, asio::awaitable<T> op)
{
    auto f = asio::co_spawn(io, std::move(op), asio::use_future);
    io.restart();
    io.run();
    return f.get();
}

std::string trim(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    return s;
}

/// A stopped container whose /tmp/core is `core` padded (sparse) to `size` bytes.
std::string make_container(test_support::private_dockerd& d,
                           const std::filesystem::path& core,
                           const std::string& name,
                           std::uint64_t size)
{
    // dd with seek and no count extends the file to `size` without writing a byte.
    auto c =
        d.docker(test_support::create_isolated({"--name",
                                                name,
                                                "testimg:1.0",
                                                "sh",
                                                "-c",
                                                "dd if=/dev/zero of=/tmp/core bs=1 count=0 seek=" +
                                                    std::to_string(size) + " 2>/dev/null"}));
    if (!c.ok())
        throw std::runtime_error("cannot create " + name + ": " + c.err);
    auto cp = d.docker({"cp", core.string(), name + ":/tmp/core"});
    if (!cp.ok())
        throw std::runtime_error("cannot copy the core into " + name + ": " + cp.err);
    auto s = d.docker({"start", "-a", name}, std::chrono::minutes(2));
    if (!s.ok())
        throw std::runtime_error("cannot pad the core of " + name + ": " + s.err);
    return trim(d.docker({"inspect", "-f", "{{.Id}}", name}).out);
}

struct sample {
    double ms;
    std::uint64_t bytes;
};

/// `rounds` runs of `probe`, sorted by time: bytes read from the socket and milliseconds each.
template <class Probe>
std::vector<sample> measure(asio::io_context& io, docker::client& c, int rounds, Probe probe)
{
    std::vector<sample> samples;
    for (int r = 0; r < rounds; ++r) {
        const auto bytes0 = c.bytes_read();
        const auto t0 = clock_type::now();
        auto head = run(io, probe());
        samples.push_back(
            {std::chrono::duration<double, std::milli>(clock_type::now() - t0).count(),
             c.bytes_read() - bytes0});
        if (!head)
            throw std::runtime_error("probe failed: " + head.error().describe());
    }
    std::sort(samples.begin(), samples.end(), [](auto& a, auto& b) { return a.ms < b.ms; });
    return samples;
}

/// One row of the table: a core of `size` probed `rounds` times as the daemon probes it, and
/// as it was probed before its notes were read (the magic only).
struct row {
    bool ok = false;
    sample median;
    std::vector<std::string> cells;
};

row probe_row(asio::io_context& io,
              docker::client& c,
              const std::string& id,
              const std::pair<std::string, std::uint64_t>& size,
              std::uint64_t notes_end,
              int rounds)
{
    const auto need = pipeline::probe_need(domain::default_notes_cap);
    run(io, c.read_head(id, "/tmp/core", need));  // first: dockerd mounts the layers
    const auto samples = measure(io, c, rounds, [&] { return c.read_head(id, "/tmp/core", need); });
    const auto& med = samples[samples.size() / 2];
    const auto magic =
        measure(io, c, rounds, [&] { return c.read_prefix(id, "/tmp/core", domain::magic_bytes); });
    const auto head = run(io, c.read_head(id, "/tmp/core", need));
    if (!head)
        throw std::runtime_error("probe failed: " + head.error().describe());
    auto notes = domain::read_core_notes(head->content);
    const bool complete = head->content.size() == notes_end && notes && notes->complete;
    row r;
    r.ok = complete && static_cast<std::uint64_t>(head->size) == size.second &&
           med.bytes <= notes_end + 512 + read_chunk + 1024;
    r.median = med;
    r.cells = {size.first,
               std::to_string(head->size),
               bench::fixed(med.ms),
               bench::fixed(samples.front().ms),
               bench::fixed(samples.back().ms),
               std::to_string(med.bytes),
               std::to_string(notes_end + 512),
               bench::fixed(magic[magic.size() / 2].ms),
               std::to_string(magic[magic.size() / 2].bytes),
               complete ? "all" : "INCOMPLETE",
               notes && notes->threads ? std::to_string(*notes->threads) : "?",
               notes && notes->frame ? notes->frame->module : "?"};
    return r;
}

}  // namespace

int main(int argc, char* argv[])
try {
    const auto out_dir = bench::output_dir(argc, argv);
    std::filesystem::remove(out_dir / "notes.md");
    int rounds = 9;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--rounds")
            rounds = std::stoi(argv[++i]);

    const std::string core = test_support::make_core(test_support::big_core(2000, 64));
    const std::uint64_t notes_end = core.size();
    test_support::private_dockerd d;
    d.build_test_image();
    const auto core_file = d.dir() / "notes-core";
    std::ofstream(core_file, std::ios::binary) << core;

    const std::vector<std::pair<std::string, std::uint64_t>> sizes{
        {"1 MiB", std::uint64_t{1} << 20}, {"1 GiB", std::uint64_t{1} << 30}};
    std::vector<std::string> ids;
    for (const auto& [label, size] : sizes)
        ids.push_back(make_container(d, core_file, "notes-" + std::to_string(size), size));

    asio::io_context io;
    docker::client_config cfg;
    cfg.host = d.host();
    docker::client c(cfg);
    if (!run(io, c.negotiate()))
        throw std::runtime_error("cannot negotiate the API version");

    bench::table t;
    t.title = "Probe GET of a core with 2,000 mappings and 64 threads (note segment ends at " +
              std::to_string(notes_end) + " bytes), median of " + std::to_string(rounds) +
              " rounds";
    t.header = {"core",
                "file size",
                "median ms",
                "min ms",
                "max ms",
                "bytes read (socket)",
                "notes + tar header",
                "magic only: median ms",
                "magic only: bytes",
                "notes read",
                "threads",
                "frame"};
    bool ok = true;
    std::vector<sample> medians;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        auto r = probe_row(io, c, ids[i], sizes[i], notes_end, rounds);
        ok = ok && r.ok;
        medians.push_back(r.median);
        t.rows.push_back(std::move(r.cells));
    }
    t.print(out_dir, "notes");
    const double ratio = medians.back().ms / medians.front().ms;
    std::printf(
        "\n1 GiB core: %llu bytes read from the socket (notes + tar header = %llu; plus the HTTP "
        "header and "
        "at most one %llu-byte read past the notes), time %.2fx the 1 MiB case (target <= 1.5x)\n",
        static_cast<unsigned long long>(medians.back().bytes),
        static_cast<unsigned long long>(notes_end + 512),
        static_cast<unsigned long long>(read_chunk),
        ratio);
    std::printf("table: %s\n", (out_dir / "notes.md").c_str());
    return ok ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "notes_bench: " << e.what() << '\n';
    return 1;
}
