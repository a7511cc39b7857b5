// SPDX-License-Identifier: MIT
// The notes of a Linux ELF core (the layouts of fs/binfmt_elf.c and include/uapi/linux/
// elfcore.h), read from the start of the file only. Every offset and length comes from the
// file, so each is checked against the bytes at hand before it is used.
#include "domain/crash.hpp"

#include <cstring>
#include <limits>
#include <vector>

namespace core_interceptor::domain {

namespace {

constexpr std::size_t ehdr_size = 64;
constexpr std::size_t phdr_size = 56;
constexpr std::uint16_t et_core = 4;
constexpr std::uint16_t em_x86_64 = 62;
constexpr std::uint16_t em_aarch64 = 183;
constexpr std::uint32_t pt_note = 4;

constexpr std::uint32_t nt_prstatus = 1;
constexpr std::uint32_t nt_prpsinfo = 3;
constexpr std::uint32_t nt_auxv = 6;
constexpr std::uint32_t nt_siginfo = 0x53494749;
constexpr std::uint32_t nt_file = 0x46494c45;
constexpr std::uint64_t at_null = 0;
constexpr std::uint64_t at_entry = 9;

// elf_prstatus: pr_info (si_signo, si_code, si_errno), pr_cursig at 12, pr_pid at 32, then the
// times, then pr_reg at 112.
constexpr std::size_t prstatus_regs = 112;
constexpr std::size_t x86_64_rip = prstatus_regs + 16 * 8;  // user_regs_struct.rip
constexpr std::size_t aarch64_pc = prstatus_regs + 32 * 8;  // user_pt_regs.pc
// elf_prpsinfo (64-bit): pr_flag at 8, pr_uid 16, pr_gid 20, pr_pid 24, pr_fname[16] 40,
// pr_psargs[80] 56.
constexpr std::size_t prpsinfo_size = 136;

std::uint16_t u16(std::string_view b, std::size_t at) noexcept
{
    std::uint16_t v = 0;
    for (std::size_t i = 2; i-- > 0;)
        v = static_cast<std::uint16_t>((v << 8) | static_cast<unsigned char>(b[at + i]));
    return v;
}

std::uint32_t u32(std::string_view b, std::size_t at) noexcept
{
    std::uint32_t v = 0;
    for (std::size_t i = 4; i-- > 0;)
        v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    return v;
}

std::uint64_t u64(std::string_view b, std::size_t at) noexcept
{
    std::uint64_t v = 0;
    for (std::size_t i = 8; i-- > 0;)
        v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    return v;
}

int i32(std::string_view b, std::size_t at) noexcept
{
    return static_cast<int>(static_cast<std::int32_t>(u32(b, at)));
}

// The first bytes are those of a 64-bit little-endian ELF core, as far as they go.
bool looks_like_core(std::string_view b) noexcept
{
    constexpr std::string_view magic = "\x7f"
                                       "ELF\x02\x01";
    if (b.substr(0, magic.size()) != magic.substr(0, std::min(b.size(), magic.size())))
        return false;
    return b.size() < 18 || u16(b, 16) == et_core;
}

// What the header and the first program header say: where the note segment lies.
struct note_segment {
    std::uint16_t machine = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
};

// The header needs ehdr_size bytes; the first program header e_phoff + phdr_size. `need` is
// set to the prefix length that would tell more when the answer is nullopt for want of bytes.
std::optional<note_segment> find_notes(std::string_view b, std::uint64_t& need) noexcept
{
    need = 0;
    if (!looks_like_core(b))
        return std::nullopt;
    if (b.size() < ehdr_size) {
        need = ehdr_size;
        return std::nullopt;
    }
    const std::uint64_t phoff = u64(b, 32);
    if (u16(b, 54) < phdr_size || u16(b, 56) == 0 || phoff < ehdr_size ||
        phoff > std::numeric_limits<std::uint64_t>::max() - phdr_size)
        return std::nullopt;
    if (b.size() < phoff + phdr_size) {
        need = phoff + phdr_size;
        return std::nullopt;
    }
    const auto ph = static_cast<std::size_t>(phoff);
    if (u32(b, ph) != pt_note)
        return std::nullopt;
    note_segment s{u16(b, 18), u64(b, ph + 8), u64(b, ph + 32)};
    if (s.size > std::numeric_limits<std::uint64_t>::max() - s.offset)
        return std::nullopt;
    return s;
}

// A string field of fixed size: up to its first NUL.
std::string_view c_string(std::string_view field) noexcept
{
    return field.substr(0, field.find('\0'));
}

std::string_view trim(std::string_view s) noexcept
{
    constexpr std::string_view space = " \t\n\r\v\f";
    auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos)
        return {};
    return s.substr(first, s.find_last_not_of(space) - first + 1);
}

struct mapping {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    std::uint64_t file_offset = 0;  // in pages
    std::string_view name;
};

struct file_note {
    std::uint64_t page_size = 0;
    std::vector<mapping> mappings;
};

// count, page_size, count x {start, end, file_ofs}, then count NUL-terminated names. nullopt
// when the note does not hold what it says: the count is bounded by the bytes of the note.
std::optional<file_note> parse_nt_file(std::string_view d)
{
    if (d.size() < 16)
        return std::nullopt;
    const std::uint64_t count = u64(d, 0);
    if (count > (d.size() - 16) / 24)
        return std::nullopt;
    file_note f;
    f.page_size = u64(d, 8);
    const auto n = static_cast<std::size_t>(count);
    f.mappings.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t at = 16 + i * 24;
        f.mappings.push_back({u64(d, at), u64(d, at + 8), u64(d, at + 16), {}});
    }
    std::string_view names = d.substr(16 + n * 24);
    for (auto& m : f.mappings) {
        const auto nul = names.find('\0');
        if (nul == std::string_view::npos)
            return std::nullopt;
        m.name = names.substr(0, nul);
        names.remove_prefix(nul + 1);
    }
    return f;
}

