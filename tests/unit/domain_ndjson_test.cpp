// SPDX-License-Identifier: MIT
#include "domain/event.hpp"
#include "domain/ndjson.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace core_interceptor;
using namespace core_interceptor::domain;

namespace {

std::vector<std::string> drain(line_framer& framer)
{
    std::vector<std::string> lines;
    while (auto line = framer.next())
        lines.push_back(*line);
    return lines;
}

const std::string real_die_line =
    R"({"status":"die","id":"5e68a1b2c3d4e5f60718293a4b5c6d7e8f9011223344556677889900aabbccdd",)"
    R"("from":"testimg:1.0","Type":"container","Action":"die","Actor":{"ID":)"
    R"("5e68a1b2c3d4e5f60718293a4b5c6d7e8f9011223344556677889900aabbccdd","Attributes":)"
    R"({"exitCode":"77","image":"testimg:1.0","name":"zealous_boyd"}},"scope":"local",)"
    R"("time":1795556211,"timeNano":1795556211143489487})";

}  // namespace

TEST_CASE("event framing: one feed holding many lines gives each line")
{
    line_framer framer;
    framer.feed("{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
    CHECK(drain(framer) == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"});
    CHECK(framer.pending() == 0);
}

TEST_CASE("event framing: a line split across feeds is joined")
{
    line_framer framer;
    framer.feed("{\"a\":");
    CHECK_FALSE(framer.next());
    CHECK(framer.pending() == 5);
    framer.feed("1}");
    CHECK_FALSE(framer.next());
    framer.feed("\n{\"b\"");
    CHECK(framer.next() == "{\"a\":1}");
    CHECK_FALSE(framer.next());
    framer.feed(":2}\n");
    CHECK(framer.next() == "{\"b\":2}");
    CHECK_FALSE(framer.next());
}

TEST_CASE("event framing: a stream split at every byte offset gives the same lines")
{
    const std::string stream =
        real_die_line + "\n" + R"({"Type":"network"})" + "\r\n\n" + real_die_line + "\n";
    const std::vector<std::string> expected{real_die_line, R"({"Type":"network"})", real_die_line};
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        CAPTURE(cut);
        line_framer framer;
        std::vector<std::string> lines;
        framer.feed(stream.substr(0, cut));
        for (auto& l : drain(framer))
            lines.push_back(l);
        framer.feed(stream.substr(cut));
        for (auto& l : drain(framer))
            lines.push_back(l);
        CHECK(lines == expected);
        CHECK(framer.pending() == 0);
    }
}

TEST_CASE("event framing: byte-by-byte feeding gives the same lines")
{
    const std::string stream = real_die_line + "\n" + real_die_line + "\n";
    line_framer framer;
    std::vector<std::string> lines;
    for (char c : stream) {
        framer.feed(std::string_view(&c, 1));
        for (auto& l : drain(framer))
            lines.push_back(l);
    }
    CHECK(lines == std::vector<std::string>{real_die_line, real_die_line});
}

TEST_CASE("event framing: CRLF endings and empty lines")
{
    line_framer framer;
    framer.feed("one\r\n\r\n\ntwo\r\nthree");
    CHECK(drain(framer) == std::vector<std::string>{"one", "two"});
    framer.feed("\n");
    CHECK(framer.next() == "three");
}

TEST_CASE("event framing: an over-long line is dropped and the next one still parsed")
{
    SUBCASE("in one feed")
    {
        line_framer framer(16);
        framer.feed(std::string(100, 'x') + "\n{\"ok\":1}\n");
        CHECK(drain(framer) == std::vector<std::string>{"{\"ok\":1}"});
        CHECK(framer.dropped() == 1);
    }
    SUBCASE("across many feeds, never buffered")
    {
        line_framer framer(16);
        framer.feed("{\"a\":1}\nxxxxxxxx");
        for (int i = 0; i < 1000; ++i) {
            framer.feed("yyyyyyyyyyyyyyyy");
            CHECK(framer.pending() <= 16 + 8);
        }
        framer.feed("zz\n{\"ok\":1}\n");
        CHECK(drain(framer) == std::vector<std::string>{"{\"a\":1}", "{\"ok\":1}"});
        CHECK(framer.dropped() == 1);
    }
    SUBCASE("a line of exactly max_line is kept")
    {
        line_framer framer(16);
        framer.feed(std::string(16, 'a') + "\n" + std::string(17, 'b') + "\nc\n");
        CHECK(drain(framer) == std::vector<std::string>{std::string(16, 'a'), "c"});
        CHECK(framer.dropped() == 1);
    }
}

TEST_CASE("event framing: memory stays bounded over a long stream")
{
    line_framer framer(64);
    for (int i = 0; i < 10000; ++i) {
        framer.feed("{\"n\":" + std::to_string(i) + "}\n{\"par");
        auto lines = drain(framer);
        REQUIRE(lines.size() == 1);
        CHECK(lines.front() == "{\"n\":" + std::to_string(i) + "}");
        framer.feed("t\":1}\n");
        CHECK(framer.next() == "{\"part\":1}");
        CHECK(framer.pending() == 0);
    }
}

TEST_CASE("event parsing: the real die line of dockerd")
{
    auto r = parse_event_line(real_die_line);
    REQUIRE(r.has_value());
    CHECK(r->kind == event_kind::die);
    CHECK(r->event.id == "5e68a1b2c3d4e5f60718293a4b5c6d7e8f9011223344556677889900aabbccdd");
    CHECK(r->event.name == "zealous_boyd");
    CHECK(r->event.image == "testimg:1.0");
    CHECK(r->event.time_nano == 1795556211143489487);
    CHECK(since_param(r->event.time_nano) == "1795556211.143489487");
}

TEST_CASE("event parsing: a malformed line is a parse error")
{
    for (std::string bad : {"",
                            "not json",
                            "{\"Type\":\"container\"",
                            "[1,2]",
                            "42",
                            R"({"Action":"die"})",
                            R"({"Type":"container","Action":"die","timeNano":1})",
                            R"({"Type":"container","Action":"die","id":"abc"})",
                            R"({"Type":"container","Action":"die","id":"abc","timeNano":"1"})",
                            R"({"Type":"container","Action":"die","id":"../x","time":1})",
                            R"({"Type":"container","Action":"die","id":"abc","time":1.5})"}) {
        CAPTURE(bad);
        auto r = parse_event_line(bad);
        REQUIRE(r.has_error());
        CHECK(r.error().code == make_error_code(errc::malformed_event));
    }
}

TEST_CASE("event framing: random bytes in random chunks give the lines a whole read gives")
{
    std::uint32_t state = 7;
    auto next = [&state] {
        state = state * 1664525u + 1013904223u;
        return state >> 8;
    };
    const std::string alphabet = "ab{}\"\r\n\n";
    for (int i = 0; i < 200; ++i) {
        std::string stream;
        auto length = next() % 400;
        for (std::uint32_t j = 0; j < length; ++j)
            stream += alphabet[next() % alphabet.size()];

        line_framer whole(8);
        whole.feed(stream);
        auto expected = drain(whole);

        line_framer pieces(8);
        std::vector<std::string> lines;
        for (std::size_t at = 0; at < stream.size();) {
            auto chunk = 1 + next() % 20;
            pieces.feed(std::string_view(stream).substr(at, chunk));
            at += chunk;
            for (auto& l : drain(pieces))
                lines.push_back(l);
        }
        CAPTURE(stream);
        CHECK(lines == expected);
        CHECK(pieces.dropped() == whole.dropped());
        for (auto& parsed : lines) {
            auto r = parse_event_line(parsed);  // hostile input: an error, never a throw
            CHECK(r.has_error());
        }
    }
}
