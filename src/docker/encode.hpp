// SPDX-License-Identifier: MIT
#pragma once

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <string>
#include <string_view>

namespace core_interceptor::docker::detail {

/// `s` percent-encoded for a query value or a path segment of an Engine request.
inline std::string encode(std::string_view s)
{
    return boost::urls::encode(s, boost::urls::unreserved_chars);
}

}  // namespace core_interceptor::docker::detail
