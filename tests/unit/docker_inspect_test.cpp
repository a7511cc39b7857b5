// SPDX-License-Identifier: MIT
#include "docker/client.hpp"

#include <doctest/doctest.h>

using namespace core_interceptor;

TEST_CASE("docker inspect: state, exit code, finish time and labels of a container")
{
    auto info = docker::parse_inspect(
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
    CHECK(info->finished_nano == docker::parse_rfc3339_nano("2026-11-24T21:36:42.311007368Z"));
    CHECK(info->labels == std::vector<std::pair<std::string, std::string>>{
                              {"team", "core"}, {"core_interceptor.skip", "true"}});

    auto running = docker::parse_inspect(R"({"Id":"ab","State":{"Status":"running","Running":true},
        "Config":{"Image":"x","Labels":null}})");
    REQUIRE(running.has_value());
    CHECK(running->status == "running");
    CHECK(running->labels.empty());
}

TEST_CASE("docker inspect: every label is kept, an opt-out label after 300 others too")
{
    std::string labels;
    for (int i = 0; i < 300; ++i)
        labels += "\"label." + std::to_string(1000 + i) + "\":\"v\",";
    labels += R"("zzz.core_interceptor.skip":"x","core_interceptor.skip":"true")";
    auto info = docker::parse_inspect(
        R"({"Id":"ab","State":{"Status":"exited"},"Config":{"Image":"x","Labels":{)" + labels +
        "}}}");
    REQUIRE(info.has_value());
    REQUIRE(info->labels.size() == 302);
    CHECK(info->labels.back() ==
          std::pair<std::string, std::string>{"core_interceptor.skip", "true"});
}
