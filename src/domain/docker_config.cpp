// SPDX-License-Identifier: MIT
#include "domain/docker_config.hpp"

#include "domain/json_member.hpp"
#include "domain/registry_auth.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

namespace core_interceptor::domain {
namespace json = boost::json;

namespace {

failure config_error(std::string what)
{
    return failure(make_error_code(errc::malformed_response), 0, std::move(what));
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// "host", "https://host", "http://host/v1/" -> "host", lower case.
std::string host_of_key(std::string_view key)
{
    for (std::string_view scheme : {"https://", "http://"})
        if (key.starts_with(scheme)) {
            key.remove_prefix(scheme.size());
            break;
        }
    return lower(key.substr(0, key.find('/')));
}

bool valid_helper_name(std::string_view name)
{
    return !name.empty() && name.size() <= 100 && name != "." && name != ".." &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                      c == '-';
           });
}

result<registry_credentials>
helper(const json::value& v, std::string_view key, std::string_view registry_host)
{
    const auto* name = v.if_string();
    if (name == nullptr || !valid_helper_name(*name))
        return config_error("docker config: \"" + std::string(key) + "\" for " +
                            std::string(registry_host) +
                            " is not a helper name (docker-credential-NAME: letters, digits, "
                            "'.', '_', '-')");
    registry_credentials c;
    c.from = registry_credentials::source::helper;
    c.helper = std::string(*name);
    c.key = std::string(key);
    return c;
}

}  // namespace

result<registry_credentials> find_registry_credentials(std::string_view config_json,
                                                       std::string_view registry_host,
                                                       bool required)
{
    registry_credentials anonymous;
    anonymous.header = base64url_encode("{}");
    if (config_json.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return anonymous;
    boost::system::error_code ec;
    const json::value doc = json::parse(config_json, ec);
    const auto* obj = ec ? nullptr : doc.if_object();
    if (obj == nullptr)
        return config_error("docker config: not a JSON object");
    const auto wanted = lower(registry_host);
    if (const auto* helpers = obj->if_contains("credHelpers")) {
        const auto* m = helpers->if_object();
        if (m == nullptr)
            return config_error("docker config: \"credHelpers\" is not an object");
        for (const auto& [k, v] : *m)
            if (host_of_key(k) == wanted)
                return helper(v, "credHelpers", registry_host);
    }
    if (const auto* store = obj->if_contains("credsStore");
        store != nullptr && !(store->is_string() && store->as_string().empty()))
        return helper(*store, "credsStore", registry_host);

    auto header = registry_auth_header(config_json, registry_host);
    if (header) {
        registry_credentials c;
        c.from = registry_credentials::source::auths;
        c.header = std::move(*header);
        return c;
    }
    // No entry for this host in a file found by itself (not named for this registry): none.
    const bool no_entry = header.error().message.find("no entry for") != std::string::npos;
    if (!required && (no_entry || !obj->contains("auths")))
        return anonymous;
    return header.error();
}

result<std::string>
helper_answer_auth(std::string_view answer, std::string_view helper, std::string_view registry_host)
{
    const std::string who = "credential helper docker-credential-" + std::string(helper) + " for " +
                            std::string(registry_host);
    boost::system::error_code ec;
    const json::value doc = json::parse(answer, ec);
    const auto* obj = ec ? nullptr : doc.if_object();
    if (obj == nullptr)
        return config_error(who + ": its answer is not a JSON object");
    const auto* user = string_member_if(*obj, "Username");
    const auto* secret = string_member_if(*obj, "Secret");
    if (user == nullptr || secret == nullptr || secret->empty())
        return config_error(who + ": its answer has no \"Username\" and \"Secret\"");
    json::object body;
    if (*user == "<token>") {
        body["identitytoken"] = *secret;
    } else {
        body["username"] = *user;
        body["password"] = *secret;
    }
    body["serveraddress"] = registry_host;
    return base64url_encode(json::serialize(body));
}

}  // namespace core_interceptor::domain
