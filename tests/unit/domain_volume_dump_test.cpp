// SPDX-License-Identifier: MIT
#include "domain/volume_dump.hpp"

#include "support/core_file.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace core_interceptor;
using namespace core_interceptor::domain;

namespace {

std::string elf_core(std::size_t size)
{
    std::string s(size, 'x');
    std::string head(32, '\0');
    head[0] = 0x7f, head[1] = 'E', head[2] = 'L', head[3] = 'F', head[4] = 2, head[5] = 1;
    head[16] = 4;  // ET_CORE, little endian
    s.replace(0, std::min<std::size_t>(32, size), head.substr(0, std::min<std::size_t>(32, size)));
    return s;
}

std::string pad(std::string data)
{
    data.resize((data.size() + 511) / 512 * 512, '\0');
    return data;
}

std::string member(const std::string& name, const std::string& content, char type = '0')
{
    std::string h = tar_file_header(name, content.size(), 0600, 1795556211);
    if (type != '0') {
        // Same header with another typeflag (and a fixed checksum).
        h = tar_file_header(name, 0, 0755, 1795556211);
        h[156] = type;
        unsigned sum = 0;
        for (std::size_t i = 0; i < 512; ++i)
            sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
        std::snprintf(&h[148], 8, "%06o", sum);
        h[155] = ' ';
        return h;
    }
    return h + pad(content);
}

std::string end_marker()
{
    return std::string(1024, '\0');
}

/// Records what a walker reports.
struct recorder final : tar_handler {
    std::vector<tar_entry> entries;
    std::vector<std::string> contents;
    bool ended = false;
    void on_entry(const tar_entry& e) override
    {
        entries.push_back(e);
        contents.emplace_back();
    }
    void on_content(std::string_view b) override { contents.back().append(b); }
    void on_entry_end() override {}
    void on_end() override { ended = true; }
};

/// Feeds `tar` in pieces of `piece` bytes.
template <class Feed> void in_pieces(const std::string& tar, std::size_t piece, Feed feed)
{
    for (std::size_t i = 0; i < tar.size(); i += piece)
        feed(std::string_view(tar).substr(i, piece));
}

const std::vector<std::string> patterns = {"core", "core.*", "*.core", "*.hprof"};

}  // namespace

TEST_CASE("volume dumps: --max-dump-size accepts bytes and binary suffixes")
{
    CHECK(parse_byte_size("0") == 0u);
    CHECK(parse_byte_size("1048576") == 1048576u);
    CHECK(parse_byte_size("64K") == 64u * 1024);
    CHECK(parse_byte_size("512M") == 512ull << 20);
    CHECK(parse_byte_size("2G") == 2ull << 30);
    CHECK(parse_byte_size("2g") == 2ull << 30);
    CHECK(parse_byte_size("2GiB") == 2ull << 30);
    CHECK(parse_byte_size("2GB") == 2ull << 30);
    CHECK(parse_byte_size("1T") == 1ull << 40);
    CHECK(parse_byte_size("10B") == 10u);
    for (const char* bad :
         {"", "G", "-1", "1.5G", "2X", "2Gi", "2 G", "99999999999999999999", "9000000T"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_byte_size(bad));
    }
}

TEST_CASE("volume dumps: copies keep the original path below /core_interceptor/dumps")
{
    CHECK(copied_dump_path("/dumps/core") == "/core_interceptor/dumps/dumps/core");
    CHECK(copied_dump_path("/var/crash/app/core.12") ==
          "/core_interceptor/dumps/var/crash/app/core.12");
    CHECK(normalize_dump_dir("/dumps") == "/dumps");
    CHECK(normalize_dump_dir("/var//crash/./") == "/var/crash");
    CHECK_FALSE(normalize_dump_dir("dumps"));
    CHECK_FALSE(normalize_dump_dir("/"));
    CHECK_FALSE(normalize_dump_dir("/var/../etc"));
    CHECK_FALSE(normalize_dump_dir(""));
}

