// SPDX-License-Identifier: MIT
#include "domain/dump.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <string>

using namespace core_interceptor;
using namespace core_interceptor::domain;

namespace {

// The first bytes of an ELF file: magic, class, data (byte order), version, e_type at 16.
std::string elf_prefix(int data, std::uint16_t e_type)
{
    std::string s(64, '\0');
    s[0] = '\x7f';
    s[1] = 'E';
    s[2] = 'L';
    s[3] = 'F';
    s[4] = 2;  // ELFCLASS64
    s[5] = static_cast<char>(data);
    s[6] = 1;  // EV_CURRENT
    if (data == 1) {
        s[16] = static_cast<char>(e_type & 0xff);
        s[17] = static_cast<char>(e_type >> 8);
    } else {
        s[16] = static_cast<char>(e_type >> 8);
        s[17] = static_cast<char>(e_type & 0xff);
    }
    return s;
}

// A ustar header block with a valid checksum.
std::string tar_header(const std::string& name, std::uint64_t size, char type)
{
    std::string h(512, '\0');
    std::memcpy(h.data(), name.data(), std::min<std::size_t>(name.size(), 100));
    std::memcpy(h.data() + 100, "0000644", 7);
    std::memcpy(h.data() + 108, "0000000", 7);
    std::memcpy(h.data() + 116, "0000000", 7);
    std::snprintf(h.data() + 124, 12, "%011llo", static_cast<unsigned long long>(size));
    std::memcpy(h.data() + 136, "14712345670", 11);
    h[156] = type;
    std::memcpy(h.data() + 257, "ustar", 6);
    std::memcpy(h.data() + 263, "00", 2);
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h)
        sum += c;
    std::snprintf(h.data() + 148, 8, "%06o", sum);
    h[155] = ' ';
    return h;
}

std::string padded(std::string data)
{
    data.resize((data.size() + 511) / 512 * 512, '\0');
    return data;
}

std::string tar_file(const std::string& name, const std::string& content, char type = '0')
{
    return tar_header(name, content.size(), type) + padded(content);
}

std::string end_of_archive()
{
    return std::string(1024, '\0');
}

}  // namespace

TEST_CASE("dump magic: ELF ET_CORE in either byte order is a core")
{
    CHECK(classify(elf_prefix(1, 4)) == dump_type::core);
    CHECK(classify(elf_prefix(2, 4)) == dump_type::core);
    CHECK(classify(elf_prefix(1, 4).substr(0, 18)) == dump_type::core);
}

TEST_CASE("dump magic: other ELF files and unknown byte orders are not dumps")
{
    CHECK(classify(elf_prefix(1, 2)) == dump_type::none);  // ET_EXEC
    CHECK(classify(elf_prefix(1, 3)) == dump_type::none);  // ET_DYN
    CHECK(classify(elf_prefix(2, 0x0400)) == dump_type::none);
    CHECK(classify(elf_prefix(3, 4)) == dump_type::none);
    CHECK(classify(elf_prefix(1, 4).substr(0, 17)) == dump_type::none);  // too short to tell
}

TEST_CASE("dump magic: JAVA PROFILE is an hprof")
{
    CHECK(classify(std::string("JAVA PROFILE 1.0.2\0", 19)) == dump_type::hprof);
    CHECK(classify("JAVA PROFILE ") == dump_type::hprof);
    CHECK(classify("JAVA PROFILE") == dump_type::none);
}

TEST_CASE("dump magic: text, empty and random files are not dumps")
{
    CHECK(classify("'use strict';\nmodule.exports = core;\n") == dump_type::none);  // core.js
    CHECK(classify("") == dump_type::none);
    CHECK(classify("\x7f"
                   "EL") == dump_type::none);
    CHECK(to_string(dump_type::core) == "core");
    CHECK(to_string(dump_type::hprof) == "hprof");
    CHECK(to_string(dump_type::none) == "none");
}

TEST_CASE("dump patterns: basenames are matched against the globs")
{
    const auto patterns = default_dump_patterns();
    CHECK(patterns == std::vector<std::string>{"core", "core.*", "*.core", "*.hprof"});
    CHECK(matches_dump_pattern(patterns, "/tmp/core"));
    CHECK(matches_dump_pattern(patterns, "core"));
    CHECK(matches_dump_pattern(patterns, "/app/core.1234"));
    CHECK(matches_dump_pattern(patterns, "/app/server.core"));
    CHECK(matches_dump_pattern(patterns, "/dumps/java_pid1.hprof"));
    CHECK_FALSE(matches_dump_pattern(patterns, "/tmp/mycore"));
    CHECK_FALSE(matches_dump_pattern(patterns, "/core/x"));
    CHECK_FALSE(matches_dump_pattern(patterns, "/tmp/core/"));
    CHECK_FALSE(matches_dump_pattern(patterns, ""));
    CHECK_FALSE(matches_dump_pattern({}, "/tmp/core"));
}

