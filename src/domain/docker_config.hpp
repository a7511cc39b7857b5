// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// Where the credentials for one registry come from, as the docker CLI finds them in its
/// config.json: `credHelpers` (a helper for that registry) first, then `credsStore` (a helper
/// for every registry), then `auths`.
struct registry_credentials {
    enum class source { none, auths, helper };
    source from = source::none;
    /// The X-Registry-Auth value for `none` ("e30=", anonymous) and `auths`.
    std::string header;
    /// `helper`: NAME of the program docker-credential-NAME.
    std::string helper;
    /// `helper`: "credHelpers" or "credsStore", for messages.
    std::string key;
};

/// The credentials for `registry_host` in a docker config.json (or the plain {"username",
/// "password"} form registry_auth_header() takes). When `required`, a file with nothing for
/// the host is an error (the operator named it for this registry); otherwise it means
/// anonymous. A helper name must be a plain program suffix ([A-Za-z0-9._-], no '/').
/// Errors name the registry and the key, never a secret.
result<registry_credentials> find_registry_credentials(std::string_view config_json,
                                                       std::string_view registry_host,
                                                       bool required);

/// The X-Registry-Auth value from a credential helper's answer to `get`
/// ({"ServerURL", "Username", "Secret"}): username and password, or an identity token when
/// Username is "<token>". Errors name the helper and the registry, never the answer.
result<std::string> helper_answer_auth(std::string_view answer,
                                       std::string_view helper,
                                       std::string_view registry_host);

}  // namespace core_interceptor::domain
