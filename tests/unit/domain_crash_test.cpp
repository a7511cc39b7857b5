// SPDX-License-Identifier: MIT
#include "core_builder.hpp"
#include "domain/crash.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace core_interceptor;
using namespace core_interceptor::domain;
using namespace core_interceptor::test;

namespace {

// A process at `base` (the executable) and `lib` (libfoo), that crashed in libfoo at
// `lib + 0x1a2b` of its text mapping (file offset 0x1000), with `threads` threads.
struct crash_case {
    std::uint16_t machine = em_x86_64;
    int signal = 11;
    std::uint64_t base = 0x55d0c0de0000;
    std::uint64_t lib = 0x7f3a12340000;
    int threads = 3;
    std::uint64_t pc_offset = 0xa2b;  // in libfoo's text mapping
    std::string lib_name = "/usr/lib/libfoo.so.1";
    int pid = 7;

    std::vector<file_mapping> maps() const
    {
        return {
            {base, base + 0x1000, 0, "/usr/bin/app"},
            {base + 0x1000, base + 0x5000, 1, "/usr/bin/app"},
            {lib, lib + 0x1000, 0, lib_name},
            {lib + 0x1000, lib + 0x3000, 1, lib_name},
            {lib + 0x3000, lib + 0x4000, 3, lib_name},
        };
    }

    std::string notes() const
    {
        const auto pc = lib + 0x1000 + pc_offset;
        std::string n = note(nt_prstatus, prstatus(machine, signal, pid + 1, pc));
        n += note(nt_prpsinfo, prpsinfo(1000, pid, "app", "app --serve  "));
        n += note(nt_siginfo, siginfo(signal, 1, 0x10));
        n += note(nt_auxv, auxv(base + 0x1040));
        n += note(nt_file, file_note(maps()));
        n += note(nt_fpregset, std::string(512, '\x01'));
        n += note(0x202, std::string(64, '\x02'), "LINUX");
        for (int t = 1; t < threads; ++t) {
            n += note(nt_prstatus, prstatus(machine, signal, pid + 1 + t, base + 0x2000));
            n += note(nt_fpregset, std::string(512, '\x01'));
        }
        return n;
    }

    std::string file(std::size_t tail = 0) const { return core_file(machine, notes(), 8, tail); }
};

crash_info read(std::string_view prefix)
{
    auto r = read_core_notes(prefix);
    REQUIRE(r.has_value());
    return *r;
}

// The probe's loop: start with what classify read, then read up to what core_notes_end says.
std::string probe(const std::string& file, std::size_t cap = default_notes_cap)
{
    std::string prefix = file.substr(0, 32);
    for (int round = 0; round < 8; ++round) {
        const auto end = core_notes_end(prefix, cap);
        if (end == prefix.size() || prefix.size() == file.size())
            return prefix;
        CHECK(end > prefix.size());
        CHECK(end <= cap);
        prefix = file.substr(0, end);
    }
    FAIL("core_notes_end did not settle");
    return prefix;
}

}  // namespace

