// SPDX-License-Identifier: MIT
#include "domain/json_member.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

using namespace core_interceptor;

TEST_CASE("json member: a string member, or nothing when absent or of another type")
{
    const auto o = boost::json::parse(R"({"id":"abc","n":3,"empty":""})").as_object();
    CHECK(domain::string_member(o, "id") == "abc");
    CHECK(domain::string_member(o, "n").empty());
    CHECK(domain::string_member(o, "missing").empty());
    REQUIRE(domain::string_member_if(o, "empty") != nullptr);
    CHECK(domain::string_member_if(o, "empty")->empty());
    CHECK(domain::string_member_if(o, "n") == nullptr);
    CHECK(domain::string_member_if(o, "missing") == nullptr);
}