TEST_CASE("dump candidates: added and modified entries whose basename matches, in order")
{
    const std::string body =
        R"([{"Path":"/tmp","Kind":0},{"Path":"/tmp/core","Kind":1},)"
        R"({"Path":"/app/core.1234","Kind":0},{"Path":"/var/old.hprof","Kind":2},)"
        R"({"Path":"/srv/core.js","Kind":1},{"Path":"/srv/notes.txt","Kind":1}])";
    auto r = dump_candidates(body, default_dump_patterns());
    REQUIRE(r.has_value());
    CHECK(*r == std::vector<std::string>{"/tmp/core", "/app/core.1234", "/srv/core.js"});
}

TEST_CASE("dump candidates: the real two-entry body of a crashed container")
{
    auto r = dump_candidates(R"([{"Path":"/tmp","Kind":1},{"Path":"/tmp/core","Kind":1}])",
                             default_dump_patterns());
    REQUIRE(r.has_value());
    CHECK(*r == std::vector<std::string>{"/tmp/core"});
}

TEST_CASE("dump candidates: null is an empty list, other shapes are malformed")
{
    auto none = dump_candidates("null", default_dump_patterns());
    REQUIRE(none.has_value());
    CHECK(none->empty());
    auto empty = dump_candidates("[]", default_dump_patterns());
    REQUIRE(empty.has_value());
    CHECK(empty->empty());

    for (std::string bad : {"",
                            "{}",
                            "[1]",
                            R"([{"Path":1,"Kind":1}])",
                            R"([{"Path":"/core"}])",
                            R"([{"Path":"/core","Kind":"1"}])",
                            "[{\"Path\":",
                            "not json"}) {
        CAPTURE(bad);
        auto r = dump_candidates(bad, default_dump_patterns());
        REQUIRE(r.has_error());
        CHECK(r.error().code == make_error_code(errc::malformed_response));
    }
}

TEST_CASE("dump candidates: more entries than the limit is limit_exceeded")
{
    auto r = dump_candidates(
        R"([{"Path":"/a","Kind":1},{"Path":"/b","Kind":1}])", default_dump_patterns(), 1);
    REQUIRE(r.has_error());
    CHECK(r.error().code == make_error_code(errc::limit_exceeded));
}

TEST_CASE("tar prefix: the first bytes of a regular file, fed in one go")
{
    const auto content = elf_prefix(1, 4) + std::string(1000, 'z');
    const auto archive = tar_file("core", content) + end_of_archive();
    tar_prefix_reader reader;
    auto used = reader.feed(archive);
    REQUIRE(reader.done());
    CHECK_FALSE(reader.failed());
    CHECK(used == 512 + magic_bytes);
    CHECK(reader.content() == content.substr(0, magic_bytes));
    CHECK(reader.file_size() == static_cast<std::int64_t>(content.size()));
    CHECK(classify(reader.content()) == dump_type::core);
    CHECK(reader.feed("more") == 0);
}

TEST_CASE("tar prefix: fed byte by byte it stops right after the wanted bytes")
{
    const auto content = std::string("JAVA PROFILE 1.0.2") + std::string(600, '\1');
    const auto archive = tar_file("heap.hprof", content) + end_of_archive();
    tar_prefix_reader reader(20);
    std::size_t offset = 0;
    while (!reader.done() && !reader.failed() && offset < archive.size()) {
        CHECK(reader.feed(archive.substr(offset, 1)) == 1);
        ++offset;
    }
    REQUIRE(reader.done());
    CHECK(offset == 512 + 20);
    CHECK(reader.content() == content.substr(0, 20));
    CHECK(classify(reader.content()) == dump_type::hprof);
}

TEST_CASE("tar prefix: a file shorter than wanted is collected whole")
{
    tar_prefix_reader reader;
    reader.feed(tar_file("core", "tiny") + end_of_archive());
    REQUIRE(reader.done());
    CHECK(reader.content() == "tiny");
    CHECK(reader.file_size() == 4);
}

TEST_CASE("tar prefix: an empty file is done at once with no content")
{
    tar_prefix_reader reader;
    CHECK(reader.feed(tar_header("core", 0, '0')) == 512);
    REQUIRE(reader.done());
    CHECK(reader.content().empty());
    CHECK(reader.file_size() == 0);
}

TEST_CASE("tar prefix: PAX and GNU long-name entries are skipped")
{
    const std::string long_name(150, 'n');
    const std::string pax = "160 path=" + long_name + "\n";
    const auto content = elf_prefix(2, 4);

    SUBCASE("PAX extended header")
    {
        const auto archive = tar_file("PaxHeaders.0/core", pax, 'x') +
                             tar_file(long_name.substr(0, 100), content) + end_of_archive();
        const std::size_t chunks[] = {1, 7, 512, archive.size()};
        for (std::size_t chunk : chunks) {
            CAPTURE(chunk);
            tar_prefix_reader reader;
            for (std::size_t at = 0; at < archive.size() && !reader.done() && !reader.failed();
                 at += chunk)
                reader.feed(archive.substr(at, chunk));
            REQUIRE(reader.done());
            CHECK(reader.content() == content.substr(0, magic_bytes));
            CHECK(classify(reader.content()) == dump_type::core);
        }
    }
    SUBCASE("PAX global header and GNU long name")
    {
        const auto archive = tar_file("pax_global_header", "20 comment=abcdefgh\n", 'g') +
                             tar_file("././@LongLink", long_name + '\0', 'L') +
                             tar_file("core", content) + end_of_archive();
        tar_prefix_reader reader;
        reader.feed(archive);
        REQUIRE(reader.done());
        CHECK(classify(reader.content()) == dump_type::core);
    }
    SUBCASE("an empty extension entry")
    {
        tar_prefix_reader reader;
        reader.feed(tar_header("PaxHeaders.0/core", 0, 'x') + tar_file("core", content));
        REQUIRE(reader.done());
        CHECK(reader.content() == content.substr(0, magic_bytes));
    }
}

