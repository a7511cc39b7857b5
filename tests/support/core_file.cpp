// SPDX-License-Identifier: MIT
#include "support/core_file.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace core_interceptor::test_support {
namespace {

constexpr std::uint32_t nt_prstatus = 1;
constexpr std::uint32_t nt_prfpreg = 2;
constexpr std::uint32_t nt_prpsinfo = 3;
constexpr std::uint32_t nt_auxv = 6;
constexpr std::uint32_t nt_x86_xstate = 0x202;
constexpr std::uint32_t nt_siginfo = 0x53494749;
constexpr std::uint32_t nt_file = 0x46494c45;
constexpr std::uint64_t page = 4096;

template <class T> void put(std::string& s, std::size_t at, T v)
{
    std::memcpy(s.data() + at, &v, sizeof v);  // x86-64: little-endian, as the core
}

template <class T> void append(std::string& s, T v)
{
    s.resize(s.size() + sizeof v);
    put(s, s.size() - sizeof v, v);
}

void note(std::string& out, std::uint32_t type, const std::string& desc, const char* name = "CORE")
{
    const auto namesz = static_cast<std::uint32_t>(std::strlen(name) + 1);
    append(out, namesz);
    append(out, static_cast<std::uint32_t>(desc.size()));
    append(out, type);
    out.append(name, namesz);
    out.resize((out.size() + 3) / 4 * 4, '\0');
    out += desc;
    out.resize((out.size() + 3) / 4 * 4, '\0');
}

std::string prstatus(const core_spec& s, std::size_t thread)
{
    std::string d(336, '\0');
    put<std::int32_t>(d, 0, s.signal);
    put<std::int16_t>(d, 12, static_cast<std::int16_t>(thread == 0 ? s.signal : 0));  // pr_cursig
    put<std::int32_t>(d, 32, s.pid + static_cast<int>(thread));                       // pr_pid
    put<std::uint64_t>(d, 112 + 16 * 8, s.thread_pcs[thread]);                        // pr_reg.rip
    return d;
}

std::string prpsinfo(const core_spec& s)
{
    std::string d(136, '\0');
    put<std::uint32_t>(d, 16, static_cast<std::uint32_t>(s.uid));
    put<std::int32_t>(d, 24, s.pid);
    std::memcpy(d.data() + 40, s.command.data(), std::min<std::size_t>(s.command.size(), 15));
    std::memcpy(
        d.data() + 56, s.command_line.data(), std::min<std::size_t>(s.command_line.size(), 79));
    return d;
}

std::string siginfo(const core_spec& s)
{
    std::string d(128, '\0');
    put<std::int32_t>(d, 0, s.signal);
    put<std::int32_t>(d, 8, s.si_code);
    put<std::uint64_t>(d, 16, s.fault_address);
    return d;
}

std::string file_note(const core_spec& s)
{
    std::string d;
    append<std::uint64_t>(d, s.mappings.size());
    append<std::uint64_t>(d, page);
    for (const auto& m : s.mappings) {
        append(d, m.start);
        append(d, m.end);
        append(d, m.page_offset);
    }
    for (const auto& m : s.mappings)
        d.append(m.path.c_str(), m.path.size() + 1);
    return d;
}

}  // namespace

std::string make_core(const core_spec& s)
{
    std::string notes;
    for (std::size_t t = 0; t < s.thread_pcs.size(); ++t) {
        note(notes, nt_prstatus, prstatus(s, t));
        if (t == 0) {
            note(notes, nt_prpsinfo, prpsinfo(s));
            note(notes, nt_siginfo, siginfo(s));
            std::string auxv;
            if (s.entry) {
                append<std::uint64_t>(auxv, 9);  // AT_ENTRY
                append<std::uint64_t>(auxv, s.entry);
            }
            append<std::uint64_t>(auxv, 0);  // AT_NULL
            append<std::uint64_t>(auxv, 0);
            note(notes, nt_auxv, auxv);
            note(notes, nt_file, file_note(s));
        }
        if (s.fp_notes) {
            note(notes, nt_prfpreg, std::string(512, '\0'));
            note(notes, nt_x86_xstate, std::string(2688, '\0'), "LINUX");
        }
    }

    const std::size_t phnum = 1 + s.mappings.size();
    const std::size_t notes_at = 64 + 56 * phnum;
    std::string out(notes_at, '\0');
    const unsigned char ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    std::memcpy(out.data(), ident, sizeof ident);
    put<std::uint16_t>(out, 16, 4);   // ET_CORE
    put<std::uint16_t>(out, 18, 62);  // EM_X86_64
    put<std::uint32_t>(out, 20, 1);
    put<std::uint64_t>(out, 32, 64);  // e_phoff
    put<std::uint16_t>(out, 52, 64);  // e_ehsize
    put<std::uint16_t>(out, 54, 56);  // e_phentsize
    put<std::uint16_t>(out, 56, static_cast<std::uint16_t>(std::min<std::size_t>(phnum, 0xffff)));
    // phdr[0]: PT_NOTE
    put<std::uint32_t>(out, 64, 4);
    put<std::uint64_t>(out, 64 + 8, notes_at);
    put<std::uint64_t>(out, 64 + 32, notes.size());
    put<std::uint64_t>(out, 64 + 48, 4);
    // PT_LOADs, their contents past the notes
    std::uint64_t data_at = (notes_at + notes.size() + page - 1) / page * page;
    for (std::size_t i = 0; i < s.mappings.size(); ++i) {
        const std::size_t ph = 64 + 56 * (i + 1);
        const auto& m = s.mappings[i];
        put<std::uint32_t>(out, ph, 1);
        put<std::uint32_t>(out, ph + 4, 5);  // R+X
        put<std::uint64_t>(out, ph + 8, data_at);
        put<std::uint64_t>(out, ph + 16, m.start);
        put<std::uint64_t>(out, ph + 40, m.end - m.start);
        put<std::uint64_t>(out, ph + 48, page);
    }
    out += notes;
    return out;
}

core_spec big_core(std::size_t n, std::size_t threads, std::size_t crash_in)
{
    core_spec s;
    s.command = "app";
    s.command_line = "/usr/bin/app --serve --workers 64";
    for (std::size_t i = 0; i < n; ++i) {
        core_mapping m;
        m.start = 0x400000 + i * 0x10000;
        m.end = m.start + 0x8000;
        m.page_offset = i == 0 ? 0 : 1;
        char name[64];
        std::snprintf(name, sizeof name, "/usr/lib/x86_64-linux-gnu/lib%04zu.so.1", i);
        m.path = i == 0 ? "/usr/bin/app" : name;
        s.mappings.push_back(std::move(m));
    }
    s.entry = s.mappings[0].start + 0x120;
    const auto& hit = s.mappings[std::min(crash_in, n - 1)];
    for (std::size_t t = 0; t < threads; ++t)
        s.thread_pcs.push_back(t == 0 ? hit.start + 0x1a2b - hit.page_offset * page
                                      : 0x7f0000000000 + t);
    s.fp_notes = true;
    return s;
}

}  // namespace core_interceptor::test_support
