// SPDX-License-Identifier: MIT
#include "domain/crash.hpp"

#include "domain/notification.hpp"

#include <boost/json.hpp>

#include <array>
#include <chrono>
#include <cstdio>

namespace core_interceptor::domain {
namespace json = boost::json;

namespace {

std::string_view basename(std::string_view path) noexcept
{
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string hex(std::uint64_t v)
{
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

// FNV-1a, 64 bits: small, stable across hosts and versions, and enough to tell crashes apart.
struct fnv1a {
    std::uint64_t h = 0xcbf29ce484222325ULL;

    // Each field ends with a NUL so that ("ab", "c") and ("a", "bc") differ.
    void field(std::string_view s) noexcept
    {
        for (char c : s) {
            h ^= static_cast<unsigned char>(c);
            h *= 0x100000001b3ULL;
        }
        h ^= 0;
        h *= 0x100000001b3ULL;
    }
};

std::uint64_t read_be(std::string_view b, std::size_t at, std::size_t n) noexcept
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
        v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    return v;
}

}  // namespace

// The program (the executable's basename, else the command name), the signal and the frame
// (module basename and offset), none of which depends on the address layout, the host or the
// container. "" when the signal or the program is unknown: such a crash is like no other.
std::string detail::crash_signature(const crash_info& c)
{
    if (!c.signal || (c.executable.empty() && c.command.empty()))
        return {};
    fnv1a f;
    f.field("core_interceptor crash 1");
    if (!c.executable.empty()) {
        f.field("exe");
        f.field(basename(c.executable));
    } else {
        f.field("comm");
        f.field(c.command);
    }
    f.field(std::to_string(*c.signal));
    if (c.frame) {
        f.field(basename(c.frame->module));
        f.field(hex(c.frame->offset));
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(f.h));
    return buf;
}

std::string detail::utf8(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80                ? 1
                          : c >= 0xc2 && c < 0xe0 ? 2
                          : c >= 0xe0 && c < 0xf0 ? 3
                          : c >= 0xf0 && c < 0xf5 ? 4
                                                  : 0;
        bool ok = len != 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k)
            ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
        if (ok && len >= 3) {  // no overlong forms, no surrogates, nothing past U+10FFFF
            const auto c1 = static_cast<unsigned char>(s[i + 1]);
            ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0) &&
                 !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
        }
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out.append("\xef\xbf\xbd");
            ++i;
        }
    }
    return out;
}

std::string_view signal_name(int signal) noexcept
{
    static constexpr std::array<std::string_view, 32> names = {
        "",          "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
        "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
        "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
        "SIGXCPU",   "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS",
    };
    if (signal <= 0 || static_cast<std::size_t>(signal) >= names.size())
        return {};
    return names[static_cast<std::size_t>(signal)];
}

std::optional<heap_info> read_hprof_header(std::string_view prefix)
{
    constexpr std::string_view magic = "JAVA PROFILE 1.0.";
    if (prefix.substr(0, magic.size()) != magic)
        return std::nullopt;
    // The version's last part: digits up to the NUL, within a sane length.
    std::size_t end = magic.size();
    while (end < prefix.size() && end < 32 && prefix[end] >= '0' && prefix[end] <= '9')
        ++end;
    if (end == magic.size() || end >= prefix.size() || prefix[end] != '\0')
        return std::nullopt;
    heap_info h;
    h.format = std::string(prefix.substr(0, end));
    const std::size_t at = end + 1;
    if (prefix.size() < at + 4)
        return h;
    const auto id_size = static_cast<std::uint32_t>(read_be(prefix, at, 4));
    if (id_size == 4 || id_size == 8)
        h.id_size = id_size;
    if (prefix.size() < at + 12)
        return h;
    // Milliseconds since the epoch, left out past what the clock holds (the year 2262): no
    // JVM wrote that.
    using namespace std::chrono;
    const auto ms = read_be(prefix, at + 4, 8);
    const auto clock_max = duration_cast<milliseconds>(system_clock::duration::max()).count();
    if (ms <= static_cast<std::uint64_t>(clock_max))
        h.dumped_at_ms = static_cast<std::int64_t>(ms);
    return h;
}

json::object to_json(const crash_info& c)
{
    json::object o;
    if (c.signal) {
        o["signal"] = *c.signal;
        if (auto name = signal_name(*c.signal); !name.empty())
            o["signal_name"] = name;
    }
    if (c.si_code)
        o["si_code"] = *c.si_code;
    if (c.fault_address)
        o["fault_address"] = hex(*c.fault_address);
    if (c.pid)
        o["pid"] = *c.pid;
    if (c.uid)
        o["uid"] = *c.uid;
    if (!c.command.empty())
        o["command"] = c.command;
    if (!c.command_line.empty())
        o["command_line"] = c.command_line;
    if (!c.executable.empty())
        o["executable"] = c.executable;
    if (c.threads)
        o["threads"] = *c.threads;
    if (c.frame)
        o["frame"] = json::object{{"module", c.frame->module}, {"offset", hex(c.frame->offset)}};
    if (!c.signature.empty())
        o["signature"] = c.signature;
    return o;
}

json::object to_json(const heap_info& h)
{
    json::object o;
    o["format"] = h.format;
    if (h.id_size)
        o["id_size"] = *h.id_size;
    if (h.dumped_at_ms) {
        const std::chrono::system_clock::time_point t{std::chrono::milliseconds{*h.dumped_at_ms}};
        o["dumped_at"] = rfc3339_utc(t);
    }
    return o;
}

std::string summary(const crash_info& c)
{
    std::string out;
    if (c.signal) {
        auto name = signal_name(*c.signal);
        out = name.empty() ? "signal " + std::to_string(*c.signal) : std::string(name);
    }
    const std::string_view program = !c.executable.empty() ? c.executable : c.command;
    if (!program.empty()) {
        if (!out.empty())
            out += ' ';
        out += "in ";
        out += program;
    }
    if (c.frame) {
        if (!out.empty())
            out += ' ';
        out += '(';
        out += basename(c.frame->module);
        out += '+';
        out += hex(c.frame->offset);
        out += ')';
    }
    return out;
}

}  // namespace core_interceptor::domain
