// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace core_interceptor::test_support {

/// A mapped file of a synthetic core (one NT_FILE entry and one PT_LOAD).
struct core_mapping {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    std::uint64_t page_offset = 0;  ///< file offset in pages, as NT_FILE has it
    std::string path;
};

/// What a synthetic x86-64 Linux core says: laid out as the kernel writes one (ELF header,
/// PT_NOTE first then a PT_LOAD per mapping, the notes right after the program headers).
struct core_spec {
    int signal = 11;
    int si_code = 1;
    std::uint64_t fault_address = 0;
    int pid = 7;
    int uid = 0;
    std::string command = "app";               ///< pr_fname (at most 15 bytes kept)
    std::string command_line = "app --serve";  ///< pr_psargs (at most 79 bytes kept)
    std::uint64_t entry = 0;                   ///< AT_ENTRY (0: none written)
    std::vector<std::uint64_t> thread_pcs;     ///< rip of each thread, the crashing one first
    std::vector<core_mapping> mappings;
    bool fp_notes = false;  ///< add NT_PRFPREG and NT_X86_XSTATE per thread, as the kernel does
};

/// The bytes of the core up to the end of its note segment (the PT_LOAD contents are not
/// written: they lie past it).
std::string make_core(const core_spec& spec);

/// Where the note segment ends in what make_core() returns: its size.
inline std::size_t notes_end(const std::string& core)
{
    return core.size();
}

/// `n` mappings of distinct files (`/usr/lib/libNNNN.so`), the executable `/usr/bin/app` first
/// at 0x400000 with AT_ENTRY inside it, and `threads` threads whose crashing one is 0x1a2b into
/// the mapping `crash_in`.
core_spec big_core(std::size_t n, std::size_t threads, std::size_t crash_in = 1);

}  // namespace core_interceptor::test_support
