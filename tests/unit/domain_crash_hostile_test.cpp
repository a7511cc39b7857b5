// SPDX-License-Identifier: MIT
#include "core_builder.hpp"
#include "domain/crash.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace core_interceptor;
using namespace core_interceptor::domain;
using namespace core_interceptor::test;

TEST_CASE("crash notes: hostile lengths and offsets are refused, never followed")
{
    const crash_case c;
    const auto good = c.file();
    SUBCASE("namesz and descsz near 4 GiB")
    {
        for (std::size_t field : {0u, 4u}) {
            auto f = good;
            put(f, 64 + 56 * 8 + field, 0xfffffffd, 4);
            const auto info = read(f);
            CHECK_FALSE(info.complete);
            CHECK_FALSE(info.signal);
            CHECK_FALSE(info.threads);
        }
    }
    SUBCASE("NT_FILE count larger than the note")
    {
        std::string n = note(nt_prstatus, prstatus(em_x86_64, 11, 1, c.lib + 0x1100));
        n += note(nt_auxv, auxv(c.base + 0x1040));
        auto files = file_note(c.maps());
        put(files, 0, 0x0aaaaaaaaaaaaaab, 8);  // count * 24 wraps around 2^64
        n += note(nt_file, files);
        const auto info = read(core_file(em_x86_64, n));
        CHECK(info.complete);
        CHECK(info.signal == 11);
        CHECK(info.executable.empty());
        CHECK_FALSE(info.frame);
    }
    SUBCASE("NT_FILE names missing")
    {
        auto files = file_note(c.maps());
        files.resize(files.size() - 10);
        std::string n = note(nt_prstatus, prstatus(em_x86_64, 11, 1, c.lib + 0x1100));
        n += note(nt_file, files);
        const auto info = read(core_file(em_x86_64, n));
        CHECK(info.complete);
        CHECK_FALSE(info.frame);
    }
    SUBCASE("file offsets in pages that overflow")
    {
        std::string n = note(nt_prstatus, prstatus(em_x86_64, 11, 1, c.lib + 0x1100));
        n += note(nt_file, file_note({{c.lib, c.lib + 0x2000, 1ull << 60, "/x"}}, 1ull << 12));
        CHECK_FALSE(read(core_file(em_x86_64, n)).frame);
    }
    SUBCASE("note segment past the end, or wrapping around")
    {
        auto f = good;
        put(f, 64 + 8, 1ull << 40, 8);  // p_offset
        CHECK(core_notes_end(f, default_notes_cap) == f.size());
        auto info = read(f);
        CHECK_FALSE(info.complete);
        CHECK_FALSE(info.signal);
        put(f, 64 + 8, 0xffffffffffffff00, 8);
        put(f, 64 + 32, 0x1000, 8);  // p_filesz
        CHECK(core_notes_end(f, default_notes_cap) == f.size());
        CHECK_FALSE(read(f).signal);
    }
    SUBCASE("program headers past the end, or too small")
    {
        auto f = good;
        put(f, 32, 0xfffffffffffffff0, 8);  // e_phoff
        CHECK(core_notes_end(f, default_notes_cap) == f.size());
        CHECK_FALSE(read(f).signal);
        f = good;
        put(f, 54, 32, 2);  // e_phentsize
        CHECK_FALSE(read(f).signal);
        f = good;
        put(f, 64, 1, 4);  // the first program header is PT_LOAD
        CHECK(core_notes_end(f, default_notes_cap) == f.size());
        CHECK_FALSE(read(f).signal);
    }
    SUBCASE("notes too short for their structure")
    {
        std::string n = note(nt_prstatus, std::string(20, '\x0b'));
        n += note(nt_prpsinfo, std::string(100, 'a'));
        n += note(nt_siginfo, std::string(8, '\x0b'));
        n += note(nt_auxv, std::string(15, '\x09'));
        const auto info = read(core_file(em_x86_64, n));
        CHECK(info.complete);
        CHECK(info.threads == 1);
        CHECK_FALSE(info.signal);
        CHECK_FALSE(info.pid);
        CHECK(info.command.empty());
        CHECK(info.signature.empty());
    }
    SUBCASE("a note longer than its segment")
    {
        auto f = good;
        put(f, 64 + 32, 64, 8);  // p_filesz: only part of the first note
        const auto info = read(f);
        CHECK_FALSE(info.complete);
        CHECK_FALSE(info.signal);
    }
}

TEST_CASE("crash notes: not a 64-bit little-endian core")
{
    const auto good = crash_case{}.file();
    CHECK_FALSE(read_core_notes("").has_value());
    CHECK_FALSE(read_core_notes("JAVA PROFILE 1.0.2").has_value());
    CHECK_FALSE(read_core_notes(good.substr(0, 17)).has_value());
    for (auto [at, byte] : {std::pair{0, '\x7e'}, {4, '\x01'}, {5, '\x02'}, {16, '\x02'}}) {
        auto f = good;
        f[static_cast<std::size_t>(at)] = byte;
        auto r = read_core_notes(f);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == make_error_code(errc::malformed_response));
        CHECK(core_notes_end(f, default_notes_cap) == f.size());
    }
}

TEST_CASE("core_notes_end: asks for the header, the first program header, then the notes")
{
    const crash_case c;
    const auto file = c.file(1 << 20);
    const std::size_t notes_end = 64 + 56 * 8 + c.notes().size();
    CHECK(core_notes_end(file.substr(0, 0), 1000) == 64);
    CHECK(core_notes_end(file.substr(0, 32), 1000) == 64);
    CHECK(core_notes_end(file.substr(0, 64), 1000) == 120);
    CHECK(core_notes_end(file.substr(0, 100), 1000) == 120);
    CHECK(core_notes_end(file.substr(0, 120), 1 << 20) == notes_end);
    CHECK(core_notes_end(file.substr(0, 500), 1 << 20) == notes_end);
    CHECK(core_notes_end(file.substr(0, notes_end), 1 << 20) == notes_end);
    CHECK(core_notes_end(file.substr(0, notes_end + 10), 1 << 20) == notes_end + 10);
    CHECK(core_notes_end("not a core at all", 1000) == 17);
    CHECK(core_notes_end("", 1000) == 64);  // nothing yet: it may be a core
    SUBCASE("the cap bounds what is asked for")
    {
        CHECK(core_notes_end(file.substr(0, 32), 40) == 32);
        CHECK(core_notes_end(file.substr(0, 64), 100) == 64);
        CHECK(core_notes_end(file.substr(0, 120), 1000) == 1000);
        CHECK(core_notes_end(file.substr(0, 1000), 1000) == 1000);
        CHECK(core_notes_end(file.substr(0, 2000), 1000) == 2000);
        // Notes that start past the cap: nothing to gain from reading on.
        CHECK(core_notes_end(file.substr(0, 120), 500) == 120);
        // Cut at the cap, the first notes are still read.
        const auto info = read(probe(file, 1200));
        CHECK_FALSE(info.complete);
        CHECK(info.signal == 11);
        CHECK(info.command == "app");
        CHECK_FALSE(info.threads);
    }
}
