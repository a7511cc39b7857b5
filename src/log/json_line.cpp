// SPDX-License-Identifier: MIT
#include "log/json_line.hpp"

#include "domain/notification.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace core_interceptor::log {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

/// Length of the well-formed UTF-8 sequence at the start of `s` (Unicode 15, table 3-7), or 0.
std::size_t utf8_sequence(std::string_view s)
{
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char c = b(0);
    if (c < 0x80)
        return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
        hi = c == 0xED ? 0x9F : 0xBF;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;  // no overlong forms
        hi = c == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    }
    if (n == 0 || s.size() < n || b(1) < lo || b(1) > hi)
        return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (b(i) < 0x80 || b(i) > 0xBF)
            return 0;
    return n;
}

}  // namespace

std::string valid_utf8(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const std::size_t n = utf8_sequence(text);
        if (n == 0) {
            out += replacement;
            text.remove_prefix(1);
        } else {
            out.append(text.substr(0, n));
            text.remove_prefix(n);
        }
    }
    return out;
}

std::string format_json_line(const json_record& r)
{
    boost::json::object o;
    o["TIMESTAMP"] = domain::rfc3339_utc(r.time);
    o["PRIORITY"] = std::to_string(syslog_priority(r.severity));
    o["LEVEL"] = level_name(r.severity);
    o["MESSAGE"] = valid_utf8(r.message);
    o["SYSLOG_IDENTIFIER"] = "core_interceptor";
    if (!r.code_file.empty()) {
        o["CODE_FILE"] = valid_utf8(r.code_file);
        o["CODE_LINE"] = std::to_string(r.code_line);
        o["CODE_FUNC"] = valid_utf8(r.code_func);
    }
    // emplace keeps the value already there: a record field cannot pass for MESSAGE.
    for (const auto& [k, v] : r.fields)
        o.emplace(valid_utf8(k), valid_utf8(v));
    std::string line = boost::json::serialize(o);
    line += '\n';
    return line;
}

}  // namespace core_interceptor::log
