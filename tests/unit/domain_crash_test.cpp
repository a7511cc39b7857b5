// SPDX-License-Identifier: MIT
#include "core_builder.hpp"
#include "domain/crash.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace core_interceptor;
using namespace core_interceptor::domain;
using namespace core_interceptor::test;

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