const mapping* mapping_at(const file_note& f, std::uint64_t address) noexcept
{
    for (const auto& m : f.mappings)
        if (address >= m.start && address < m.end)
            return &m;
    return nullptr;
}

// What the notes said, before the fields that need two notes are worked out.
struct note_reader {
    std::uint16_t machine = 0;
    crash_info info;
    int prstatus_count = 0;
    std::optional<std::uint64_t> pc;
    std::optional<int> prstatus_signal;
    std::optional<int> siginfo_signal;
    bool have_psinfo = false;
    bool have_siginfo = false;
    std::optional<std::uint64_t> entry;
    bool have_auxv = false;
    std::optional<file_note> files;
    bool have_files = false;

    void on_prstatus(std::string_view d);
    void on_prpsinfo(std::string_view d);
    void on_siginfo(std::string_view d);
    void on_auxv(std::string_view d);
    void on_note(std::uint32_t type, std::string_view d);
};

void note_reader::on_prstatus(std::string_view d)
{
    if (prstatus_count++ > 0 || d.size() < prstatus_regs)
        return;  // the first one is the thread that took the signal
    const auto cursig = static_cast<std::int16_t>(u16(d, 12));
    if (cursig > 0)
        prstatus_signal = cursig;
    std::size_t at = 0;
    if (machine == em_x86_64)
        at = x86_64_rip;
    else if (machine == em_aarch64)
        at = aarch64_pc;
    if (at != 0 && d.size() >= at + 8)
        pc = u64(d, at);
}

void note_reader::on_prpsinfo(std::string_view d)
{
    if (have_psinfo || d.size() < prpsinfo_size)
        return;
    have_psinfo = true;
    info.uid = i32(d, 16);
    info.pid = i32(d, 24);
    info.command = detail::utf8(c_string(d.substr(40, 16)));
    info.command_line = detail::utf8(trim(c_string(d.substr(56, 80))));
}

void note_reader::on_siginfo(std::string_view d)
{
    if (have_siginfo || d.size() < 12)
        return;
    have_siginfo = true;
    const int signo = i32(d, 0);
    const int code = i32(d, 8);
    if (signo <= 0)
        return;
    siginfo_signal = signo;
    info.si_code = code;
    // The address is in the union only for a fault the kernel raised (si_code > 0); a signal
    // sent by kill() or tgkill() (si_code <= 0) holds the sender's pid and uid there.
    constexpr int sigill = 4, sigtrap = 5, sigbus = 7, sigfpe = 8, sigsegv = 11;
    const bool fault = signo == sigill || signo == sigtrap || signo == sigbus || signo == sigfpe ||
                       signo == sigsegv;
    if (fault && code > 0 && d.size() >= 24)
        info.fault_address = u64(d, 16);
}

void note_reader::on_auxv(std::string_view d)
{
    if (have_auxv)
        return;
    have_auxv = true;
    for (std::size_t at = 0; at + 16 <= d.size(); at += 16) {
        const auto type = u64(d, at);
        if (type == at_null)
            break;
        if (type == at_entry) {
            entry = u64(d, at + 8);
            break;
        }
    }
}

