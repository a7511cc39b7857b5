// SPDX-License-Identifier: MIT
#include "log/json_line.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace core_interceptor;
namespace json = boost::json;

namespace {

log::json_record a_record()
{
    using namespace std::chrono;
    log::json_record r;
    r.severity = log::level::error;
    r.message = "commit failed: conflict";
    r.fields = {{"CONTAINER_ID", "c2d8407a80a3"}, {"IMAGE", "testimg:1.0"}};
    r.code_file = "src/pipeline/job.cpp";
    r.code_line = 42;
    r.code_func = "run";
    r.time =
        sys_days{year{2026} / 11 / 24} + hours{20} + minutes{21} + seconds{10} + milliseconds{123};
    return r;
}

}  // namespace

TEST_CASE("log json: one object a line with the journal's fields, every value a string")
{
    const std::string line = log::format_json_line(a_record());
    REQUIRE(line.ends_with("}\n"));
    CHECK(line.find('\n') == line.size() - 1);
    const auto o = json::parse(line).as_object();
    CHECK(o.at("TIMESTAMP") == "2026-11-24T20:21:10.123Z");
    CHECK(o.at("PRIORITY") == "3");
    CHECK(o.at("LEVEL") == "error");
    CHECK(o.at("MESSAGE") == "commit failed: conflict");
    CHECK(o.at("SYSLOG_IDENTIFIER") == "core_interceptor");
    CHECK(o.at("CODE_FILE") == "src/pipeline/job.cpp");
    CHECK(o.at("CODE_LINE") == "42");
    CHECK(o.at("CODE_FUNC") == "run");
    CHECK(o.at("CONTAINER_ID") == "c2d8407a80a3");
    CHECK(o.at("IMAGE") == "testimg:1.0");
    CHECK(o.size() == 10);
}

TEST_CASE("log json: PRIORITY is the syslog priority of each level")
{
    const std::pair<log::level, const char*> cases[] = {{log::level::trace, "7"},
                                                        {log::level::debug, "7"},
                                                        {log::level::info, "6"},
                                                        {log::level::warning, "4"},
                                                        {log::level::error, "3"}};
    for (const auto& [l, priority] : cases) {
        auto r = a_record();
        r.severity = l;
        CAPTURE(priority);
        CHECK(json::parse(log::format_json_line(r)).as_object().at("PRIORITY") == priority);
    }
}

TEST_CASE("log json: quotes, backslashes and control characters are escaped")
{
    auto r = a_record();
    const std::string nasty = std::string("say \"hi\"\\ \n\r\t\b\f\x01\x1f end") + '\0' + "after";
    r.message = nasty;
    r.fields = {{"DUMP_PATH", "/tmp/a\"b\nc"}};
    const std::string line = log::format_json_line(r);
    // One line whatever the message holds: no raw control character is left.
    for (char c : line.substr(0, line.size() - 1))
        CHECK(static_cast<unsigned char>(c) >= 0x20);
    CHECK(line.find(R"(say \"hi\"\\ \n\r\t\b\f\u0001\u001f end\u0000after)") != std::string::npos);
    const auto o = json::parse(line).as_object();
    CHECK(o.at("MESSAGE").as_string() == nasty);
    CHECK(o.at("DUMP_PATH") == "/tmp/a\"b\nc");
}

TEST_CASE("log json: bytes that are not UTF-8 become U+FFFD; UTF-8 is kept")
{
    CHECK(log::valid_utf8("plain") == "plain");
    CHECK(log::valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xA5") ==
          "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xA5");
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(log::valid_utf8("a\xFF"
                          "b") == "a" + fffd + "b");
    CHECK(log::valid_utf8("\xC0\xAF") == fffd + fffd);                        // overlong '/'
    CHECK(log::valid_utf8("\xED\xA0\x80") == fffd + fffd + fffd);             // a surrogate
    CHECK(log::valid_utf8("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // above U+10FFFF
    CHECK(log::valid_utf8("end\xE2\x82") == "end" + fffd + fffd);             // cut short

    auto r = a_record();
    r.message = "name \xFF\xFE";
    const auto o = json::parse(log::format_json_line(r)).as_object();
    CHECK(o.at("MESSAGE").as_string() == "name " + fffd + fffd);
}

TEST_CASE("log json: a record field never replaces a fixed one")
{
    auto r = a_record();
    r.fields = {{"MESSAGE", "forged"}, {"PRIORITY", "0"}, {"CONTAINER_ID", "abc"}};
    const auto o = json::parse(log::format_json_line(r)).as_object();
    CHECK(o.at("MESSAGE") == "commit failed: conflict");
    CHECK(o.at("PRIORITY") == "3");
    CHECK(o.at("CONTAINER_ID") == "abc");
}

TEST_CASE("log: --log-format values")
{
    CHECK(log::parse_format("text") == log::format::text);
    CHECK(log::parse_format("json") == log::format::json);
    CHECK_FALSE(log::parse_format("JSON"));
    CHECK_FALSE(log::parse_format(""));
}
