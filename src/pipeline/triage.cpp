// SPDX-License-Identifier: MIT
#include "pipeline/triage.hpp"

#include "domain/dump.hpp"

#include <algorithm>

namespace core_interceptor::pipeline {

docker::prefix_need probe_need(std::size_t notes_cap)
{
    return [notes_cap](std::string_view head) -> std::size_t {
        if (head.size() < domain::magic_bytes)
            return domain::magic_bytes;
        if (domain::classify(head) != domain::dump_type::core)
            return head.size();
        return std::max(head.size(), domain::core_notes_end(head, notes_cap));
    };
}

void read_triage(domain::dump_info& d, std::string_view head)
{
    if (d.type == domain::dump_type::core) {
        if (auto c = domain::read_core_notes(head))
            d.crash = std::move(*c);
    } else if (d.type == domain::dump_type::hprof) {
        d.heap = domain::read_hprof_header(head);
    }
}

std::string signal_label(const domain::crash_info& c)
{
    if (!c.signal)
        return {};
    auto name = domain::signal_name(*c.signal);
    return name.empty() ? std::to_string(*c.signal) : std::string(name);
}

std::vector<log::field> crash_fields(const domain::crash_info& c)
{
    std::vector<log::field> f;
    if (c.signal) {
        f.emplace_back("COREDUMP_SIGNAL", std::to_string(*c.signal));
        if (auto name = domain::signal_name(*c.signal); !name.empty())
            f.emplace_back("COREDUMP_SIGNAL_NAME", std::string(name));
    }
    if (!c.executable.empty())
        f.emplace_back("COREDUMP_EXE", c.executable);
    if (!c.command_line.empty())
        f.emplace_back("COREDUMP_CMDLINE", c.command_line);
    if (!c.signature.empty())
        f.emplace_back("COREDUMP_SIGNATURE", c.signature);
    return f;
}

std::vector<std::pair<std::string, std::string>> crash_labels(const domain::crash_info& c)
{
    std::vector<std::pair<std::string, std::string>> l;
    if (auto s = signal_label(c); !s.empty())
        l.emplace_back("core_interceptor.signal", std::move(s));
    if (!c.signature.empty())
        l.emplace_back("core_interceptor.signature", c.signature);
    if (!c.executable.empty())
        l.emplace_back("core_interceptor.executable", c.executable);
    return l;
}

std::string died_of(const domain::crash_info* c)
{
    if (!c)
        return {};
    auto s = domain::summary(*c);
    return s.empty() ? std::string{} : ", which died of " + s + ",";
}

}  // namespace core_interceptor::pipeline
