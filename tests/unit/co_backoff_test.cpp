// SPDX-License-Identifier: MIT
#include "co/backoff.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using core_interceptor::co::backoff;

TEST_CASE("backoff: jittered waits in [d/2, d], d doubling up to the maximum")
{
    backoff b(100ms, 1000ms);
    for (auto d : {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms}) {
        CHECK(b.delay() == d);
        const auto w = b.next();
        CHECK(w >= d / 2);
        CHECK(w <= d);
    }
}

TEST_CASE("backoff: a reset starts again from the first delay")
{
    backoff b(500ms, 60000ms);
    b.next();
    b.next();
    CHECK(b.delay() == 2000ms);
    b.reset();
    CHECK(b.delay() == 500ms);
    CHECK(b.next() <= 500ms);
}

TEST_CASE("backoff: without jitter each wait is the delay itself")
{
    backoff b(250ms, 1000ms, backoff::jitter::none);
    for (auto d : {250ms, 500ms, 1000ms, 1000ms})
        CHECK(b.next() == d);
    b.reset();
    CHECK(b.next() == 250ms);
}

TEST_CASE("backoff: a first delay above the maximum is waited once, then the maximum")
{
    backoff b(250ms, 100ms, backoff::jitter::none);
    CHECK(b.next() == 250ms);
    CHECK(b.next() == 100ms);
}
