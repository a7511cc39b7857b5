// SPDX-License-Identifier: MIT
// The parsers of option values: sizes, durations, addresses, headers.
#include "config/detail.hpp"

#include "domain/volume_dump.hpp"

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>

#include <unistd.h>

#include <cctype>
#include <string_view>

namespace po = boost::program_options;

namespace core_interceptor::config::detail {
namespace {

bool valid_header_name(std::string_view name)
{
    if (name.empty())
        return false;
    for (char c : name) {
        bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!tchar)
            return false;
    }
    return true;
}

}  // namespace

/// "2G", "64M", "1048576": bytes, or bad_option naming `option`.
std::uint64_t byte_size(const std::string& option, const std::string& text)
{
    auto size = domain::parse_byte_size(text);
    if (!size)
        throw invalid(option, text, "expected bytes, or a number with K, M, G or T");
    return *size;
}

/// "90", "30s", "10m", "2h", "1d" -> seconds.
std::chrono::seconds duration(const std::string& option, const std::string& text)
{
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
        ++digits;
    std::string unit = text.substr(digits);
    long long scale = unit.empty() || unit == "s" ? 1
                      : unit == "m"               ? 60
                      : unit == "h"               ? 3600
                      : unit == "d"               ? 86400
                                                  : 0;
    if (digits == 0 || scale == 0 || digits > 9)
        throw invalid(option, text, "expected a duration such as 30s, 10m, 2h, 1d");
    // At most 100 years: more is surely a mistake, and would overflow the clock's arithmetic.
    constexpr long long max_seconds = 100LL * 366 * 86400;
    const long long n = std::stoll(text.substr(0, digits));
    if (n > max_seconds / scale)
        throw invalid(option, text, "at most 100 years");
    return std::chrono::seconds(n * scale);
}

std::string machine_hostname()
{
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0)
        return "localhost";
    return buf;
}

/// "NAME: VALUE" -> {NAME, VALUE}. A malformed header names the option (and `where`, a line of
/// a file), never the text: it may be a token ("Authorization Bearer …").
std::pair<std::string, std::string>
header(const std::string& option, const std::string& h, const std::string& where)
{
    auto colon = h.find(':');
    std::string name = colon == std::string::npos ? "" : h.substr(0, colon);
    if (colon == std::string::npos || !valid_header_name(name))
        throw bad_option{option, where + "invalid value (expected \"NAME: VALUE\")"};
    std::string value = h.substr(colon + 1);
    auto first = value.find_first_not_of(" \t");
    auto last = value.find_last_not_of(" \t\r");
    value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
    if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos)
        throw bad_option{option, where + "value of '" + name + "' has a line break"};
    return {std::move(name), std::move(value)};
}

/// "127.0.0.1:9464", "[::1]:9464": an IP literal and a port from 1 to 65535.
metrics::config listen_address(const std::string& option, const std::string& text)
{
    const bad_option bad = invalid(
        option, text, "expected HOST:PORT with an IP address, e.g. 127.0.0.1:9464 or [::1]:9464");
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
        throw bad;
    std::string host = text.substr(0, colon);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']')
            throw bad;
        host = host.substr(1, host.size() - 2);
        if (!boost::urls::parse_ipv6_address(host))
            throw bad;
    } else if (!boost::urls::parse_ipv4_address(host)) {
        throw bad;
    }
    metrics::config m;
    m.host = std::move(host);
    const std::string port = text.substr(colon + 1);
    std::uint16_t p{};
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p == 0)
        throw bad;
    m.port = p;
    return m;
}

}  // namespace core_interceptor::config::detail