TEST_CASE("volume dumps: the tar walker reads the same members whatever the piece size")
{
    const std::string long_name = "dumps/" + std::string(150, 'd') + "/core";
    const std::string tar = member("dumps/", "", '5') + member("dumps/a.txt", "hello") +
                            member(long_name, elf_core(700)) +
                            member("dumps/z", std::string(1025, 'z')) + end_marker();
    for (std::size_t piece : {1u, 7u, 511u, 512u, 513u, 4096u, 100000u}) {
        CAPTURE(piece);
        recorder r;
        tar_walker w(r);
        in_pieces(tar, piece, [&](std::string_view b) { w.feed(b); });
        CHECK_FALSE(w.failed());
        CHECK(w.ended());
        CHECK(r.ended);
        REQUIRE(r.entries.size() == 4);
        CHECK(r.entries[0].name == "dumps/");
        CHECK(r.entries[0].type == '5');
        CHECK(r.entries[1].name == "dumps/a.txt");
        CHECK(r.contents[1] == "hello");
        CHECK(r.entries[2].name == long_name);  // through a PAX path record
        CHECK(r.entries[2].size == 700);
        CHECK(r.contents[2] == elf_core(700));
        CHECK(r.entries[3].size == 1025);
        CHECK(r.entries[3].mode == 0600);
        CHECK(r.entries[3].mtime == 1795556211);
    }
}

TEST_CASE("volume dumps: a PAX size beyond the ustar field and a corrupt header")
{
    const std::string big = tar_file_header("dumps/core", 10ull << 30, 0600, 0);
    recorder r;
    tar_walker w(r);
    w.feed(big);
    CHECK_FALSE(w.failed());
    REQUIRE(r.entries.size() == 1);
    CHECK(r.entries[0].size == 10ull << 30);

    std::string bad = member("dumps/core", "x");
    bad[0] = 'X';  // checksum no longer matches
    recorder r2;
    tar_walker w2(r2);
    w2.feed(bad);
    CHECK(w2.failed());
    CHECK(r2.entries.empty());
}

TEST_CASE("volume dumps: the probe finds a dump without reading its content")
{
    const std::string core = elf_core(1 << 20);
    const std::string tar = member("dumps/", "", '5') + member("dumps/a.txt", "hello") +
                            member("dumps/core", core) + end_marker();
    volume_probe probe("/dumps", patterns);
    tar_walker w(probe);
    std::size_t fed = 0;
    in_pieces(tar, 512, [&](std::string_view b) {
        if (probe.result() == volume_probe::verdict::open) {
            w.feed(b);
            fed += b.size();
        }
    });
    REQUIRE(probe.result() == volume_probe::verdict::found);
    CHECK(probe.found().path == "/dumps/core");
    CHECK(probe.found().size == core.size());
    CHECK(probe.found().type == dump_type::core);
    CHECK(fed == 5 * 512);  // three headers, a.txt and the first block of the core
}

TEST_CASE("volume dumps: the probe ends with none on decoys and on dumps it must skip")
{
    const std::string tar =
        member("dumps/", "", '5') + member("dumps/core.js", "module.exports = 1;") +
        member("dumps/core", "") + member("dumps/core.1", "not a core") +
        member("dumps/sub", "", '5') + member("dumps/sub/old.core", elf_core(100)) + end_marker();
    volume_probe probe(
        "/dumps", patterns, [](const archive_dump& d) { return d.path == "/dumps/sub/old.core"; });
    tar_walker w(probe);
    w.feed(tar);
    CHECK(probe.result() == volume_probe::verdict::none);

    volume_probe empty("/dumps", patterns);
    tar_walker we(empty);
    we.feed(member("dumps/", "", '5') + end_marker());
    CHECK(empty.result() == volume_probe::verdict::none);

    volume_probe nested("/var/crash", patterns);
    tar_walker wn(nested);
    wn.feed(member("crash/", "", '5') + member("crash/app/java.hprof", "JAVA PROFILE 1.0.2") +
            end_marker());
    REQUIRE(nested.result() == volume_probe::verdict::found);
    CHECK(nested.found().path == "/var/crash/app/java.hprof");
    CHECK(nested.found().type == dump_type::hprof);

    volume_probe escape("/dumps", patterns);
    tar_walker wx(escape);
    wx.feed(member("dumps/../core", elf_core(64)) + end_marker());
    CHECK(escape.result() == volume_probe::verdict::none);
}

