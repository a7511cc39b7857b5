// SPDX-License-Identifier: MIT
// Dumps in mounts (--dump-path): the tar stream of GET /containers/{id}/archive of a
// directory, walked member by member by the probe and by the copy that rewrites it.
#include "domain/volume_dump.hpp"
#include "fuzz_input.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace core_interceptor;
using namespace core_interceptor::domain;

namespace {

struct recorder final : tar_handler {
    std::string log;  // every event, in order
    std::size_t entries = 0;
    void on_entry(const tar_entry& e) override
    {
        ++entries;
        log += "E" + e.name + "|" + e.type + "|" + std::to_string(e.size) + "|" +
               std::to_string(e.mtime) + "\n";
    }
    void on_content(std::string_view b) override { log.append(b); }
    void on_entry_end() override { log += "\nX\n"; }
    void on_end() override { log += "END\n"; }
};

const std::vector<std::string> patterns = {"core", "core.*", "*.core", "*.hprof"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const fuzz::cut_input input(data, size);

    // How the socket cuts the archive must not change what is read from it.
    recorder whole;
    tar_walker whole_walker(whole);
    whole_walker.feed(input.stream());
    recorder cut;
    tar_walker cut_walker(cut);
    input.for_each_piece([&](std::string_view piece, bool) { cut_walker.feed(piece); });
    FUZZ_CHECK(whole.log == cut.log);
    FUZZ_CHECK(whole_walker.failed() == cut_walker.failed());
    FUZZ_CHECK(whole_walker.ended() == cut_walker.ended());
    FUZZ_CHECK(!(whole_walker.failed() && whole_walker.ended()));

    // The probe reaches the same verdict either way.
    volume_probe probe_whole("/dumps", patterns);
    tar_walker pw(probe_whole);
    pw.feed(input.stream());
    volume_probe probe_cut("/dumps", patterns);
    tar_walker pc(probe_cut);
    input.for_each_piece([&](std::string_view piece, bool) { pc.feed(piece); });
    FUZZ_CHECK(probe_whole.result() == probe_cut.result());
    if (probe_whole.result() == volume_probe::verdict::found) {
        FUZZ_CHECK(probe_whole.found().path == probe_cut.found().path);
        FUZZ_CHECK(probe_whole.found().path.starts_with("/"));
        FUZZ_CHECK(probe_whole.found().type != dump_type::none);
    }

    // The copy keeps only dumps, within its budget, and writes a tar that reads back cleanly
    // with exactly the copied members, each below copied_dumps_root.
    const std::uint64_t budget = std::uint64_t{input.param()} * 64;
    dump_extractor x("/dumps", patterns, budget);
    tar_walker xw(x);
    std::string out;
    input.for_each_piece([&](std::string_view piece, bool) {
        xw.feed(piece);
        FUZZ_CHECK(x.output().size() <= piece.size() + 4096);  // a piece plus headers, no more
        out += x.output();
        x.output().clear();
    });
    x.finish();
    out += x.output();
    std::uint64_t copied = 0;
    std::size_t copied_members = 0;
    for (const auto& d : x.dumps()) {
        FUZZ_CHECK(d.type != dump_type::none);
        if (!d.copied_to.empty()) {
            FUZZ_CHECK(d.copied_to == copied_dump_path(d.path));
            FUZZ_CHECK(d.path.find("/../") == std::string::npos);
            copied += d.size;
            ++copied_members;
        }
    }
    FUZZ_CHECK(copied <= budget);
    FUZZ_CHECK(copied + x.budget_left() == budget);
    FUZZ_CHECK(out.empty() == (copied_members == 0));
    if (xw.ended() && !xw.failed()) {
        recorder back;
        tar_walker bw(back);
        bw.feed(out);
        FUZZ_CHECK(out.empty() || (bw.ended() && !bw.failed()));
        FUZZ_CHECK(back.entries == copied_members);
    }

    (void)parse_byte_size(input.stream());
    (void)normalize_dump_dir(input.stream());
    return 0;
}
