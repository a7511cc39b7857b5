// SPDX-License-Identifier: MIT
#include "domain/api_version.hpp"

#include <doctest/doctest.h>

using namespace core_interceptor::domain;

TEST_CASE("api version: parsing and printing")
{
    auto v = parse_api_version("1.41");
    REQUIRE(v);
    CHECK(*v == api_version{1, 41});
    CHECK(to_string(*v) == "1.41");
    CHECK(to_string(our_api_version) == "1.47");
    CHECK(parse_api_version("1.9") < parse_api_version("1.10"));
}

TEST_CASE("api version: malformed versions are rejected")
{
    for (std::string bad : {"",
                            "1",
                            "1.",
                            ".41",
                            "1.41.0",
                            "v1.41",
                            "1.41 ",
                            " 1.41",
                            "1.-1",
                            "+1.41",
                            "a.b",
                            "1.4x",
                            "99999.1",
                            "1,41"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_api_version(bad));
    }
}

TEST_CASE("api version: an older daemon brings us down to its version")
{
    CHECK(negotiate({1, 47}, {1, 41}, std::nullopt) == api_version{1, 41});
    CHECK(negotiate({1, 47}, {1, 41}, api_version{1, 12}) == api_version{1, 41});
}

TEST_CASE("api version: a newer daemon is spoken to in our version, not below its minimum")
{
    CHECK(negotiate({1, 47}, {1, 52}, api_version{1, 44}) == api_version{1, 47});
    CHECK(negotiate({1, 47}, {1, 47}, std::nullopt) == api_version{1, 47});
    // Engine 29.0-29.2 refuse anything older than 1.44.
    CHECK(negotiate({1, 41}, {1, 52}, api_version{1, 44}) == api_version{1, 44});
}
