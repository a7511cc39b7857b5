// SPDX-License-Identifier: MIT
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace core_interceptor::test {

/// A fresh directory under /tmp for a state directory, removed with everything in it.
struct temp_state {
    std::filesystem::path dir;
    explicit temp_state(std::string prefix = "ci-state")
    {
        std::string t = "/tmp/" + prefix + "-XXXXXX";
        REQUIRE(::mkdtemp(t.data()) != nullptr);
        dir = t;
    }
    ~temp_state() { std::filesystem::remove_all(dir); }
    temp_state(const temp_state&) = delete;
    temp_state& operator=(const temp_state&) = delete;
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

}  // namespace core_interceptor::test
