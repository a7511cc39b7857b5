// SPDX-License-Identifier: MIT
#include "domain/tar.hpp"

#include <algorithm>
#include <limits>

namespace core_interceptor::domain::tar {

std::optional<std::uint64_t> parse_octal(std::string_view field, blank if_blank) noexcept
{
    std::size_t i = 0;
    while (i < field.size() && field[i] == ' ')
        ++i;
    std::uint64_t value = 0;
    bool any = false;
    for (; i < field.size(); ++i) {
        char c = field[i];
        if (c < '0' || c > '7')
            break;
        if (value > (std::numeric_limits<std::uint64_t>::max() >> 3))
            return std::nullopt;
        value = value * 8 + static_cast<std::uint64_t>(c - '0');
        any = true;
    }
    for (; i < field.size(); ++i) {
        if (field[i] != ' ' && field[i] != '\0')
            return std::nullopt;
    }
    if (!any && if_blank == blank::invalid)
        return std::nullopt;
    return value;
}

std::optional<std::uint64_t> parse_number(std::string_view field, blank if_blank) noexcept
{
    auto first = static_cast<unsigned char>(field.front());
    if ((first & 0x80) == 0)
        return parse_octal(field, if_blank);
    if (first == 0xff)
        return std::nullopt;  // negative
    std::uint64_t value = first & 0x7f;
    for (std::size_t i = 1; i < field.size(); ++i) {
        if (value > (std::numeric_limits<std::uint64_t>::max() >> 8))
            return std::nullopt;
        value = (value << 8) | static_cast<unsigned char>(field[i]);
    }
    return value;
}

bool checksum_matches(std::string_view header, std::uint64_t stored) noexcept
{
    std::uint64_t unsigned_sum = 0;
    std::int64_t signed_sum = 0;
    for (std::size_t i = 0; i < block; ++i) {
        char c = (i >= 148 && i < 156) ? ' ' : header[i];
        unsigned_sum += static_cast<unsigned char>(c);
        signed_sum += static_cast<signed char>(c);
    }
    return stored == unsigned_sum || static_cast<std::int64_t>(stored) == signed_sum;
}

std::string_view c_string(std::string_view field) noexcept
{
    return field.substr(0, std::min(field.find('\0'), field.size()));
}

}  // namespace core_interceptor::domain::tar
