// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// The default cap on the bytes of a core read for its notes.
inline constexpr std::size_t default_notes_cap = 4 * 1024 * 1024;

/// Bytes of a core file's start needed to read its notes: from the ELF header and the first
/// program header (the kernel writes PT_NOTE first; works even when e_phnum == PN_XNUM, since
/// only phdr[0] is needed). Returns either `prefix.size()`: stop, the prefix holds the note
/// segment, or it cannot be a core, or it is hostile, or the notes start at or past `cap`; or a
/// length in (prefix.size(), cap]: read up to there and ask again (at most three rounds from
/// an empty prefix: the header, the first program header, the notes). When the notes end past
/// `cap`, `cap` is asked for: the first notes (the crashing thread's, NT_PRPSINFO, NT_SIGINFO,
/// NT_AUXV, NT_FILE) are still read from it. A file that ends first is read to its end.
std::size_t core_notes_end(std::string_view prefix, std::size_t cap) noexcept;

/// Where an instruction pointer falls among the mapped files: the file and the offset in it.
struct crash_frame {
    std::string module;
    std::uint64_t offset = 0;

    bool operator==(const crash_frame&) const = default;
};

/// What the notes of a core say about the crash; unknown fields stay empty, never guessed.
struct crash_info {
    std::optional<int> signal;
    std::optional<int> si_code;
    std::optional<std::uint64_t> fault_address;
    std::optional<int> pid;  ///< NT_PRPSINFO pr_pid: the process (not the thread), in its namespace
    std::optional<int> uid;  ///< NT_PRPSINFO pr_uid, in the container's user namespace
    std::string command;     ///< NT_PRPSINFO pr_fname ("" = unknown)
    std::string command_line;    ///< NT_PRPSINFO pr_psargs, trimmed
    std::string executable;      ///< NT_FILE mapping holding AT_ENTRY (NT_AUXV); "" = unknown
    std::optional<int> threads;  ///< count of NT_PRSTATUS; only when `complete`
    /// The NT_FILE mapping holding the first NT_PRSTATUS's pc (rip on x86-64, pc on aarch64);
    /// offset = pc - start + file offset in bytes.
    std::optional<crash_frame> frame;
    /// 16 hex digits of a 64-bit FNV-1a hash of the executable's basename (the command when the
    /// executable is unknown), the signal and the frame's module basename and offset; "" when the
    /// signal is unknown or neither executable nor command is, and while the notes it is made of
    /// are not all in the prefix (a cut prefix gives either the final signature or none).
    std::string signature;
    /// The whole note segment was within the prefix and every note in it was whole.
    bool complete = false;

    bool operator==(const crash_info&) const = default;
};

/// Parses the notes of an ELF ET_CORE (ELFCLASS64, little-endian; x86-64 and aarch64, other
/// machines: generic fields only, no frame) from the file's prefix. Every length and offset is
/// checked: hostile input never reads out of bounds nor allocates without bound. Returns what
/// could be read; errc::malformed_response only when it is not a 64-bit little-endian ELF core.
result<crash_info> read_core_notes(std::string_view prefix);

/// "SIGSEGV" for 11 etc. (Linux numbering); "" for unknown.
std::string_view signal_name(int signal) noexcept;

/// What the header of an hprof file says.
struct heap_info {
    std::string format;  ///< "JAVA PROFILE 1.0.2"
    std::optional<std::uint32_t> id_size;
    std::optional<std::int64_t> dumped_at_ms;  ///< milliseconds since the epoch

    bool operator==(const heap_info&) const = default;
};

/// `JAVA PROFILE 1.0.x\0`, u4 id size, u8 ms (big-endian). nullopt when not an hprof header;
/// fields past the end of the prefix are left empty.
std::optional<heap_info> read_hprof_header(std::string_view prefix);

/// The notification's `crash` object: signal, signal_name, si_code, fault_address ("0x…"),
/// pid, uid, command, command_line, executable, threads, frame {module, offset ("0x…")},
/// signature; every unknown field left out.
boost::json::object to_json(const crash_info& c);

/// The notification's `heap` object: format, id_size, dumped_at (RFC 3339 UTC, ms); every
/// unknown field left out.
boost::json::object to_json(const heap_info& h);

/// One line for the log: "SIGSEGV in /usr/bin/app (libfoo.so.1+0x1a2b)"; unknown parts are
/// left out ("" when nothing is known).
std::string summary(const crash_info& c);

namespace detail {
/// The `signature` of crash_info from its other fields (read_core_notes fills it in).
std::string crash_signature(const crash_info& c);
/// Bytes from the file as valid UTF-8: each byte of a cut or malformed sequence becomes U+FFFD,
/// so that the JSON and the journal get text.
std::string utf8(std::string_view bytes);
}  // namespace detail

}  // namespace core_interceptor::domain