TEST_CASE("crash notes: x86-64 with several threads")
{
    const crash_case c;
    const auto file = c.file(1 << 16);
    const auto prefix = probe(file);
    CHECK(prefix.size() == 64 + 56 * 8 + c.notes().size());

    const auto info = read(prefix);
    CHECK(info.complete);
    CHECK(info.signal == 11);
    CHECK(info.si_code == 1);
    CHECK(info.fault_address == 0x10u);
    CHECK(info.pid == 7);
    CHECK(info.uid == 1000);
    CHECK(info.command == "app");
    CHECK(info.command_line == "app --serve");
    CHECK(info.executable == "/usr/bin/app");
    CHECK(info.threads == 3);
    REQUIRE(info.frame);
    CHECK(info.frame->module == "/usr/lib/libfoo.so.1");
    CHECK(info.frame->offset == 0x1a2bu);
    CHECK(info.signature.size() == 16);
    CHECK(info.signature.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(read(file) == info);
}

TEST_CASE("crash notes: aarch64 reads pc, other machines give no frame")
{
    crash_case c;
    c.machine = em_aarch64;
    c.threads = 5;
    auto info = read(c.file());
    CHECK(info.threads == 5);
    REQUIRE(info.frame);
    CHECK(info.frame->module == "/usr/lib/libfoo.so.1");
    CHECK(info.frame->offset == 0x1a2bu);

    c.machine = em_riscv;
    info = read(c.file());
    CHECK(info.complete);
    CHECK(info.signal == 11);
    CHECK(info.threads == 5);
    CHECK(info.executable == "/usr/bin/app");
    CHECK(info.command == "app");
    CHECK_FALSE(info.frame);
    CHECK(info.signature.size() == 16);
}

TEST_CASE("crash notes: NT_FILE with thousands of mappings")
{
    std::vector<file_mapping> maps;
    for (std::uint64_t i = 0; i < 3000; ++i)
        maps.push_back({0x7f0000000000 + i * 0x10000,
                        0x7f0000000000 + i * 0x10000 + 0x8000,
                        i % 7,
                        "/opt/jdk/lib/lib" + std::to_string(i) + ".so"});
    const std::uint64_t pc = maps[2999].start + 0x10;
    std::string n = note(nt_prstatus, prstatus(em_x86_64, 6, 1, pc));
    n += note(nt_auxv, auxv(maps[0].start + 0x40));
    n += note(nt_file, file_note(maps));
    for (int t = 0; t < 63; ++t)
        n += note(nt_prstatus, prstatus(em_x86_64, 6, 2 + t, 0));
    const auto file = core_file(em_x86_64, n, 3001, 4096);
    const auto info = read(probe(file));
    CHECK(info.threads == 64);
    CHECK(info.executable == "/opt/jdk/lib/lib0.so");
    REQUIRE(info.frame);
    CHECK(info.frame->module == "/opt/jdk/lib/lib2999.so");
    CHECK(info.frame->offset == 2999 % 7 * 4096 + 0x10);
}

TEST_CASE("crash notes: e_phnum PN_XNUM, PT_NOTE still first")
{
    const crash_case c;
    const auto file = core_file(em_x86_64, c.notes(), 70000, 100);
    CHECK(static_cast<unsigned char>(file[56]) == 0xff);
    CHECK(static_cast<unsigned char>(file[57]) == 0xff);
    CHECK(core_notes_end(file.substr(0, 64), default_notes_cap) == 120);
    const auto prefix = probe(file);
    CHECK(prefix.size() == 64 + 56 * 70000 + c.notes().size());
    const auto info = read(prefix);
    CHECK(info.complete);
    CHECK(info.threads == 3);
    CHECK(info.frame);
}

TEST_CASE("crash notes: every cut of the prefix gives only what whole notes say")
{
    for (auto machine : {em_x86_64, em_aarch64}) {
        crash_case c;
        c.machine = machine;
        const auto file = c.file(64);
        const auto whole = read(file);
        const std::size_t notes_end = file.size() - 64;
        for (std::size_t n = 0; n <= file.size(); ++n) {
            const std::string_view prefix(file.data(), n);
            CHECK(core_notes_end(prefix, default_notes_cap) >= n);
            auto r = read_core_notes(prefix);
            if (n < 18) {
                CHECK_FALSE(r.has_value());
                continue;
            }
            REQUIRE(r.has_value());
            const auto& info = *r;
            CHECK(info.complete == (n >= notes_end));
            CHECK((!info.threads || info.complete));
            CHECK((!info.signal || info.signal == whole.signal));
            CHECK((!info.pid || info.pid == whole.pid));
            CHECK((!info.fault_address || info.fault_address == whole.fault_address));
            CHECK((info.command.empty() || info.command == whole.command));
            CHECK((info.command_line.empty() || info.command_line == whole.command_line));
            CHECK((info.executable.empty() || info.executable == whole.executable));
            CHECK((!info.frame || info.frame == whole.frame));
            CHECK((info.signature.empty() || info.signature == whole.signature));
            if (n >= notes_end)
                CHECK(info == whole);
        }
    }
}

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

TEST_CASE("crash notes: only notes named CORE count")
{
    std::string n = note(nt_prstatus, prstatus(em_x86_64, 11, 1, 0));
    n += note(nt_prstatus, prstatus(em_x86_64, 11, 2, 0), "LINUX");
    n += note(nt_prpsinfo, prpsinfo(0, 1, "evil", "evil"), "COREX");
    const auto info = read(core_file(em_x86_64, n));
    CHECK(info.threads == 1);
    CHECK(info.command.empty());
}

TEST_CASE("crash notes: frame lookup")
{
    crash_case c;
    SUBCASE("pc outside every mapping: no frame, the rest is there")
    {
        c.pc_offset = 0x100000;
        const auto info = read(c.file());
        CHECK_FALSE(info.frame);
        CHECK(info.executable == "/usr/bin/app");
        CHECK(info.signature.size() == 16);
    }
    SUBCASE("pc at the last byte and at the end of a mapping")
    {
        c.pc_offset = 0x1fff;
        auto info = read(c.file());
        REQUIRE(info.frame);
        CHECK(info.frame->offset == 0x2fffu);
        c.pc_offset = 0x2000;  // the next mapping, file offset 3 pages
        info = read(c.file());
        REQUIRE(info.frame);
        CHECK(info.frame->offset == 0x3000u);
    }
    SUBCASE("no NT_FILE: no executable, no frame")
    {
        std::string n = note(nt_prstatus, prstatus(em_x86_64, 11, 1, c.lib + 0x1100));
        n += note(nt_auxv, auxv(c.base + 0x1040));
        const auto info = read(core_file(em_x86_64, n));
        CHECK(info.executable.empty());
        CHECK_FALSE(info.frame);
        CHECK(info.signature.empty());  // nothing names the program
    }
}

TEST_CASE("crash notes: the signature is the same crash wherever it happens")
{
    crash_case a;
    crash_case b;
    b.base = 0x5611aa550000;
    b.lib = 0x7ffe00010000;
    b.pid = 1;
    b.threads = 9;
    const auto sa = read(a.file()).signature;
    CHECK(sa.size() == 16);
    CHECK(read(b.file()).signature == sa);

    crash_case other_signal;
    other_signal.signal = 7;
    CHECK(read(other_signal.file()).signature != sa);
    crash_case other_module;
    other_module.lib_name = "/usr/lib/libbar.so.1";
    CHECK(read(other_module.file()).signature != sa);
    crash_case other_offset;
    other_offset.pc_offset = 0xa2c;
    CHECK(read(other_offset.file()).signature != sa);
    crash_case same_basename;
    same_basename.lib_name = "/opt/app/lib/libfoo.so.1";
    CHECK(read(same_basename.file()).signature == sa);

    crash_info none;
    none.executable = "/usr/bin/app";
    CHECK(detail::crash_signature(none).empty());
}

TEST_CASE("crash notes: a signal sent with kill() has no fault address")
{
    std::string n = note(nt_prstatus, prstatus(em_x86_64, 11, 1, 0));
    n += note(nt_siginfo, siginfo(11, 0, 0x0000000100000009));  // SI_USER: si_pid, si_uid
    const auto info = read(core_file(em_x86_64, n));
    CHECK(info.signal == 11);
    CHECK(info.si_code == 0);
    CHECK_FALSE(info.fault_address);
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
