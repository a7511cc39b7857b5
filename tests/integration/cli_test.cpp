// SPDX-License-Identifier: MIT
// The command line contract of SPEC §2: usage errors exit 2 with one line naming the option.
#include "harness.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

// None of these talks to Docker; the host is one where nothing listens, in case it tried.
const std::vector<std::pair<std::string, std::string>> no_docker{
    {"DOCKER_HOST", "unix:///nonexistent/core_interceptor-test/docker.sock"}};

ts::run_result run_daemon(std::vector<std::string> args)
{
    args.insert(args.begin(), daemon_binary().string());
    return ts::run(std::move(args), 10s, no_docker);
}

std::vector<std::string> non_empty_lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.find_first_not_of(" \t\r") != std::string::npos)
            out.push_back(line);
    return out;
}

TEST_CASE("command line: a bad value exits 2 with one line naming the option")
{
    struct bad_case {
        std::vector<std::string> args;
        std::string names;
    };
    const bad_case cases[] = {
        {{"--max-concurrency", "abc"}, "max-concurrency"},
        {{"--no-such-option"}, "no-such-option"},
    };
    for (const auto& c : cases) {
        INFO("option ", c.args.front());
        auto r = run_daemon(c.args);
        INFO("stderr: ", r.err, "\nstdout: ", r.out);
        REQUIRE_FALSE(r.timed_out);
        CHECK(r.status.describe() == "exit 2");
        const auto lines = non_empty_lines(r.err);
        CHECK(lines.size() == 1);
        CHECK(r.err.find(c.names) != std::string::npos);
    }
}

TEST_CASE("command line: --help and --version exit 0")
{
    auto help = run_daemon({"--help"});
    INFO("help: ", help.out, help.err);
    REQUIRE_FALSE(help.timed_out);
    CHECK(help.status.describe() == "exit 0");
    for (const char* option : {"--docker-host", "--registry", "--max-concurrency"})
        CHECK_MESSAGE(
            (help.out + help.err).find(option) != std::string::npos, "usage lacks ", option);

    auto version = run_daemon({"--version"});
    INFO("version: ", version.out, version.err);
    REQUIRE_FALSE(version.timed_out);
    CHECK(version.status.describe() == "exit 0");
    const auto text = version.out + version.err;
    CHECK_FALSE(non_empty_lines(text).empty());
    if (const char* v = std::getenv("CORE_INTERCEPTOR_EXPECTED_VERSION"); v && *v)
        CHECK_MESSAGE(text.find(v) != std::string::npos, "the version is not ", v);
}

}  // namespace
}  // namespace core_interceptor::integration
