// SPDX-License-Identifier: MIT
#include "domain/registry_auth.hpp"

#include "domain/json_member.hpp"

#include <boost/json.hpp>

#include <array>
#include <cstdint>
#include <optional>

namespace core_interceptor::domain {
namespace json = boost::json;

namespace {

constexpr std::string_view std_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view bytes, std::string_view alphabet)
{
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                 (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                 static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += alphabet[n & 63];
    }
    auto rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2)
            n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

constexpr std::array<signed char, 256> decode_table()
{
    std::array<signed char, 256> t{};
    for (auto& v : t)
        v = -1;
    for (std::size_t i = 0; i < 64; ++i) {
        t[static_cast<unsigned char>(std_alphabet[i])] = static_cast<signed char>(i);
        t[static_cast<unsigned char>(url_alphabet[i])] = static_cast<signed char>(i);
    }
    return t;
}

failure auth_error(std::string what)
{
    return failure(make_error_code(errc::malformed_response), 0, std::move(what));
}

struct credentials {
    std::string username;
    std::string password;
    std::string identity_token;
};

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// config.json keys are written as "host", "https://host", "http://host/v1/", …
std::string host_of_key(std::string_view key)
{
    for (std::string_view scheme : {"https://", "http://"}) {
        if (key.substr(0, scheme.size()) == scheme) {
            key.remove_prefix(scheme.size());
            break;
        }
    }
    return lower(key.substr(0, key.find('/')));
}

// Well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s) noexcept
{
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80           ? 0
                        : (c >> 5) == 0x6  ? 1
                        : (c >> 4) == 0xe  ? 2
                        : (c >> 3) == 0x1e ? 3
                                           : 9;
        if (n == 9 || n > s.size() - i - 1)
            return false;
        std::uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1f) : n == 2 ? (c & 0x0f) : (c & 0x07);
        for (std::size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc >> 6) != 0x2)
                return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        constexpr std::uint32_t min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

// One entry of "auths": {"auth": base64("user:password")} or {"username", "password"}.
// Messages name the registry, never the content.
result<credentials> entry_credentials(const json::value& entry, std::string_view host)
{
    const auto* obj = entry.if_object();
    if (obj == nullptr)
        return auth_error("registry auth: the entry for " + std::string(host) +
                          " is not an object");
    credentials c;
    if (const auto* token = string_member_if(*obj, "identitytoken"))
        c.identity_token = std::string(*token);
    if (const auto* auth = string_member_if(*obj, "auth"); auth != nullptr && !auth->empty()) {
        auto decoded = base64_decode(*auth);
        auto colon = decoded ? decoded->find(':') : std::string::npos;
        // X-Registry-Auth is JSON: credentials that are not UTF-8 cannot be sent in it.
        if (colon == std::string::npos || !valid_utf8(*decoded))
            return auth_error("registry auth: the \"auth\" field for " + std::string(host) +
                              " is not base64 of user:password");
        c.username = decoded->substr(0, colon);
        c.password = decoded->substr(colon + 1);
        return c;
    }
    const auto* user = string_member_if(*obj, "username");
    const auto* password = string_member_if(*obj, "password");
    if (user != nullptr && password != nullptr) {
        c.username = std::string(*user);
        c.password = std::string(*password);
        return c;
    }
    if (!c.identity_token.empty())
        return c;
    return auth_error("registry auth: the entry for " + std::string(host) +
                      " has neither \"auth\" nor \"username\" and \"password\"");
}

}  // namespace

std::string base64_encode(std::string_view bytes)
{
    return encode(bytes, std_alphabet);
}

std::string base64url_encode(std::string_view bytes)
{
    return encode(bytes, url_alphabet);
}

result<std::string> base64_decode(std::string_view text)
{
    static constexpr auto table = decode_table();
    auto bad = [] { return failure(make_error_code(errc::malformed_response), 0, "bad base64"); };

    std::size_t padding = 0;
    while (!text.empty() && text.back() == '=' && padding < 2) {
        text.remove_suffix(1);
        ++padding;
    }
    if (text.size() % 4 == 1)
        return bad();
    if (padding > 0 && (text.size() + padding) % 4 != 0)
        return bad();

    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        auto v = table[static_cast<unsigned char>(c)];
        if (v < 0)
            return bad();
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

result<std::string> registry_auth_header(std::string_view file_content,
                                         std::string_view registry_host)
{
    if (file_content.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return base64url_encode("{}");

    boost::system::error_code ec;
    json::value doc = json::parse(file_content, ec);
    if (ec)
        return auth_error("registry auth: the file is not JSON");
    const auto* obj = doc.if_object();
    if (obj == nullptr)
        return auth_error("registry auth: the file is not a JSON object");

    const json::value* entry = &doc;  // the plain {"username", "password"} form
    if (const auto* auths_value = obj->if_contains("auths")) {
        const auto* auths = auths_value->if_object();
        if (auths == nullptr)
            return auth_error("registry auth: \"auths\" is not an object");
        const auto wanted = lower(registry_host);
        entry = auths->if_contains(registry_host);
        for (auto it = auths->begin(); entry == nullptr && it != auths->end(); ++it) {
            if (host_of_key(it->key()) == wanted)
                entry = &it->value();
        }
        if (entry == nullptr)
            return auth_error("registry auth: no entry for " + std::string(registry_host));
    } else if (!obj->contains("username") && !obj->contains("password")) {
        return auth_error("registry auth: neither \"auths\" nor \"username\" and \"password\"");
    }
    auto creds = entry_credentials(*entry, registry_host);
    if (!creds)
        return creds.error();

    json::object body;
    if (!creds->username.empty() || !creds->password.empty()) {
        body["username"] = creds->username;
        body["password"] = creds->password;
    }
    if (!creds->identity_token.empty())
        body["identitytoken"] = creds->identity_token;
    body["serveraddress"] = registry_host;
    return base64url_encode(json::serialize(body));
}

}  // namespace core_interceptor::domain
