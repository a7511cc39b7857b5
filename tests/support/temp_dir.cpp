// SPDX-License-Identifier: MIT
#include "support/temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <string_view>
#include <system_error>

namespace core_interceptor::test_support {

bool keep_temp_dirs()
{
    const char* v = std::getenv("CORE_INTERCEPTOR_KEEP_TEMP");
    return v && std::string_view(v) == "1";
}

temp_dir::temp_dir(const std::string& prefix)
{
    std::string templ = "/tmp/" + prefix + "XXXXXX";
    if (!::mkdtemp(templ.data()))
        throw std::system_error(errno, std::generic_category(), templ);
    path_ = templ;
}

temp_dir::~temp_dir()
{
    if (keep_temp_dirs()) {
        std::clog << "keeping " << path_.string() << '\n';
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec)
        std::clog << "cannot remove " << path_.string() << ": " << ec.message() << '\n';
}

}  // namespace core_interceptor::test_support
