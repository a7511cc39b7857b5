// SPDX-License-Identifier: MIT
#include "domain/push_stream.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace core_interceptor::domain;

namespace {

const std::string digest =
    "sha256:736d0a9f2c1e4b7a8d3c5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b";

void feed_progress(push_stream_parser& p)
{
    p.on_line(R"({"status":"The push refers to repository [127.0.0.1:5000/testimg_1.0]"})");
    p.on_line(R"({"status":"Preparing","progressDetail":{},"id":"102f99e5453a"})");
    p.on_line(R"({"status":"Pushing","progressDetail":{"current":512,"total":1024},)"
              R"("progress":"[=====>    ]","id":"102f99e5453a"})");
    p.on_line(R"({"status":"Pushed","progressDetail":{},"id":"102f99e5453a"})");
}

}  // namespace

TEST_CASE("push stream: success with an aux digest")
{
    push_stream_parser p("c2d8407a80a3");
    feed_progress(p);
    CHECK_FALSE(p.succeeded());
    p.on_line(R"({"status":"c2d8407a80a3: digest: )" + digest + R"( size: 737"})");
    p.on_line(R"({"progressDetail":{},"aux":{"Tag":"c2d8407a80a3","Digest":")" + digest +
              R"(","Size":737}})");
    CHECK(p.succeeded());
    CHECK_FALSE(p.failed());
    CHECK(p.digest() == digest);
    CHECK(p.error().empty());
    CHECK(p.malformed_lines() == 0);
}

TEST_CASE("push stream: aux wins over the status line")
{
    const std::string other = "sha256:" + std::string(64, 'a');
    push_stream_parser p("abc");
    p.on_line(R"({"progressDetail":{},"aux":{"Tag":"abc","Digest":")" + digest + R"(","Size":1}})");
    p.on_line(R"({"status":"abc: digest: )" + other + R"( size: 737"})");
    CHECK(p.digest() == digest);
}

TEST_CASE("push stream: success with only the status line (containerd image store)")
{
    push_stream_parser p("abc");
    feed_progress(p);
    p.on_line(R"({"status":"abc: digest: )" + digest + R"( size: 737"})");
    CHECK(p.succeeded());
    CHECK(p.digest() == digest);
}

TEST_CASE("push stream: a status line for another tag is not our digest")
{
    push_stream_parser p("abc");
    p.on_line(R"({"status":"other: digest: )" + digest + R"( size: 737"})");
    CHECK_FALSE(p.succeeded());
    CHECK(p.digest().empty());

    push_stream_parser any;
    any.on_line(R"({"status":"other: digest: )" + digest + R"( size: 737"})");
    CHECK(any.digest() == digest);
}

TEST_CASE("push stream: an error line fails the push with its message")
{
    push_stream_parser p("abc");
    feed_progress(p);
    p.on_line(R"({"errorDetail":)"
              R"({"message":"Get \"http://127.0.0.1:5000/v2/\": connection refused"},)"
              R"("error":"Get \"http://127.0.0.1:5000/v2/\": connection refused"})");
    CHECK(p.failed());
    CHECK_FALSE(p.succeeded());
    CHECK(p.error() == "Get \"http://127.0.0.1:5000/v2/\": connection refused");
}

TEST_CASE("push stream: an error after a digest still fails, and the first error is kept")
{
    push_stream_parser p("abc");
    p.on_line(R"({"status":"abc: digest: )" + digest + R"( size: 737"})");
    CHECK(p.succeeded());
    p.on_line(R"({"error":"first"})");
    p.on_line(R"({"errorDetail":{"message":"second"},"error":"second"})");
    CHECK(p.failed());
    CHECK_FALSE(p.succeeded());
    CHECK(p.error() == "first");
    CHECK(p.digest() == digest);
}

TEST_CASE("push stream: a stream without a digest did not succeed")
{
    push_stream_parser p("abc");
    feed_progress(p);
    CHECK_FALSE(p.succeeded());
    CHECK_FALSE(p.failed());
}

TEST_CASE("push stream: lines that are not JSON objects are counted, not fatal")
{
    push_stream_parser p("abc");
    p.on_line("garbage");
    p.on_line("[1]");
    p.on_line(R"({"status":"abc: digest: sha256:nothex size: 1"})");
    p.on_line(R"({"aux":{"Digest":42}})");
    CHECK(p.malformed_lines() == 2);
    CHECK(p.digest().empty());
    p.on_line(R"({"status":"abc: digest: )" + digest + R"( size: 737"})");
    CHECK(p.succeeded());
}