TEST_CASE("volume dumps: the extractor keeps only dumps, renamed, within the budget")
{
    const std::string small = elf_core(3000);
    const std::string large = elf_core(9000);
    const std::string tar = member("dumps/", "", '5') + member("dumps/a.txt", "hello") +
                            member("dumps/big.core", large) + member("dumps/core", small) +
                            member("dumps/core.js", "x") +
                            member("dumps/heap.hprof", "JAVA PROFILE 1.0.2 tiny") + end_marker();
    for (std::size_t piece : {1u, 100u, 512u, 8192u}) {
        CAPTURE(piece);
        dump_extractor x("/dumps", patterns, 5000);
        tar_walker w(x);
        std::string out;
        std::size_t most = 0;
        in_pieces(tar, piece, [&](std::string_view b) {
            w.feed(b);
            most = std::max(most, x.output().size());
            out += x.output();
            x.output().clear();
        });
        x.finish();
        out += x.output();
        CHECK(most <= piece + 2048);  // never more than a piece plus headers held
        REQUIRE(x.dumps().size() == 3);
        CHECK(x.dumps()[0].path == "/dumps/big.core");
        CHECK(x.dumps()[0].copied_to.empty());  // 9000 > 5000
        CHECK(x.dumps()[1].path == "/dumps/core");
        CHECK(x.dumps()[1].copied_to == "/core_interceptor/dumps/dumps/core");
        CHECK(x.dumps()[2].copied_to == "/core_interceptor/dumps/dumps/heap.hprof");
        CHECK(x.budget_left() == 5000 - small.size() - 23);

        // The output is a tar of exactly the copied dumps.
        recorder r;
        tar_walker back(r);
        back.feed(out);
        CHECK(back.ended());
        REQUIRE(r.entries.size() == 2);
        CHECK(r.entries[0].name == "core_interceptor/dumps/dumps/core");
        CHECK(r.contents[0] == small);
        CHECK(r.entries[0].mode == 0600);
        CHECK(r.entries[1].name == "core_interceptor/dumps/dumps/heap.hprof");
        CHECK(r.contents[1] == "JAVA PROFILE 1.0.2 tiny");
    }
}

TEST_CASE("volume dumps: an extractor that keeps nothing writes nothing")
{
    dump_extractor x("/dumps", patterns, 1 << 20, [](const archive_dump&) { return true; });
    tar_walker w(x);
    w.feed(member("dumps/", "", '5') + member("dumps/core", elf_core(600)) + end_marker());
    x.finish();
    CHECK(x.output().empty());
    CHECK_FALSE(x.wrote_any());
    CHECK(x.dumps().empty());
}

TEST_CASE("volume dumps: the extractor takes at most --max-volume-dumps and counts the rest")
{
    std::string tar;
    for (int i = 0; i < 40; ++i)
        tar += member("dumps/core." + std::to_string(100 + i), elf_core(64));
    tar += end_marker();
    dump_extractor x("/dumps", patterns, 1 << 20);
    x.set_max_dumps(16);
    tar_walker w(x);
    w.feed(tar);
    x.finish();
    CHECK(x.dumps().size() == 16);
    CHECK(x.skipped() == 24);
}

TEST_CASE("volume dumps: tar headers count against the copy budget; free space is checked with its "
          "reason")
{
    const std::string tar = member("dumps/core.1", elf_core(100)) +
                            member("dumps/core.2", elf_core(100)) + end_marker();
    SUBCASE("archive budget: 100 content bytes cost a header, padding and the end marker")
    {
        dump_extractor x("/dumps", patterns, 1 << 20);
        x.set_archive_budget(512 + 512 + 1024 + 512 + 512);  // both, exactly
        tar_walker w(x);
        w.feed(tar);
        REQUIRE(x.dumps().size() == 2);
        CHECK_FALSE(x.dumps()[0].copied_to.empty());
        CHECK_FALSE(x.dumps()[1].copied_to.empty());
        CHECK(x.archive_budget_left() == 0);
    }
    SUBCASE("archive budget one byte short: the second is reported, not copied")
    {
        dump_extractor x("/dumps", patterns, 1 << 20);
        x.set_archive_budget(512 + 512 + 1024 + 512 + 511);
        tar_walker w(x);
        w.feed(tar);
        REQUIRE(x.dumps().size() == 2);
        CHECK(x.dumps()[1].copied_to.empty());
        CHECK(x.dumps()[1].reason.find("--max-dump-size") != std::string::npos);
    }
    SUBCASE("no space: reported with the reason")
    {
        dump_extractor x("/dumps", patterns, 1 << 20);
        x.set_space(100);
        tar_walker w(x);
        w.feed(tar);
        REQUIRE(x.dumps().size() == 2);
        CHECK(x.dumps()[0].copied_to.empty());
        CHECK(x.dumps()[0].reason.find("free space") != std::string::npos);
        CHECK_FALSE(x.wrote_any());
    }
}

