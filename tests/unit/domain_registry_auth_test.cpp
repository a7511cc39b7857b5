// SPDX-License-Identifier: MIT
#include "domain/registry_auth.hpp"
#include "toolbox.hpp"

#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace core_interceptor;
using namespace core_interceptor::domain;
namespace json = boost::json;

namespace {

using test::decode_header;

const std::string secret = "s3cr3t/+?pw";

}  // namespace

TEST_CASE("base64: standard and url-safe alphabets, with padding")
{
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("\xfb\xff") == "+/8=");
    CHECK(base64url_encode("\xfb\xff") == "-_8=");
    CHECK(base64url_encode("{}") == "e30=");
    CHECK(base64_decode("+/8=").value() == "\xfb\xff");
    CHECK(base64_decode("-_8").value() == "\xfb\xff");
    CHECK(base64_decode("Zm9vYmFy").value() == "foobar");
    CHECK(base64_decode("Zm9v!").has_error());
    CHECK(base64_decode("Z").has_error());
    CHECK(base64_decode("Zg===").has_error());
}

TEST_CASE("registry auth: an anonymous push sends e30=")
{
    CHECK(registry_auth_header("", "127.0.0.1:5000").value() == "e30=");
    CHECK(registry_auth_header(" \n", "127.0.0.1:5000").value() == "e30=");
}

TEST_CASE("registry auth: a plain username and password file")
{
    auto h = registry_auth_header(R"({"username":"ci","password":")" + secret + R"("})",
                                  "127.0.0.1:5000");
    REQUIRE(h.has_value());
    CHECK(h->find_first_of("+/") == std::string::npos);
    auto o = decode_header(*h);
    CHECK(o.at("username") == "ci");
    CHECK(o.at("password") == secret.c_str());
    CHECK(o.at("serveraddress") == "127.0.0.1:5000");
}

TEST_CASE("registry auth: config.json auths with an auth field")
{
    const auto file = R"({"auths":{"other.example.com":{"auth":")" + base64_encode("x:y") +
                      R"("},"127.0.0.1:5000":{"auth":")" + base64_encode("ci:" + secret) +
                      R"("}}})";
    auto o = decode_header(registry_auth_header(file, "127.0.0.1:5000").value());
    CHECK(o.at("username") == "ci");
    CHECK(o.at("password") == secret.c_str());
    CHECK(o.at("serveraddress") == "127.0.0.1:5000");
}

TEST_CASE("registry auth: config.json keys with a scheme still match the host")
{
    const auto file = R"({"auths":{"https://reg.example.com:5000/v2/":{"username":"u",)"
                      R"("password":"p"}}})";
    auto o = decode_header(registry_auth_header(file, "reg.example.com:5000").value());
    CHECK(o.at("username") == "u");
    CHECK(o.at("password") == "p");

    const auto http =
        R"({"auths":{"http://reg.example.com":{"auth":")" + base64_encode("a:b:c") + R"("}}})";
    auto h = decode_header(registry_auth_header(http, "reg.example.com").value());
    CHECK(h.at("username") == "a");
    CHECK(h.at("password") == "b:c");
}

TEST_CASE("registry auth: a missing entry is an error that does not leak the password")
{
    const auto file =
        R"({"auths":{"other.example.com":{"auth":")" + base64_encode("ci:" + secret) + R"("}}})";
    auto r = registry_auth_header(file, "127.0.0.1:5000");
    REQUIRE(r.has_error());
    CHECK(r.error().code == make_error_code(errc::malformed_response));
    const auto text = r.error().describe();
    CHECK(text.find("127.0.0.1:5000") != std::string::npos);
    CHECK(text.find(secret) == std::string::npos);
    CHECK(text.find(base64_encode("ci:" + secret)) == std::string::npos);
}

TEST_CASE("registry auth: malformed files are errors that do not leak their content")
{
    for (std::string bad :
         {std::string(R"({"password":")") + secret + "\"",
          std::string("[\"") + secret + "\"]",
          std::string(R"({"auths":")") + secret + "\"}",
          std::string(R"({"auths":{"127.0.0.1:5000":{}}, "p":")") + secret + "\"}",
          std::string(R"({"auths":{"127.0.0.1:5000":{"auth":"!)") + secret + "\"}}}",
          std::string(R"({"auths":{"127.0.0.1:5000":{"auth":")") + base64_encode(secret) + "\"}}}",
          std::string(R"({"credsStore":")") + secret + "\"}"}) {
        CAPTURE(bad.size());
        auto r = registry_auth_header(bad, "127.0.0.1:5000");
        REQUIRE(r.has_error());
        CHECK(r.error().code == make_error_code(errc::malformed_response));
        CHECK(r.error().describe().find(secret) == std::string::npos);
    }
}
