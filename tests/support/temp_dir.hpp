// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>

namespace core_interceptor::test_support {

/// A fresh directory /tmp/<prefix>XXXXXX, removed with its content on destruction unless
/// CORE_INTERCEPTOR_KEEP_TEMP=1 is set (then its path is printed, to inspect logs).
/// Keep `prefix` short: Unix socket paths under it are limited to 108 bytes.
class temp_dir {
public:
    explicit temp_dir(const std::string& prefix = "ci-");
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir();

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

/// Whether CORE_INTERCEPTOR_KEEP_TEMP=1 asks to keep temporary directories.
bool keep_temp_dirs();

}  // namespace core_interceptor::test_support
