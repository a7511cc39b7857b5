// SPDX-License-Identifier: MIT
#include "domain/image_name.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <regex>
#include <string>

using namespace core_interceptor::domain;

namespace {

const std::string hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// A repository path as the registry accepts it (distribution/reference path components).
bool valid_repository_path(const std::string& s)
{
    static const std::regex component_path(
        R"([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*)");
    return std::regex_match(s, component_path);
}

struct naming_case {
    const char* config_image;
    const char* image_id;
    const char* expected;
};

void check_cases(const naming_case* begin, const naming_case* end)
{
    for (auto* c = begin; c != end; ++c) {
        const std::string input = c->config_image;
        CAPTURE(input);
        auto name = image_name(c->config_image, c->image_id);
        CHECK(name == c->expected);
        CHECK(valid_repository_path(name));
    }
}

}  // namespace

TEST_CASE("image naming: every example of SPEC section 3")
{
    const naming_case cases[] = {
        {"testimg:1.0", "", "testimg_1.0"},
        {"team/app:2.5-rc1", "", "team/app_2.5-rc1"},
        {"busybox", "", "busybox"},
        {"reg.example.com:5000/team/app:1.0", "", "team/app_1.0"},
        {"app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         "",
         "app_0123456789ab"},
    };
    check_cases(std::begin(cases), std::end(cases));
}

TEST_CASE("image naming: a container created from an image ID is image_ + 12 hex digits")
{
    const std::string id = "sha256:" + hex64;
    CHECK(image_name(id, id) == "image_0123456789ab");
    CHECK(image_name(hex64, id) == "image_0123456789ab");
    CHECK(image_name(hex64) == "image_0123456789ab");
    // Running a container from the short ID 0123456789ab stores what the user typed as
    // Config.Image.
    CHECK(image_name("0123456789ab", id) == "image_0123456789ab");
    CHECK(image_name("0123456789abcdef01", id) == "image_0123456789ab");
    CHECK(image_name("sha256:FEDCBA9876543210", "") == "image_fedcba987654");
}

TEST_CASE("image naming: a hex name that is not a prefix of the image ID stays a name")
{
    CHECK(image_name("deadbeefcafe", "sha256:" + hex64) == "deadbeefcafe");
    CHECK(image_name("0123456789a", "sha256:" + hex64) == "0123456789a");  // too short for an ID
}

TEST_CASE("image naming: digest ref uses 12 hex digits")
{
    CHECK(image_name("app@sha256:" + hex64) == "app_0123456789ab");
    CHECK(image_name("reg.example.com:5000/team/app@sha256:" + hex64) == "team/app_0123456789ab");
    // Docker ignores a tag next to a digest: the digest names the content.
    CHECK(image_name("app:1.0@sha256:" + hex64) == "app_0123456789ab");
    CHECK(image_name("App@SHA256:ABCDEF0123456789") == "app_abcdef012345");
}

TEST_CASE("image naming: upper case is folded to lower case")
{
    CHECK(image_name("App:V1") == "app_v1");
    CHECK(image_name("Team/MyApp:Latest") == "team/myapp_latest");
}

TEST_CASE("image naming: registry domains and ports are stripped")
{
    const naming_case cases[] = {
        {"localhost/x", "", "x"},
        {"localhost:5000/x:y", "", "x_y"},
        {"localhost", "", "localhost"},
        {"127.0.0.1:5000/app", "", "app"},
        {"[::1]:5000/app:2", "", "app_2"},
        {"docker.io/library/busybox:1.36", "", "busybox_1.36"},
        {"my.registry/a/b/c:t", "", "a/b/c_t"},
        // Only the first component can be a domain, and only when a path follows it.
        {"team/v1.2/app", "", "team/v1.2/app"},
        {"example.com", "", "example.com"},
    };
    check_cases(std::begin(cases), std::end(cases));
}

TEST_CASE("image naming: Docker Hub references are named in their familiar form on every Engine")
{
    // Podman reports the full reference of an image Docker would call "testimg:1.0".
    const naming_case cases[] = {
        {"docker.io/library/testimg:1.0", "", "testimg_1.0"},
        {"index.docker.io/library/busybox", "", "busybox"},
        {"registry-1.docker.io/library/app@sha256:0123456789abcdef0123", "", "app_0123456789ab"},
        {"library/busybox:1", "", "busybox_1"},
        {"docker.io/team/app:2.5-rc1", "", "team/app_2.5-rc1"},
        // "library/" is Docker Hub's: another registry's, or a deeper path, is kept.
        {"reg.example.com/library/app:1", "", "library/app_1"},
        {"docker.io/library/a/b", "", "library/a/b"},
        {"library", "", "library"},
        {"library/", "", "library"},
    };
    check_cases(std::begin(cases), std::end(cases));
}

TEST_CASE("image naming: host:port without a slash is a name with a tag")
{
    CHECK(image_name("busybox:latest") == "busybox_latest");
    CHECK(image_name("myhost:5000") == "myhost_5000");
}

TEST_CASE("image naming: odd characters become single underscores or are trimmed")
{
    const naming_case cases[] = {
        {"My App!!/foo@@bar", "", "my_app/foo_bar"},
        {"x/a..b/c___d/e-_-f", "", "x/a_b/c_d/e_f"},
        {"a--b/c__d/e.f", "", "a--b/c__d/e.f"},
        {"a..b", "", "a_b"},
        {"/leading//slashes/", "", "leading/slashes"},
        {"-app-:-tag-", "", "app_tag"},
        {"caf\xc3\xa9/na\xc3\xafve", "", "caf/na_ve"},
        {"!!!", "", "image"},
        {"", "", "image"},
        {"app:", "", "app"},
        // A ':' before a '/' makes the first component a host:port, stripped as a domain.
        {"app:tag/with/slashes", "", "with/slashes"},
    };
    check_cases(std::begin(cases), std::end(cases));
}

