// SPDX-License-Identifier: MIT
#pragma once

#include <initializer_list>
#include <optional>
#include <source_location>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core_interceptor::log {

/// Severity, lowest first (SPEC §2 `--log-level`).
enum class level { trace, debug, info, warning, error };

/// Parses "trace|debug|info|warning|error".
std::optional<level> parse_level(std::string_view text);

/// "trace", "debug", "info", "warning", "error".
std::string_view level_name(level l) noexcept;

/// The syslog priority of a level, as the journal's PRIORITY= field has it (error = 3).
int syslog_priority(level l) noexcept;

/// How records are written to stderr (`--log-format`).
enum class format {
    text,  ///< "<level>: <message> KEY=value …", for a terminal
    json,  ///< one JSON object a line with the journal's fields, for log shippers
};

/// Parses "text|json".
std::optional<format> parse_format(std::string_view text);

/// Where records go.
struct config {
    level min_level = level::info;
    /// stderr's format. Under systemd (stderr is the journal) records go to the journal with
    /// their fields whatever the format.
    format output = format::text;
    /// Error records go to the systemd journal too (with structured fields) when its socket
    /// exists, whatever else is configured (SPEC §6).
    bool journal_errors = true;
};

/// Sets up Boost.Log: a one-line stderr sink at `min_level`, and the journal sink.
/// Call once at start-up, before any record is written.
void init(const config& cfg);

/// True when a record at `l` would be written somewhere.
bool enabled(level l) noexcept;

/// `text` with every control character (below 0x20, and 0x7f) written as an escape (`\n`,
/// `\r`, `\t`, `\xNN`): a stderr line stays one line whatever a container chose for a path or
/// a peer sent, and carries no terminal escape sequence.
std::string escape_control(std::string_view text);

/// A structured field: journal field name ("CONTAINER_ID") and value.
using field = std::pair<std::string, std::string>;

/// One log record: stream the message into it; it is written when destroyed.
/// `log::error({{"CONTAINER_ID", id}}) << "commit failed: " << why;`
class record {
public:
    record(level l, std::vector<field> fields, std::source_location loc);
    record(const record&) = delete;
    record& operator=(const record&) = delete;
    ~record();

    template <class T> record& operator<<(const T& v)
    {
        if (active_)
            msg_ << v;
        return *this;
    }

private:
    level level_;
    bool active_;
    std::vector<field> fields_;
    std::source_location loc_;
    std::ostringstream msg_;
};

inline record trace(std::vector<field> f = {},
                    std::source_location l = std::source_location::current())
{
    return record(level::trace, std::move(f), l);
}
inline record debug(std::vector<field> f = {},
                    std::source_location l = std::source_location::current())
{
    return record(level::debug, std::move(f), l);
}
inline record info(std::vector<field> f = {},
                   std::source_location l = std::source_location::current())
{
    return record(level::info, std::move(f), l);
}
inline record warning(std::vector<field> f = {},
                      std::source_location l = std::source_location::current())
{
    return record(level::warning, std::move(f), l);
}
inline record error(std::vector<field> f = {},
                    std::source_location l = std::source_location::current())
{
    return record(level::error, std::move(f), l);
}

/// Test hook: every record written from now on is also appended to `sink` as
/// "<level> <message>" (pass nullptr to stop). Not thread-safe; tests only.
void capture(std::vector<std::string>* sink);

}  // namespace core_interceptor::log
