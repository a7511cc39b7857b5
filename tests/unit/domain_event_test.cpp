// SPDX-License-Identifier: MIT
#include "domain/event.hpp"

#include <boost/json.hpp>

#include <doctest/doctest.h>

using namespace core_interceptor;
using namespace core_interceptor::domain;

TEST_CASE("event parsing: other container actions and other types are not die events")
{
    auto start = parse_event_line(
        R"({"Type":"container","Action":"start","Actor":{"ID":"abc123","Attributes":{}},)"
        R"("time":5})");
    REQUIRE(start.has_value());
    CHECK(start->kind == event_kind::other);
    CHECK(start->event.id == "abc123");
    CHECK(start->event.time_nano == 5'000'000'000);

    auto network = parse_event_line(R"({"Type":"network","Action":"connect","time":1})");
    REQUIRE(network.has_value());
    CHECK(network->kind == event_kind::other);
    CHECK(network->event.id.empty());
}

TEST_CASE("event parsing: lower-case type, status and from are understood")
{
    auto r = parse_event_line(R"({"type":"container","status":"die","id":"abc","from":"x:1",)"
                              R"("time":10})");
    REQUIRE(r.has_value());
    CHECK(r->kind == event_kind::die);
    CHECK(r->event.id == "abc");
    CHECK(r->event.image == "x:1");
    CHECK(r->event.name.empty());
    CHECK(r->event.time_nano == 10'000'000'000);
}

TEST_CASE("event parsing: a label named exitCode does not change what is parsed")
{
    auto r =
        parse_event_line(R"({"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":)"
                         R"({"exitCode":"0","image":"img","name":"n"}},"timeNano":7})");
    REQUIRE(r.has_value());
    CHECK(r->kind == event_kind::die);
    CHECK(r->event.time_nano == 7);
}

TEST_CASE("event parsing: since= keeps nine fractional digits")
{
    CHECK(since_param(1795556211143489487) == "1795556211.143489487");
    CHECK(since_param(1'000'000'005) == "1.000000005");
    CHECK(since_param(0) == "0.000000000");
    CHECK(since_param(-5) == "0.000000000");
}

TEST_CASE("event parsing: the filter asks for container die and destroy events (SPEC section 4a)")
{
    boost::system::error_code ec;
    auto v = boost::json::parse(die_filter(), ec);
    REQUIRE_FALSE(ec);
    // "died" is what Podman before 4.4 matches; Docker accepts and ignores it.
    CHECK(v == boost::json::parse(
                   R"({"type":["container"],"event":["die","died","destroy","remove"]})"));
}

TEST_CASE("event parsing: a Podman \"died\" action is a die")
{
    auto ev = parse_event_line(
        R"({"Type":"container","Action":"died","Actor":{"ID":"0123456789abcdef","Attributes":{"name":"x","image":"docker.io/library/testimg:1.0","exitCode":"139"}},"timeNano":1})");
    REQUIRE(ev.has_value());
    CHECK(ev->kind == event_kind::die);
}

TEST_CASE("event parsing: a destroy event is recognised")
{
    auto r = parse_event_line(
        R"({"status":"destroy","id":"5e68961453ffd71854ac2a3087987f28da7d5453e3130365e16064d21e5faf17","Type":"container","Action":"destroy","Actor":{"ID":"5e68961453ffd71854ac2a3087987f28da7d5453e3130365e16064d21e5faf17","Attributes":{"image":"testimg:1.0","name":"x"}},"time":1795556211,"timeNano":1795556211243489487})");
    REQUIRE(r.has_value());
    CHECK(r->kind == event_kind::destroy);
    CHECK(r->event.name == "x");
}
