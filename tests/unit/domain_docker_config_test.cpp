// SPDX-License-Identifier: MIT
// Where the credentials for a registry come from in a docker config.json (auths, credsStore,
// credHelpers), and a credential helper's answer.
#include "domain/docker_config.hpp"
#include "domain/registry_auth.hpp"

#include "toolbox.hpp"

#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace core_interceptor;
using namespace core_interceptor::domain;
namespace json = boost::json;

namespace {

using source = registry_credentials::source;

using test::decode_header;

const std::string host = "127.0.0.1:5443";

}  // namespace

TEST_CASE("docker config: credHelpers for the host wins over credsStore and auths")
{
    const std::string cfg = R"({"auths": {"127.0.0.1:5443": {"auth": "dTpw"}},
                               "credsStore": "desktop",
                               "credHelpers": {"https://127.0.0.1:5443": "test",
                                               "other.example": "ecr-login"}})";
    auto c = find_registry_credentials(cfg, host, true);
    REQUIRE(c.has_value());
    CHECK(c->from == source::helper);
    CHECK(c->helper == "test");
    CHECK(c->key == "credHelpers");
}

TEST_CASE("docker config: credsStore serves every registry without a credHelpers entry")
{
    const std::string cfg = R"({"auths": {"127.0.0.1:5443": {}}, "credsStore": "pass",
                               "credHelpers": {"other.example": "ecr-login"}})";
    auto c = find_registry_credentials(cfg, host, false);
    REQUIRE(c.has_value());
    CHECK(c->from == source::helper);
    CHECK(c->helper == "pass");
    CHECK(c->key == "credsStore");
}

TEST_CASE("docker config: auths when there is no helper; an empty credsStore is none")
{
    const std::string cfg = R"({"auths": {"127.0.0.1:5443": {"auth": "dXNlcjpwdw=="}},
                               "credsStore": ""})";
    auto c = find_registry_credentials(cfg, host, true);
    REQUIRE(c.has_value());
    CHECK(c->from == source::auths);
    auto body = decode_header(c->header);
    CHECK(body.at("username").as_string() == "user");
    CHECK(body.at("password").as_string() == "pw");
    CHECK(body.at("serveraddress").as_string() == host);
}

TEST_CASE("docker config: nothing for the host is anonymous unless the file was named for it")
{
    const std::string cfg = R"({"auths": {"other.example": {"auth": "dXNlcjpwdw=="}}})";
    auto found = find_registry_credentials(cfg, host, false);
    REQUIRE(found.has_value());
    CHECK(found->from == source::none);
    CHECK(found->header == "e30=");
    auto named = find_registry_credentials(cfg, host, true);
    REQUIRE_FALSE(named.has_value());
    CHECK(named.error().message.find(host) != std::string::npos);
    // A config.json with no credentials at all (the docker CLI writes {} or only settings).
    auto settings = find_registry_credentials(R"({"psFormat": "table"})", host, false);
    REQUIRE(settings.has_value());
    CHECK(settings->from == source::none);
    CHECK(find_registry_credentials("", host, true)->header == "e30=");
}

TEST_CASE("docker config: a helper name that is a path or not a string is refused, named")
{
    for (const char* cfg : {R"({"credsStore": "../../bin/sh"})",
                            R"({"credsStore": 3})",
                            R"({"credHelpers": {"127.0.0.1:5443": "a/b"}})"}) {
        auto c = find_registry_credentials(cfg, host, false);
        REQUIRE_FALSE(c.has_value());
        CHECK(c.error().message.find(host) != std::string::npos);
        CHECK(c.error().message.find("helper name") != std::string::npos);
    }
    CHECK_FALSE(find_registry_credentials(R"({"credHelpers": []})", host, false).has_value());
    CHECK_FALSE(find_registry_credentials("[1]", host, false).has_value());
}

TEST_CASE("credential helper answer: username and secret, or an identity token")
{
    auto basic = helper_answer_auth(
        R"({"ServerURL": "127.0.0.1:5443", "Username": "ci", "Secret": "pa55"})", "test", host);
    REQUIRE(basic.has_value());
    auto b = decode_header(*basic);
    CHECK(b.at("username").as_string() == "ci");
    CHECK(b.at("password").as_string() == "pa55");
    CHECK(b.at("serveraddress").as_string() == host);
    CHECK_FALSE(b.contains("identitytoken"));

    auto token =
        helper_answer_auth(R"({"Username": "<token>", "Secret": "refresh-tok"})", "test", host);
    REQUIRE(token.has_value());
    auto t = decode_header(*token);
    CHECK(t.at("identitytoken").as_string() == "refresh-tok");
    CHECK_FALSE(t.contains("username"));
    CHECK_FALSE(t.contains("password"));
}

TEST_CASE("credential helper answer: a bad answer names helper and registry, never the answer")
{
    for (const char* answer : {"not json secret-123",
                               R"({"Username": "u"})",
                               R"({"Username": "u", "Secret": ""})",
                               R"(["secret-123"])"}) {
        auto r = helper_answer_auth(answer, "test", host);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message.find("docker-credential-test") != std::string::npos);
        CHECK(r.error().message.find(host) != std::string::npos);
        CHECK(r.error().message.find("secret-123") == std::string::npos);
    }
}