TEST_CASE("volume dumps: a core from a mount gets its crash fields, an hprof its header, copied "
          "or not, whatever the piece size")
{
    auto spec = test_support::big_core(40, 3);
    const std::string notes = test_support::make_core(spec);
    std::string core = notes + std::string(64 * 1024, '\0');  // the memory the notes precede
    const std::string tar =
        member("dumps/core", core) + member("dumps/big.core", core) +
        member("dumps/heap.hprof",
               std::string("JAVA PROFILE 1.0.2\0\0\0\0\x08", 23) + std::string(8, '\0') + "rest") +
        end_marker();
    auto whole = read_core_notes(notes);
    REQUIRE(whole.has_value());
    REQUIRE(whole->signal.has_value());
    for (std::size_t piece : {1u, 100u, 512u, 8192u, 1u << 20}) {
        CAPTURE(piece);
        // The budget lets the first core in and not the second: both are triaged.
        dump_extractor x("/dumps", patterns, core.size() + 10);
        tar_walker w(x);
        in_pieces(tar, piece, [&](std::string_view b) {
            w.feed(b);
            x.output().clear();
        });
        REQUIRE(x.dumps().size() == 3);
        CHECK_FALSE(x.dumps()[0].copied_to.empty());
        CHECK(x.dumps()[1].copied_to.empty());
        for (int i : {0, 1}) {
            REQUIRE(x.dumps()[i].crash.has_value());
            CHECK(*x.dumps()[i].crash == *whole);
            CHECK(x.dumps()[i].crash->signal == 11);
            CHECK_FALSE(x.dumps()[i].crash->signature.empty());
        }
        REQUIRE(x.dumps()[2].heap.has_value());
        CHECK(x.dumps()[2].heap->format == "JAVA PROFILE 1.0.2");
        CHECK(x.dumps()[2].heap->id_size == 8u);
        CHECK_FALSE(x.dumps()[2].crash.has_value());
    }

    // Notes past the cap: still a dump, with what could be read.
    dump_extractor capped("/dumps", patterns, 1u << 30);
    capped.set_notes_cap(1024);
    tar_walker w(capped);
    w.feed(member("dumps/core", core) + end_marker());
    REQUIRE(capped.dumps().size() == 1);
    CHECK(capped.dumps()[0].type == dump_type::core);
}

TEST_CASE("volume dumps: an archive cut anywhere before its end-of-archive marker is incomplete")
{
    const std::string tar =
        member("dumps/", "", '5') + member("dumps/core", elf_core(3000)) + end_marker();
    const std::size_t marker_at = tar.size() - end_marker().size();
    // Cut inside a header, inside the dump, inside its padding, just before the marker, inside
    // its first block. (Its first zero block ends the archive, as for GNU tar: what came before
    // is whole.)
    for (std::size_t cut : {std::size_t{100},
                            std::size_t{512 + 700},
                            std::size_t{1024 + 2900},
                            marker_at - 10,
                            marker_at,
                            marker_at + 511}) {
        CAPTURE(cut);
        dump_extractor x("/dumps", patterns, 1 << 20);
        tar_walker w(x);
        w.feed(std::string_view(tar).substr(0, cut));
        CHECK_FALSE(x.complete());
    }
    dump_extractor whole("/dumps", patterns, 1 << 20);
    tar_walker w(whole);
    w.feed(tar);
    CHECK(whole.complete());
    CHECK(whole.dumps().size() == 1);
}
