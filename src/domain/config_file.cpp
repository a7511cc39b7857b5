// SPDX-License-Identifier: MIT
#include "domain/config_file.hpp"

namespace core_interceptor::domain {
namespace {

constexpr std::string_view blanks = " \t\r\n";

std::string_view trim(std::string_view s) noexcept
{
    auto first = s.find_first_not_of(blanks);
    if (first == std::string_view::npos)
        return {};
    auto last = s.find_last_not_of(blanks);
    return s.substr(first, last - first + 1);
}

failure bad_line(std::size_t line, std::string_view why)
{
    return failure(make_error_code(errc::malformed_response),
                   0,
                   "line " + std::to_string(line) + ": " + std::string(why));
}

}  // namespace

result<std::vector<config_entry>> parse_config_file(std::string_view text)
{
    std::vector<config_entry> entries;
    std::string prefix;
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (auto hash = line.find('#'); hash != std::string_view::npos)
            line = line.substr(0, hash);
        line = trim(line);
        if (line.empty())
            continue;
        if (line.front() == '[' && line.back() == ']' && line.size() >= 2) {
            prefix = std::string(trim(line.substr(1, line.size() - 2)));
            if (!prefix.empty() && prefix.back() != '.')
                prefix += '.';
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string_view::npos)
            return bad_line(number, "expected NAME = VALUE");
        auto name = trim(line.substr(0, eq));
        if (name.empty())
            return bad_line(number, "no option name before '='");
        entries.push_back(
            {prefix + std::string(name), std::string(trim(line.substr(eq + 1))), number});
    }
    return entries;
}

bool printable_option_name(std::string_view name) noexcept
{
    if (name.empty() || name.size() > 64)
        return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
            return false;
    return true;
}

}  // namespace core_interceptor::domain
