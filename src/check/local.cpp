// SPDX-License-Identifier: MIT
// The checks of --check that look at this host only: the state directory and the registry
// credentials file.
#include "check/local.hpp"

#include "check/check.hpp"
#include "domain/docker_config.hpp"
#include "domain/registry_auth.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace core_interceptor::check {
namespace detail {

std::string user_name()
{
    if (const passwd* pw = ::getpwuid(::geteuid()))
        return pw->pw_name;
    return "uid " + std::to_string(::geteuid());
}

}  // namespace detail

namespace {

std::string octal_mode(unsigned mode)
{
    char text[8];
    std::snprintf(text, sizeof text, "%04o", mode & 07777);
    return text;
}

}  // namespace

using detail::user_name;

outcome state_dir_outcome(const fs::path& dir)
{
    const std::string d = dir.string();
    std::error_code ec;
    auto st = fs::status(dir, ec);
    if (fs::exists(st)) {
        if (!fs::is_directory(st))
            return failed("state-dir", d + " is not a directory");
        // A real write (a file made and removed at once): permission bits alone miss a
        // read-only or full file system.
        std::string probe = (dir / ".check-XXXXXX").string();
        int fd = ::mkstemp(probe.data());
        if (fd < 0)
            return failed("state-dir",
                          "cannot write in " + d + " as user '" + user_name() +
                              "': " + std::strerror(errno));
        ::close(fd);
        ::unlink(probe.c_str());
        return outcome{"state-dir", verdict::ok, d + " is a writable directory"};
    }
    // Missing: the daemon creates it; its nearest existing parent must let it.
    fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
    while (!fs::exists(parent, ec) && parent.has_parent_path() && parent != parent.parent_path())
        parent = parent.parent_path();
    const std::string p = parent.string();
    if (!fs::is_directory(parent, ec))
        return failed("state-dir",
                      d + " does not exist and cannot be created: " + p + " is not a directory");
    std::string probe = (parent / ".check-XXXXXX").string();
    if (::mkdtemp(probe.data()) == nullptr)
        return failed("state-dir",
                      d + " does not exist and cannot be created in " + p + " as user '" +
                          user_name() + "': " + std::strerror(errno));
    ::rmdir(probe.c_str());
    return outcome{"state-dir",
                   verdict::ok,
                   d + " does not exist yet; it is created at start (" + p + " is writable)"};
}

outcome registry_auth_outcome(const std::string& file, std::string_view registry_host)
{
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0)
        return failed("registry-auth", "cannot read " + file + ": " + std::strerror(errno));
    if (st.st_mode & S_IROTH)
        return failed("registry-auth",
                      file + " is readable by other users (mode " + octal_mode(st.st_mode) +
                          "): restrict it (chmod 600)");
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return failed("registry-auth", "cannot read " + file + ": " + std::strerror(errno));
    std::ostringstream content;
    content << in.rdbuf();
    auto found = domain::find_registry_credentials(content.str(), registry_host, true);
    if (!found)
        return failed("registry-auth", file + ": " + found.error().message);
    if (found->from == domain::registry_credentials::source::helper)
        return outcome{"registry-auth",
                       verdict::ok,
                       file + " (mode " + octal_mode(st.st_mode) + "): " + found->key +
                           " names the credential helper docker-credential-" + found->helper +
                           " for " + std::string(registry_host)};
    if (found->header == domain::base64url_encode("{}"))
        return outcome{"registry-auth",
                       verdict::ok,
                       file + " (mode " + octal_mode(st.st_mode) +
                           ") is empty: pushes are anonymous"};
    return outcome{"registry-auth",
                   verdict::ok,
                   file + " (mode " + octal_mode(st.st_mode) + ") has credentials for " +
                       std::string(registry_host) + " in auths"};
}

}  // namespace core_interceptor::check