TEST_CASE("image naming: a 128-character tag is kept whole")
{
    const std::string tag = "v" + std::string(127, 'x');
    auto name = image_name("app:" + tag);
    CHECK(name == "app_" + tag);
    CHECK(name.size() == 132);
    CHECK(valid_repository_path(name));
}

TEST_CASE("image naming: long names are truncated to max_length and stay valid")
{
    SUBCASE("one long component")
    {
        auto name = image_name("team/" + std::string(300, 'a') + ":1.0");
        CHECK(name.size() == 255 - 13);
        CHECK(name.substr(0, 6) == "team/a");
        CHECK(valid_repository_path(name));
    }
    SUBCASE("cut inside a separator")
    {
        auto name = image_name(std::string(240, 'x') + "__yy");
        CHECK(name == std::string(240, 'x'));
        CHECK(valid_repository_path(name));
    }
    SUBCASE("cut right after a slash")
    {
        auto name = image_name(std::string(241, 'a') + "/bbbb");
        CHECK(name == std::string(241, 'a'));
        CHECK(valid_repository_path(name));
    }
    SUBCASE("explicit max_length")
    {
        CHECK(image_name("team/app:1.0", "", 8) == "team/app");
        CHECK(image_name("team/app:1.0", "", 9) == "team/app");
        CHECK(image_name("team/app:1.0", "", 5) == "team");
        CHECK(image_name("team/app:1.0", "", 12) == "team/app_1.0");
        CHECK(image_name("!!!", "", 3) == "ima");
    }
    SUBCASE("every max_length gives a valid name")
    {
        const std::string source = "reg.io/Team--A/sub__dir/app.v2:rc-1__x";
        for (std::size_t max = 1; max <= 40; ++max) {
            CAPTURE(max);
            auto name = image_name(source, "", max);
            CHECK(name.size() <= max);
            CHECK(valid_repository_path(name));
        }
    }
}

TEST_CASE("image naming: arbitrary input always gives a valid name within max_length")
{
    const std::string alphabet = "aZ09._-/:@!  \x80\xff";
    std::uint32_t state = 12345;
    for (int i = 0; i < 2000; ++i) {
        std::string input;
        state = state * 1664525u + 1013904223u;
        auto length = state % 300;
        for (std::uint32_t j = 0; j < length; ++j) {
            state = state * 1664525u + 1013904223u;
            input += alphabet[(state >> 16) % alphabet.size()];
        }
        auto max = 5 + (state >> 8) % 250;
        auto name = image_name(input, "", max);
        CAPTURE(input);
        REQUIRE(name.size() <= max);
        REQUIRE(valid_repository_path(name));
    }
}

TEST_CASE("image naming: TAG is the first 12 characters of the container ID")
{
    CHECK(image_tag("c2d8407a80a3" + std::string(52, 'f')) == "c2d8407a80a3");
    CHECK(image_tag("short") == "short");
}

TEST_CASE("registry: HOST[:PORT][/PREFIX] is parsed")
{
    auto r = parse_registry("127.0.0.1:5000");
    REQUIRE(r);
    CHECK(r->host == "127.0.0.1:5000");
    CHECK(r->prefix.empty());

    r = parse_registry("reg.example.com:5000/team/cores");
    REQUIRE(r);
    CHECK(r->host == "reg.example.com:5000");
    CHECK(r->prefix == "team/cores");

    r = parse_registry("localhost/prefix/");
    REQUIRE(r);
    CHECK(r->host == "localhost");
    CHECK(r->prefix == "prefix");

    r = parse_registry("[::1]:5000");
    REQUIRE(r);
    CHECK(r->host == "[::1]:5000");
}

TEST_CASE("registry: schemes, bad hosts and invalid prefixes are rejected")
{
    for (std::string bad : {"",
                            "/",
                            "http://reg.example.com",
                            "https://127.0.0.1:5000",
                            "/team",
                            "reg.example.com:abc",
                            "reg.example.com:",
                            "reg.example.com:99999",
                            "reg..example.com",
                            "reg_example.com",
                            "reg.example.com/Team",
                            "reg.example.com//team",
                            "reg.example.com/team_/x",
                            // Docker would read it as a Docker Hub path and push there.
                            "myregistry"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_registry(bad));
    }
    // No room left for an IMAGE_NAME.
    CHECK_FALSE(parse_registry("reg.example.com/" + std::string(220, 'a')));
}

TEST_CASE("registry: the repository and its name budget add up to 255 with the tag")
{
    CHECK(repository(std::nullopt, "testimg_1.0") == "testimg_1.0");
    CHECK(max_image_name_length(std::nullopt) == 242);

    auto plain = parse_registry("127.0.0.1:5000");
    CHECK(repository(plain, "testimg_1.0") == "127.0.0.1:5000/testimg_1.0");
    CHECK(max_image_name_length(plain) == 255 - 15 - 13);

    auto prefixed = parse_registry("reg.example.com:5000/team/cores");
    CHECK(repository(prefixed, "x") == "reg.example.com:5000/team/cores/x");
    auto budget = max_image_name_length(prefixed);
    CHECK(budget == 255 - 32 - 13);

    auto name = image_name(std::string(400, 'q'), "", budget);
    CHECK((repository(prefixed, name) + ":" + image_tag(hex64)).size() == 255);
}
