// SPDX-License-Identifier: MIT
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// The string member `key` of `obj`, or nullptr when it is absent or not a string.
const boost::json::string* string_member_if(const boost::json::object& obj,
                                            std::string_view key) noexcept;

/// The string member `key` of `obj`, or "" when it is absent or not a string.
std::string string_member(const boost::json::object& obj, std::string_view key);

}  // namespace core_interceptor::domain
