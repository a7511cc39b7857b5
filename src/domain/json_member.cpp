// SPDX-License-Identifier: MIT
#include "domain/json_member.hpp"

namespace core_interceptor::domain {

const boost::json::string* string_member_if(const boost::json::object& obj,
                                            std::string_view key) noexcept
{
    const auto* v = obj.if_contains(key);
    return v ? v->if_string() : nullptr;
}

std::string string_member(const boost::json::object& obj, std::string_view key)
{
    const auto* s = string_member_if(obj, key);
    return s ? std::string(*s) : std::string();
}

}  // namespace core_interceptor::domain
