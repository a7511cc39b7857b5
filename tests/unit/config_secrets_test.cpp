// SPDX-License-Identifier: MIT
// Options that carry secrets: errors name the option, never the value; files that hold
// secrets must be private (not world-readable, writable by their owner only, owned by root or
// the running user).
#include "check/verdicts.hpp"
#include "config/options.hpp"
#include "domain/config_file.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace core_interceptor;

namespace {

constexpr std::string_view secret = "s3cr3t-T0ken-never-echoed";

struct run_result {
    std::variant<config::app_config, int> parsed;
    std::string err;
};

run_result run(std::vector<std::string> args)
{
    args.insert(args.begin(), "core_interceptor");
    std::vector<const char*> argv;
    for (auto& a : args)
        argv.push_back(a.c_str());
    std::ostringstream out, err;
    auto r = config::parse(static_cast<int>(argv.size()), argv.data(), out, err);
    return {std::move(r), out.str() + err.str()};
}

/// A file with `content` and `mode` (mkstemp: owned by the user running the test).
std::string file_with(const std::string& content, mode_t mode)
{
    char name[] = "/tmp/ci-secret-XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::ofstream(name) << content;
    REQUIRE(::chmod(name, mode) == 0);
    return name;
}

void refused(const run_result& r, const std::string& option)
{
    INFO("output: ", r.err);
    REQUIRE(std::holds_alternative<int>(r.parsed));
    CHECK(std::get<int>(r.parsed) == 2);
    CHECK(r.err.find(option) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(secret) == std::string::npos);
}

}  // namespace

TEST_CASE("secrets: a malformed secret-bearing option names the option, not the value")
{
    const std::string s(secret);
    const std::string url = "--rest-url=http://127.0.0.1:1/x";
    refused(run({url, "--rest-header", "Authorization Bearer " + s}), "--rest-header");
    refused(run({url, "--rest-header", "Authorization Bearer " + s + ": x"}), "--rest-header");
    refused(run({url, "--rest-header", "X-Token: a\r\n" + s}), "--rest-header");
    refused(run({"--kafka-brokers", "127.0.0.1:9092", "-X", "sasl.password" + s}),
            "--kafka-property");
    refused(run({"--kafka-brokers", "127.0.0.1:9092", "-X", "=" + s}), "--kafka-property");
    refused(run({"--rest-url", "ftp://user:" + s + "@127.0.0.1/x"}), "--rest-url");
    refused(run({"--rest-url", "http://user:" + s + "@/x?token=" + s}), "--rest-url");
    refused(run({"--rest-insecure=" + s, url}), "rest-insecure");
    refused(run({"--" + s}), "unknown option");
}

TEST_CASE("secrets: a malformed configuration file names the line, never its text")
{
    const std::string s(secret);
    const std::pair<std::string, std::string> cases[] = {
        {"hostname = h\nAuthorization Bearer " + s + "\n", "--config"},
        {"Authorization Bearer " + s + " = x\n", "--config"},
        {"= " + s + "\n", "--config"},
        {"rest-url = http://127.0.0.1:1/x\nrest-header = Bearer " + s + "\n", "--rest-header"},
        {"rest-insecure = " + s + "\n", "rest-insecure"},
    };
    for (const auto& [content, option] : cases) {
        auto file = file_with(content, 0600);
        auto r = run({"--config", file});
        std::remove(file.c_str());
        refused(r, option);
    }
}

TEST_CASE("secrets: --config, --registry-auth and --rest-header-file must be private")
{
    const std::string auth = R"({"username": "u", "password": "p"})";
    const std::vector<std::string> registry = {"--registry", "127.0.0.1:5000", "--registry-auth"};
    const std::vector<std::string> rest = {
        "--rest-url", "http://127.0.0.1:1/x", "--rest-header-file"};
    struct kind {
        std::vector<std::string> before;
        std::string content, option;
    };
    for (const auto& k : {kind{{"--config"}, "hostname = h\n", "--config"},
                          kind{registry, auth, "--registry-auth"},
                          kind{rest, "X-Token: abc\n", "--rest-header-file"}}) {
        CAPTURE(k.option);
        // The file with `mode` (and, when `owner` is not -1, that owner) given to the option.
        auto with_file = [&](mode_t mode, int owner = -1) {
            auto file = file_with(k.content, mode);
            if (owner >= 0)
                REQUIRE(::chown(file.c_str(),
                                static_cast<uid_t>(owner),
                                static_cast<gid_t>(owner)) == 0);
            auto args = k.before;
            args.push_back(file);
            auto r = run(args);
            std::remove(file.c_str());
            return r;
        };
        // Accepted: private to the owner, or readable by the service's group (0640 root:group).
        for (mode_t mode : {0600, 0400, 0640, 0440}) {
            CAPTURE(mode);
            auto r = with_file(mode);
            CHECK_MESSAGE(std::holds_alternative<config::app_config>(r.parsed), r.err);
        }
        // Refused: readable by everyone, writable by others than the owner.
        for (mode_t mode : {0644, 0604, 0660, 0620, 0602}) {
            CAPTURE(mode);
            refused(with_file(mode), k.option);
        }
        // Refused: owned by another user than root and the one running (only root can chown).
        if (::geteuid() == 0) {
            auto r = with_file(0600, 65534);
            refused(r, k.option);
            CHECK(r.err.find("owned by") != std::string::npos);
        }
    }
}

