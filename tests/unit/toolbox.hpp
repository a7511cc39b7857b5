// SPDX-License-Identifier: MIT
#pragma once
// What the unit tests share: a temporary directory, a scoped capture of the log, a count of
// state files, the JSON object of an X-Registry-Auth value.
#include "domain/registry_auth.hpp"
#include "log/log.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <stdlib.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace core_interceptor::test {

/// A fresh directory /tmp/<prefix>-XXXXXX, removed with everything in it.
struct temp_dir {
    std::filesystem::path dir;
    explicit temp_dir(std::string prefix = "ci-test")
    {
        std::string t = "/tmp/" + prefix + "-XXXXXX";
        REQUIRE(::mkdtemp(t.data()) != nullptr);
        dir = t;
    }
    ~temp_dir()
    {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return dir; }
    std::filesystem::path operator/(const std::string& name) const { return dir / name; }
};

/// Collects every log record into `into` from now until `stop` or the end of its scope,
/// however the test leaves it.
class log_capture {
public:
    explicit log_capture(std::vector<std::string>& into) { log::capture(&into); }
    ~log_capture() { stop(); }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;

    void stop() { log::capture(nullptr); }
};

/// How many `*.json` files `d` holds (0 when it does not exist).
inline std::size_t json_files_in(const std::filesystem::path& d)
{
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(d, ec))
        n += e.path().extension() == ".json" ? 1 : 0;
    return n;
}

/// The JSON object an X-Registry-Auth value (`header`) carries; fails the test when it is not
/// base64 of a JSON object.
inline boost::json::object decode_header(const std::string& header)
{
    auto raw = domain::base64_decode(header);
    REQUIRE(raw.has_value());
    boost::system::error_code ec;
    auto v = boost::json::parse(*raw, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    return v.as_object();
}

}  // namespace core_interceptor::test