TEST_CASE("tar prefix: GNU base-256 sizes are read")
{
    auto header = tar_header("core", 0, '0');
    const std::uint64_t size = std::uint64_t{1} << 40;
    std::memset(header.data() + 124, 0, 12);
    header[124] = static_cast<char>(0x80);
    for (int i = 0; i < 8; ++i)
        header[135 - i] = static_cast<char>((size >> (8 * i)) & 0xff);
    std::memset(header.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : header)
        sum += c;
    std::snprintf(header.data() + 148, 8, "%06o", sum);
    header[155] = ' ';

    tar_prefix_reader reader;
    reader.feed(header + elf_prefix(1, 4));
    REQUIRE(reader.done());
    CHECK(reader.file_size() == static_cast<std::int64_t>(size));
    CHECK(classify(reader.content()) == dump_type::core);
}

TEST_CASE("tar prefix: a directory, a symlink or an end of archive first is failed")
{
    SUBCASE("directory")
    {
        tar_prefix_reader reader;
        CHECK(reader.feed(tar_header("core/", 0, '5') + end_of_archive()) == 512);
        CHECK(reader.failed());
        CHECK_FALSE(reader.done());
    }
    SUBCASE("symlink")
    {
        tar_prefix_reader reader;
        reader.feed(tar_header("core", 0, '2'));
        CHECK(reader.failed());
    }
    SUBCASE("end of archive")
    {
        tar_prefix_reader reader;
        reader.feed(end_of_archive());
        CHECK(reader.failed());
    }
    SUBCASE("PAX header then end of archive")
    {
        tar_prefix_reader reader;
        reader.feed(tar_file("PaxHeaders.0/core", "20 comment=abcdefgh\n", 'x') + end_of_archive());
        CHECK(reader.failed());
    }
}

TEST_CASE("tar prefix: a bad checksum, a bad size or a huge extension entry is failed")
{
    SUBCASE("checksum")
    {
        auto header = tar_header("core", 4, '0');
        header[0] = 'C';
        tar_prefix_reader reader;
        reader.feed(header + padded("data"));
        CHECK(reader.failed());
    }
    SUBCASE("not a tar at all")
    {
        tar_prefix_reader reader;
        reader.feed(std::string(600, 'x'));
        CHECK(reader.failed());
    }
    SUBCASE("size field is not octal")
    {
        auto header = tar_header("core", 4, '0');
        std::memcpy(header.data() + 124, "0000000009z", 11);
        std::memset(header.data() + 148, ' ', 8);
        unsigned sum = 0;
        for (unsigned char c : header)
            sum += c;
        std::snprintf(header.data() + 148, 8, "%06o", sum);
        header[155] = ' ';
        tar_prefix_reader reader;
        reader.feed(header + padded("data"));
        CHECK(reader.failed());
    }
    SUBCASE("extension entry over 1 MiB")
    {
        tar_prefix_reader reader;
        reader.feed(tar_header("PaxHeaders.0/core", 2u << 20, 'x'));
        CHECK(reader.failed());
    }
    SUBCASE("incomplete header is neither done nor failed")
    {
        tar_prefix_reader reader;
        CHECK(reader.feed(tar_header("core", 4, '0').substr(0, 300)) == 300);
        CHECK_FALSE(reader.done());
        CHECK_FALSE(reader.failed());
    }
}

TEST_CASE("tar prefix: random bytes after a valid header never crash the reader")
{
    std::uint32_t state = 99;
    auto next = [&state] {
        state = state * 1664525u + 1013904223u;
        return state >> 8;
    };
    for (int i = 0; i < 300; ++i) {
        std::string stream;
        if (i % 2 == 0)
            stream = tar_header("PaxHeaders.0/core", next() % 2000, 'x');
        auto length = next() % 3000;
        for (std::uint32_t j = 0; j < length; ++j)
            stream += static_cast<char>(next() & 0xff);
        tar_prefix_reader reader;
        std::size_t at = 0;
        while (at < stream.size() && !reader.done() && !reader.failed()) {
            auto piece = std::string_view(stream).substr(at, 1 + next() % 700);
            auto used = reader.feed(piece);
            REQUIRE(used <= piece.size());
            if (!reader.done() && !reader.failed())
                REQUIRE(used == piece.size());  // only an ending stops it early
            at += used;
        }
        CHECK(reader.content().size() <= magic_bytes);
    }
}