void note_reader::on_note(std::uint32_t type, std::string_view d)
{
    switch (type) {
    case nt_prstatus: on_prstatus(d); break;
    case nt_prpsinfo: on_prpsinfo(d); break;
    case nt_siginfo: on_siginfo(d); break;
    case nt_auxv: on_auxv(d); break;
    case nt_file:
        if (!have_files) {
            have_files = true;
            files = parse_nt_file(d);
        }
        break;
    default: break;
    }
}

bool is_core_name(std::string_view name) noexcept
{
    return name == std::string_view("CORE\0", 5) || name == "CORE";
}

// Walks the notes in `seg` (the part of the segment at hand); true when every note was whole
// and they filled the segment exactly.
bool read_notes(std::string_view seg, bool whole_segment, note_reader& r)
{
    const auto pad4 = [](std::uint64_t n) { return (n + 3) & ~std::uint64_t{3}; };
    std::size_t at = 0;
    while (seg.size() - at >= 12) {
        const std::uint64_t namesz = u32(seg, at);
        const std::uint64_t descsz = u32(seg, at + 4);
        const std::uint32_t type = u32(seg, at + 8);
        const std::uint64_t name_at = at + 12;
        const std::uint64_t desc_at = name_at + pad4(namesz);
        const std::uint64_t next = desc_at + pad4(descsz);
        if (desc_at + descsz > seg.size())
            return false;  // cut by the end of the prefix, or longer than its segment
        if (is_core_name(seg.substr(name_at, namesz)))
            r.on_note(type, seg.substr(desc_at, descsz));
        if (next >= seg.size())
            return whole_segment;
        at = static_cast<std::size_t>(next);
    }
    return whole_segment && at == seg.size();
}

void finish(note_reader& r)
{
    auto& info = r.info;
    info.signal = r.siginfo_signal ? r.siginfo_signal : r.prstatus_signal;
    if (info.complete)
        info.threads = r.prstatus_count;
    if (r.files && r.entry) {
        if (const auto* m = mapping_at(*r.files, *r.entry))
            info.executable = detail::utf8(m->name);
    }
    if (r.files && r.pc) {
        const auto* m = mapping_at(*r.files, *r.pc);
        std::uint64_t file_bytes = 0;
        if (m && !__builtin_mul_overflow(m->file_offset, r.files->page_size, &file_bytes)) {
            info.frame = crash_frame{detail::utf8(m->name), *r.pc - m->start + file_bytes};
        }
    }
    // The notes a signature is made of come first (the crashing thread's NT_PRSTATUS, then
    // NT_SIGINFO, NT_AUXV and NT_FILE): once they are in, the rest cannot change it.
    const bool settled =
        info.complete || (r.prstatus_count > 0 && r.have_siginfo && r.have_auxv && r.have_files);
    if (settled)
        info.signature = detail::crash_signature(info);
}

}  // namespace

std::size_t core_notes_end(std::string_view prefix, std::size_t cap) noexcept
{
    const std::size_t given = prefix.size();
    if (given >= cap)
        return given;
    std::uint64_t need = 0;
    const auto seg = find_notes(prefix, need);
    if (!seg)  // not a core, or the header or first program header still to come
        return need > given && need <= cap ? static_cast<std::size_t>(need) : given;
    if (seg->offset >= cap)
        return given;  // nothing of the notes within the cap
    const std::uint64_t end = seg->offset + seg->size;
    if (end <= given)
        return given;
    return end <= cap ? static_cast<std::size_t>(end) : cap;
}

result<crash_info> read_core_notes(std::string_view prefix)
{
    if (prefix.size() < 18 || !looks_like_core(prefix))
        return errc::malformed_response;
    note_reader r;
    std::uint64_t need = 0;
    const auto seg = find_notes(prefix, need);
    if (!seg)
        return r.info;
    r.machine = seg->machine;
    if (seg->offset < prefix.size()) {
        const bool whole = seg->offset + seg->size <= prefix.size();
        const auto at = static_cast<std::size_t>(seg->offset);
        const auto len = whole ? static_cast<std::size_t>(seg->size) : prefix.size() - at;
        r.info.complete = read_notes(prefix.substr(at, len), whole, r);
    }
    finish(r);
    return r.info;
}

}  // namespace core_interceptor::domain
