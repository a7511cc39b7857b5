// SPDX-License-Identifier: MIT
#include "domain/short_id.hpp"

#include <doctest/doctest.h>

using core_interceptor::domain::short_id;

TEST_CASE("short id: the first 12 characters, as docker ps shows them")
{
    CHECK(short_id("3bb1f33bb805b0772a8853936356bc140c31b90388197737e540fab67c60aca5") ==
          "3bb1f33bb805");
    CHECK(short_id("abc") == "abc");
    CHECK(short_id("").empty());
}
