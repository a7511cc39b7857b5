// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// Base64 (standard alphabet, with padding).
std::string base64_encode(std::string_view bytes);
/// Base64url (URL-safe alphabet) **with padding**, as X-Registry-Auth wants (SPEC §4a).
std::string base64url_encode(std::string_view bytes);
/// Decodes standard or URL-safe base64, padding optional; nullopt-like failure on bad input.
result<std::string> base64_decode(std::string_view text);

/// The X-Registry-Auth value for pushing to `registry_host` given the content of a
/// `--registry-auth` file: docker config.json form ({"auths": {"host": {"auth": b64(user:pw)}
/// or {"username","password"}}}) or a plain {"username": …, "password": …}. An empty
/// `file_content` gives anonymous "e30=" (base64url of "{}").
/// errc::malformed_response when the file is not one of these forms or has no entry for the
/// registry. The error never contains the secrets.
result<std::string> registry_auth_header(std::string_view file_content,
                                         std::string_view registry_host);

}  // namespace core_interceptor::domain
