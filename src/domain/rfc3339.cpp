// SPDX-License-Identifier: MIT
#include "domain/rfc3339.hpp"

#include <ctime>

namespace core_interceptor::domain {
namespace {

/// The `len` digits at `pos` of `t` as a number; -1 when one is missing or not a digit.
int digits_at(std::string_view t, std::size_t pos, std::size_t len)
{
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
        if (i >= t.size() || t[i] < '0' || t[i] > '9')
            return -1;
        v = v * 10 + (t[i] - '0');
    }
    return v;
}

}  // namespace

std::int64_t parse_rfc3339_nano(std::string_view t)
{
    // YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)
    auto num = [t](std::size_t pos, std::size_t len) { return digits_at(t, pos, len); };
    if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ') ||
        t[13] != ':' || t[16] != ':')
        return 0;
    std::tm tm{};
    int year = num(0, 4), mon = num(5, 2), day = num(8, 2), hh = num(11, 2), mm = num(14, 2),
        ss = num(17, 2);
    if (year < 1971 || mon < 1 || day < 1 || hh < 0 || mm < 0 || ss < 0)
        return 0;  // includes Docker's "0001-01-01T00:00:00Z" for never
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    std::size_t pos = 19;
    std::int64_t frac = 0;
    if (pos < t.size() && t[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
            if (digits < 9) {
                frac = frac * 10 + (t[pos] - '0');
                ++digits;
            }
            ++pos;
        }
        for (; digits < 9; ++digits)
            frac *= 10;
    }
    long offset = 0;
    if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
        int oh = num(pos + 1, 2), om = num(pos + 4, 2);
        if (oh < 0 || om < 0)
            return 0;
        offset = (t[pos] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
    } else if (pos >= t.size() || t[pos] != 'Z') {
        return 0;
    }
    std::int64_t secs = static_cast<std::int64_t>(::timegm(&tm)) - offset;
    return secs * 1'000'000'000 + frac;
}

}  // namespace core_interceptor::domain
