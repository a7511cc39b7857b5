// SPDX-License-Identifier: MIT
#include "domain/engine_answers.hpp"
#include "domain/rfc3339.hpp"

#include <doctest/doctest.h>

using namespace core_interceptor;

TEST_CASE("engine answers: inspect: state, exit code, finish time and labels of a container")
{
    auto info = domain::parse_inspect(
        R"({"Id":"3bb1f33bb805b0772a8853936356bc140c31b90388197737e540fab67c60aca5",
        "Name":"/crashy","Image":"sha256:aaaa",
        "State":{"Status":"exited","Running":false,"ExitCode":139,"FinishedAt":"2026-11-24T21:36:42.311007368Z"},
        "Config":{"Image":"testimg:1.0","Labels":{"team":"core","core_interceptor.skip":"true"}},
        "HostConfig":{"AutoRemove":false}})");
    REQUIRE(info.has_value());
    CHECK(info->name == "crashy");
    CHECK(info->image == "testimg:1.0");
    CHECK(info->status == "exited");
    CHECK(info->exit_code == 139);
    CHECK(info->finished_nano == domain::parse_rfc3339_nano("2026-11-24T21:36:42.311007368Z"));
    CHECK(info->labels == std::vector<std::pair<std::string, std::string>>{
                              {"team", "core"}, {"core_interceptor.skip", "true"}});

    auto running = domain::parse_inspect(R"({"Id":"ab","State":{"Status":"running","Running":true},
        "Config":{"Image":"x","Labels":null}})");
    REQUIRE(running.has_value());
    CHECK(running->status == "running");
    CHECK(running->labels.empty());
}

TEST_CASE("engine answers: inspect: every label is kept, an opt-out label after 300 others too")
{
    std::string labels;
    for (int i = 0; i < 300; ++i)
        labels += "\"label." + std::to_string(1000 + i) + "\":\"v\",";
    labels += R"("zzz.core_interceptor.skip":"x","core_interceptor.skip":"true")";
    auto info = domain::parse_inspect(
        R"({"Id":"ab","State":{"Status":"exited"},"Config":{"Image":"x","Labels":{)" + labels +
        "}}}");
    REQUIRE(info.has_value());
    REQUIRE(info->labels.size() == 302);
    CHECK(info->labels.back() ==
          std::pair<std::string, std::string>{"core_interceptor.skip", "true"});
}

TEST_CASE("engine answers: GET /version, one parser for the daemon and --check")
{
    auto v = domain::parse_engine_version(
        R"({"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12"})");
    REQUIRE(v.has_value());
    CHECK(v->version == "20.10.24+dfsg1");
    CHECK(v->api == domain::api_version{1, 41});
    REQUIRE(v->min_api);
    CHECK(*v->min_api == domain::api_version{1, 12});
    CHECK_FALSE(domain::parse_engine_version(R"({"Version":"x"})").has_value());
    CHECK_FALSE(domain::parse_engine_version("not json").has_value());
}

TEST_CASE("engine answers: the IDs of a container list, the daemon's message of an error")
{
    auto ids = domain::parse_container_ids(R"([{"Id":"a1"},{"Names":["/x"]},{"Id":"b2"}])");
    REQUIRE(ids.has_value());
    CHECK(*ids == std::vector<std::string>{"a1", "b2"});
    CHECK_FALSE(domain::parse_container_ids("{}").has_value());
    CHECK(domain::daemon_message(R"({"message":"No such container: x"})") ==
          "No such container: x");
    CHECK(domain::daemon_message("page not found\r\n") == "page not found");
    CHECK(domain::daemon_message(std::string(300, 'x')).size() == 200);
}
