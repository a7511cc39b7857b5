// SPDX-License-Identifier: MIT
#include "domain/signature_limit.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace core_interceptor;
using namespace std::chrono_literals;
using domain::signature_limit;

namespace {
const signature_limit::clock::time_point t0{std::chrono::milliseconds(1'795'556'211'143)};
}

TEST_CASE(
    "signature limit: past N commits within the window a death is a duplicate of the last image")
{
    signature_limit l(2, 3600s);
    CHECK_FALSE(l.duplicate_of("aaaa", t0));
    l.record("aaaa", "reg/app:1", t0);
    CHECK_FALSE(l.duplicate_of("aaaa", t0 + 1s));
    l.record("aaaa", "reg/app:2", t0 + 1s);
    CHECK(l.duplicate_of("aaaa", t0 + 2s) == std::optional<std::string>("reg/app:2"));
    // Another signature, and no signature at all, are never held back by it.
    CHECK_FALSE(l.duplicate_of("bbbb", t0 + 2s));
    CHECK_FALSE(l.duplicate_of("", t0 + 2s));
    // Once the first commit is an hour old there is room again.
    CHECK(l.duplicate_of("aaaa", t0 + 3599s));
    CHECK_FALSE(l.duplicate_of("aaaa", t0 + 3600s));
    CHECK(l.size() == 1);
    CHECK_FALSE(l.duplicate_of("aaaa", t0 + 7200s));
    CHECK(l.size() == 0);
}

TEST_CASE("signature limit: 0 is no limit and counts nothing")
{
    signature_limit l(0, 3600s);
    for (int i = 0; i < 10; ++i) {
        l.record("aaaa", "reg/app:" + std::to_string(i), t0);
        CHECK_FALSE(l.duplicate_of("aaaa", t0));
    }
    CHECK(l.size() == 0);
    CHECK(l.to_json() == "{}");
}

TEST_CASE("signature limit: the counts round-trip through JSON and drop what is past the window")
{
    signature_limit a(2, 3600s);
    a.record("aaaa", "reg/app:1", t0);
    a.record("aaaa", "reg/app:2", t0 + 10s);
    a.record("bbbb", "reg/other:1", t0 - 3000s);

    signature_limit b(2, 3600s);
    REQUIRE(b.load(a.to_json(), t0 + 20s));
    CHECK(b.duplicate_of("aaaa", t0 + 20s) == std::optional<std::string>("reg/app:2"));
    CHECK(b.size() == 2);
    signature_limit c(2, 3600s);
    REQUIRE(c.load(a.to_json(), t0 + 700s));
    CHECK(c.size() == 1);  // bbbb's only commit is past the hour
}

TEST_CASE("signature limit: a state file of another shape is refused whole")
{
    for (const char* text : {"",
                             "not json",
                             "[]",
                             "{\"aaaa\": 3}",
                             "{\"aaaa\": {\"times_ms\": 3, \"image\": \"x\"}}",
                             "{\"aaaa\": {\"times_ms\": [], \"image\": 7}}"}) {
        CAPTURE(text);
        signature_limit l(2, 3600s);
        CHECK_FALSE(l.load(text, t0));
        CHECK(l.size() == 0);
    }
    // Times out of order or not numbers are skipped, not trusted.
    signature_limit l(5, 3600s);
    REQUIRE(l.load(
        "{\"aaaa\": {\"times_ms\": [1795556211143, \"x\", 1], \"image\": \"reg/app:1\"}}", t0));
    CHECK(l.size() == 1);
}
