// SPDX-License-Identifier: MIT
#include "domain/retry_after.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <ctime>
#include <string>

namespace core_interceptor::domain {
namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// The three forms RFC 9110 §5.6.7 says a recipient accepts.
constexpr const char* date_formats[] = {
    "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
    "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850
    "%a %b %e %H:%M:%S %Y",       // asctime
};

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now)
{
    value = trim(value);
    if (value.empty())
        return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
        // More digits than a day of seconds has are capped by the caller anyway.
        if (value.size() > 9)
            return std::chrono::seconds(999'999'999);
        return std::chrono::seconds(std::stoll(std::string(value)));
    }
    const std::string text(value);
    for (const char* fmt : date_formats) {
        std::tm tm{};
        const char* end = ::strptime(text.c_str(), fmt, &tm);
        if (!end || *end != '\0')
            continue;
        const std::time_t when = ::timegm(&tm);
        if (when == static_cast<std::time_t>(-1))
            return std::nullopt;
        const auto wait = std::chrono::system_clock::from_time_t(when) - now;
        return std::max(std::chrono::seconds(0), std::chrono::ceil<std::chrono::seconds>(wait));
    }
    return std::nullopt;
}

bool retryable_status(unsigned status) noexcept
{
    return status == 0 || status == 408 || status == 429 || status >= 500;
}

}  // namespace core_interceptor::domain
