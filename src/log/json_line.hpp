// SPDX-License-Identifier: MIT
#pragma once

#include "log/log.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::log {

/// What one `--log-format json` line says: the fields the journal gets for the same record.
struct json_record {
    level severity = level::info;
    std::string_view message;
    std::vector<field> fields;  ///< the record's own fields (CONTAINER_ID, IMAGE, …)
    std::string_view code_file;
    unsigned code_line = 0;
    std::string_view code_func;
    std::chrono::system_clock::time_point time;
};

/// One JSON object and a newline, for log shippers: `TIMESTAMP` (RFC 3339 UTC), `PRIORITY`
/// (syslog, as a string like the journal's), `LEVEL`, `MESSAGE`, `SYSLOG_IDENTIFIER`,
/// `CODE_FILE`, `CODE_LINE`, `CODE_FUNC`, then the record's fields. Every value is a string;
/// control characters and quotes are escaped, and bytes that are not UTF-8 become U+FFFD, so a
/// line is always valid JSON. A record field never replaces one of the fixed ones.
std::string format_json_line(const json_record& r);

/// `text` with every byte sequence that is not well-formed UTF-8 replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

}  // namespace core_interceptor::log
