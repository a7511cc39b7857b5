// SPDX-License-Identifier: MIT
// The --registry-auth file: whatever it holds, the answer is an X-Registry-Auth value (base64url
// of a JSON object naming the registry) or an error made of fixed words and the registry's
// name, never of the file's content (which holds the password).
#include "domain/registry_auth.hpp"
#include "fuzz_input.hpp"

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace core_interceptor::domain;
namespace json = boost::json;

namespace {

constexpr std::string_view hosts[] = {
    "127.0.0.1:5000", "registry.example.com", "Docker.IO", "[::1]:5000"};

bool known_error(const std::string& m, const std::string& host)
{
    const std::string fixed[] = {
        "registry auth: the file is not JSON",
        "registry auth: the file is not a JSON object",
        "registry auth: \"auths\" is not an object",
        "registry auth: no entry for " + host,
        "registry auth: neither \"auths\" nor \"username\" and \"password\"",
        "registry auth: the entry for " + host + " is not an object",
        "registry auth: the \"auth\" field for " + host + " is not base64 of user:password",
        "registry auth: the entry for " + host +
            " has neither \"auth\" nor \"username\" and \"password\"",
    };
    for (const auto& f : fixed)
        if (m == f)
            return true;
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::string host(hosts[data[0] & 3]);
    const std::string_view file(reinterpret_cast<const char*>(data) + 1, size - 1);

    auto header = registry_auth_header(file, host);
    if (!header) {
        FUZZ_CHECK(known_error(header.error().message, host));
        return 0;
    }
    // base64url with padding, of a JSON object whose serveraddress is the registry.
    FUZZ_CHECK(header->size() % 4 == 0 && !header->empty());
    for (char c : *header)
        FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_' || c == '=');
    auto decoded = base64_decode(*header);
    FUZZ_CHECK(decoded.has_value());
    FUZZ_CHECK(base64url_encode(*decoded) == *header);
    boost::system::error_code ec;
    auto doc = json::parse(*decoded, ec);
    FUZZ_CHECK(!ec && doc.is_object());
    if (*decoded != "{}") {
        const auto* server = doc.as_object().if_contains("serveraddress");
        FUZZ_CHECK(server != nullptr && server->is_string() && server->as_string() == host);
    }
    return 0;
}
