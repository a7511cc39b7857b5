// SPDX-License-Identifier: MIT
// Builds the start of a Linux ELF core as fs/binfmt_elf.c writes it: the header, the program
// headers (PT_NOTE first), then the notes. Only what the note reader looks at is filled in.
#pragma once

#include "domain/crash.hpp"

#include <cstdint>
#include <doctest/doctest.h>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::test {

inline constexpr std::uint16_t em_x86_64 = 62;
inline constexpr std::uint16_t em_aarch64 = 183;
inline constexpr std::uint16_t em_riscv = 243;

inline constexpr std::uint32_t nt_prstatus = 1;
inline constexpr std::uint32_t nt_fpregset = 2;
inline constexpr std::uint32_t nt_prpsinfo = 3;
inline constexpr std::uint32_t nt_auxv = 6;
inline constexpr std::uint32_t nt_siginfo = 0x53494749;
inline constexpr std::uint32_t nt_file = 0x46494c45;

/// Little-endian bytes.
inline void put(std::string& s, std::size_t at, std::uint64_t v, std::size_t n)
{
    if (s.size() < at + n)
        s.resize(at + n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

/// elf_prstatus: 336 bytes on x86-64 (rip is register 16 of 27), 392 on aarch64 (pc is
/// register 32 of 34); other machines get the common part and no registers.
inline std::string prstatus(std::uint16_t machine, int signal, int tid, std::uint64_t pc)
{
    std::string d(machine == em_aarch64 ? 392 : machine == em_x86_64 ? 336 : 112, '\0');
    put(d, 0, static_cast<std::uint32_t>(signal), 4);   // pr_info.si_signo
    put(d, 12, static_cast<std::uint16_t>(signal), 2);  // pr_cursig
    put(d, 32, static_cast<std::uint32_t>(tid), 4);     // pr_pid
    put(d, 36, 1, 4);                                   // pr_ppid
    if (machine == em_x86_64)
        put(d, 112 + 16 * 8, pc, 8);
    if (machine == em_aarch64)
        put(d, 112 + 32 * 8, pc, 8);
    return d;
}

/// elf_prpsinfo, 136 bytes: pr_uid at 16, pr_pid at 24, pr_fname[16] at 40, pr_psargs[80] at 56.
inline std::string prpsinfo(int uid, int pid, std::string_view fname, std::string_view psargs)
{
    std::string d(136, '\0');
    d[1] = 'R';
    put(d, 16, static_cast<std::uint32_t>(uid), 4);
    put(d, 20, static_cast<std::uint32_t>(uid), 4);
    put(d, 24, static_cast<std::uint32_t>(pid), 4);
    d.replace(40, std::min<std::size_t>(fname.size(), 16), fname.substr(0, 16));
    d.replace(56, std::min<std::size_t>(psargs.size(), 80), psargs.substr(0, 80));
    return d;
}

/// siginfo_t, 128 bytes: si_signo, si_errno, si_code, then si_addr at 16.
inline std::string siginfo(int signo, int code, std::uint64_t addr)
{
    std::string d(128, '\0');
    put(d, 0, static_cast<std::uint32_t>(signo), 4);
    put(d, 8, static_cast<std::uint32_t>(code), 4);
    put(d, 16, addr, 8);
    return d;
}

/// The auxiliary vector: AT_PHDR, AT_PAGESZ, AT_ENTRY, AT_NULL.
inline std::string auxv(std::uint64_t entry)
{
    std::string d;
    const std::uint64_t pairs[][2] = {{3, entry - 0x1000 + 64}, {6, 4096}, {9, entry}, {0, 0}};
    for (const auto& p : pairs) {
        put(d, d.size(), p[0], 8);
        put(d, d.size(), p[1], 8);
    }
    return d;
}

struct file_mapping {
    std::uint64_t start;
    std::uint64_t end;
    std::uint64_t page_offset;
    std::string name;
};

/// NT_FILE: count, page size, count x {start, end, file offset in pages}, the names.
inline std::string file_note(const std::vector<file_mapping>& maps, std::uint64_t page = 4096)
{
    std::string d;
    put(d, 0, maps.size(), 8);
    put(d, 8, page, 8);
    for (const auto& m : maps) {
        put(d, d.size(), m.start, 8);
        put(d, d.size(), m.end, 8);
        put(d, d.size(), m.page_offset, 8);
    }
    for (const auto& m : maps) {
        d += m.name;
        d += '\0';
    }
    return d;
}

/// One note: namesz, descsz, type, the name and the desc each padded to 4.
inline std::string note(std::uint32_t type, std::string_view desc, std::string_view name = "CORE")
{
    std::string n;
    put(n, 0, name.size() + 1, 4);
    put(n, 4, desc.size(), 4);
    put(n, 8, type, 4);
    n += name;
    n += '\0';
    n.resize((n.size() + 3) & ~std::size_t{3}, '\0');
    n += desc;
    n.resize((n.size() + 3) & ~std::size_t{3}, '\0');
    return n;
}

/// The header, `phdrs` program headers (the first PT_NOTE over `notes`), the notes, and
/// `tail` bytes of memory after them. At 0xffff program headers or more, e_phnum is PN_XNUM
/// (the real count is then in section header 0, which the note reader does not need).
inline std::string core_file(std::uint16_t machine,
                             const std::string& notes,
                             std::size_t phdrs = 3,
                             std::size_t tail = 0)
{
    std::string f(64, '\0');
    f.replace(0,
              7,
              "\x7f"
              "ELF\x02\x01\x01");
    put(f, 16, 4, 2);  // ET_CORE
    put(f, 18, machine, 2);
    put(f, 20, 1, 4);
    put(f, 32, 64, 8);  // e_phoff
    put(f, 52, 64, 2);  // e_ehsize
    put(f, 54, 56, 2);  // e_phentsize
    put(f, 56, phdrs >= 0xffff ? 0xffff : phdrs, 2);
    const std::size_t notes_at = 64 + 56 * phdrs;
    put(f, 64, 4, 4);  // PT_NOTE
    put(f, 64 + 8, notes_at, 8);
    put(f, 64 + 32, notes.size(), 8);
    for (std::size_t i = 1; i < phdrs; ++i)
        put(f, 64 + 56 * i, 1, 4);  // PT_LOAD, the memory after the notes
    f.resize(notes_at, '\0');
    f += notes;
    f.resize(f.size() + tail, '\xcc');
    return f;
}

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

inline domain::crash_info read(std::string_view prefix)
{
    auto r = domain::read_core_notes(prefix);
    REQUIRE(r.has_value());
    return *r;
}

// The probe's loop: start with what classify read, then read up to what core_notes_end says.
inline std::string probe(const std::string& file, std::size_t cap = domain::default_notes_cap)
{
    std::string prefix = file.substr(0, 32);
    for (int round = 0; round < 8; ++round) {
        const auto end = domain::core_notes_end(prefix, cap);
        if (end == prefix.size() || prefix.size() == file.size())
            return prefix;
        CHECK(end > prefix.size());
        CHECK(end <= cap);
        prefix = file.substr(0, end);
    }
    FAIL("core_notes_end did not settle");
    return prefix;
}

}  // namespace core_interceptor::test