TEST_CASE("secrets: --rest-header-file adds one header a line; a bad line is named by number")
{
    const std::string s(secret);
    auto good = file_with("# headers\nAuthorization: Bearer abc\r\n\n  X-Team:  core \n", 0600);
    auto r = run({"--rest-url",
                  "http://127.0.0.1:1/x",
                  "--rest-header",
                  "X-One: 1",
                  "--rest-header-file",
                  good});
    REQUIRE(std::holds_alternative<config::app_config>(r.parsed));
    const auto& headers = std::get<config::app_config>(r.parsed).rest->headers;
    REQUIRE(headers.size() == 3);
    CHECK(headers[0] == std::pair<std::string, std::string>{"X-One", "1"});
    CHECK(headers[1] == std::pair<std::string, std::string>{"Authorization", "Bearer abc"});
    CHECK(headers[2] == std::pair<std::string, std::string>{"X-Team", "core"});
    refused(run({"--rest-header-file", good}), "--rest-header-file");
    std::remove(good.c_str());

    auto bad = file_with("X-Ok: 1\nAuthorization Bearer " + s + "\n", 0600);
    auto b = run({"--rest-url", "http://127.0.0.1:1/x", "--rest-header-file", bad});
    std::remove(bad.c_str());
    refused(b, "--rest-header-file");
    CHECK(b.err.find("line 2") != std::string::npos);
}

TEST_CASE("durations: --catch-up-since is capped at 100 years (no overflow)")
{
    auto ok = run({"--catch-up-since", "36500d"});
    REQUIRE(std::holds_alternative<config::app_config>(ok.parsed));
    CHECK(std::get<config::app_config>(ok.parsed).catch_up_since == std::chrono::hours(24 * 36500));
    for (const char* text : {"106752d", "999999999d", "999999999h", "999999999m"}) {
        CAPTURE(text);
        auto r = run({"--catch-up-since", text});
        REQUIRE(std::holds_alternative<int>(r.parsed));
        CHECK(std::get<int>(r.parsed) == 2);
        CHECK(r.err.find("catch-up-since") != std::string::npos);
    }
    auto s = run({"--catch-up-since", "999999999"});
    CHECK(std::holds_alternative<config::app_config>(s.parsed));
}

TEST_CASE("config file: read as Boost.Program_options reads it, errors by line number")
{
    auto e = domain::parse_config_file("# c\n a = 1 # x\n\n[kafka]\nb=\tv=w \n[]\nc = 3\r\n");
    REQUIRE(e.has_value());
    REQUIRE(e->size() == 3);
    CHECK((*e)[0].name == "a");
    CHECK((*e)[0].value == "1");
    CHECK((*e)[0].line == 2);
    CHECK((*e)[1].name == "kafka.b");
    CHECK((*e)[1].value == "v=w");
    CHECK((*e)[2].name == "c");
    CHECK((*e)[2].value == "3");
    auto bad = domain::parse_config_file("a = 1\nsecret words\n");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().message == "line 2: expected NAME = VALUE");
    CHECK(domain::printable_option_name("rest-header"));
    CHECK_FALSE(domain::printable_option_name("Authorization Bearer x"));
}

TEST_CASE("check: the REST URL is printed without its userinfo, query and fragment")
{
    CHECK(check::redact_url("https://user:pw@crash.example.com:8443/api/cores?token=abc#f") ==
          "https://***@crash.example.com:8443/api/cores?***#***");
    CHECK(check::redact_url("http://127.0.0.1:1/x") == "http://127.0.0.1:1/x");
    CHECK(check::redact_url("http://[bad") == "(the --rest-url value)");
}
