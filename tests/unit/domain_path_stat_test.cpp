// SPDX-License-Identifier: MIT
#include "domain/path_stat.hpp"

#include "domain/registry_auth.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace core_interceptor;
using namespace core_interceptor::domain;

TEST_CASE("path stat: the real header of dockerd 20.10 is a regular file")
{
    auto r = decode_path_stat(
        "eyJuYW1lIjoiY29yZSIsInNpemUiOjM5MzIxNiwibW9kZSI6Mzg0LCJtdGltZSI6IjIwMjYtMTEtMjRUMjE6MzY6"
        "NDIuMzExMDA3MzY4WiIsImxpbmtUYXJnZXQiOiIifQ==");
    REQUIRE(r.has_value());
    CHECK(r->name == "core");
    CHECK(r->size == 393216);
    CHECK(r->mode == 384);
    CHECK(r->mtime == "2026-11-24T21:36:42.311007368Z");
    CHECK(r->link_target.empty());
    CHECK(r->is_regular());
    CHECK_FALSE(r->is_dir());
    CHECK_FALSE(r->is_symlink());
}

TEST_CASE("path stat: padding is optional")
{
    auto encoded = base64_encode(R"({"name":"core","size":1,"mode":420})");
    REQUIRE(encoded.back() == '=');
    while (encoded.back() == '=')
        encoded.pop_back();
    auto r = decode_path_stat(encoded);
    REQUIRE(r.has_value());
    CHECK(r->size == 1);
}

TEST_CASE("path stat: a directory is not regular")
{
    auto r = decode_path_stat(base64_encode(
        R"({"name":"core","size":4096,"mode":2147484141,"mtime":"2026-11-24T21:36:42Z",)"
        R"("linkTarget":""})"));
    REQUIRE(r.has_value());
    CHECK(r->is_dir());
    CHECK_FALSE(r->is_regular());
    CHECK(r->mode == ((1u << 31) | 0755u));
}

TEST_CASE("path stat: a symlink is not regular and keeps its target")
{
    auto r = decode_path_stat(base64_encode(
        R"({"name":"core","size":9,"mode":134218239,"mtime":"","linkTarget":"/dev/null"})"));
    REQUIRE(r.has_value());
    CHECK(r->is_symlink());
    CHECK_FALSE(r->is_regular());
    CHECK(r->link_target == "/dev/null");
}

TEST_CASE("path stat: pipes, sockets and devices are not regular; setuid files are")
{
    for (std::uint32_t bit : {1u << 26, 1u << 25, 1u << 24, 1u << 21, 1u << 19}) {
        path_stat st;
        st.mode = bit | 0644u;
        CAPTURE(bit);
        CHECK_FALSE(st.is_regular());
    }
    path_stat setuid;
    setuid.mode = (1u << 23) | (1u << 20) | 0755u;
    CHECK(setuid.is_regular());
}

TEST_CASE("path stat: malformed base64 is malformed_response")
{
    for (std::string bad : {"!!!!", "eyJuYW1lIjoiY29yZSJ9=", "e", "ab=c"}) {
        CAPTURE(bad);
        auto r = decode_path_stat(bad);
        REQUIRE(r.has_error());
        CHECK(r.error().code == make_error_code(errc::malformed_response));
    }
}

TEST_CASE("path stat: malformed JSON or wrong field types are malformed_response")
{
    for (std::string bad : {"{\"name\":",
                            "[1,2]",
                            "\"core\"",
                            R"({"name":1})",
                            R"({"size":"393216"})",
                            R"({"mode":-1})",
                            R"({"size":1.5})",
                            R"({"linkTarget":null})"}) {
        CAPTURE(bad);
        auto r = decode_path_stat(base64_encode(bad));
        REQUIRE(r.has_error());
        CHECK(r.error().code == make_error_code(errc::malformed_response));
    }
}

TEST_CASE("path stat: a header over 64 KiB is limit_exceeded")
{
    auto r = decode_path_stat(std::string(64 * 1024 + 4, 'A'));
    REQUIRE(r.has_error());
    CHECK(r.error().code == make_error_code(errc::limit_exceeded));
}
