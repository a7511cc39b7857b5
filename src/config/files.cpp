// SPDX-License-Identifier: MIT
// The files options name: read with care for the secrets they may hold.
#include "config/detail.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace po = boost::program_options;

namespace core_interceptor::config::detail {
namespace {

/// A file the daemon reads at start: it must exist and be readable now, so that a typo is
/// a usage error rather than a failure at the first notification.
void readable_file(const std::string& option, const std::string& path)
{
    if (path.empty())
        throw bad_option{option, "is empty"};
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw bad_option{option, "cannot read '" + path + "': " + std::strerror(errno)};
}

}  // namespace

/// Reads a file that may hold secrets (--config, --registry-auth, --rest-header-file). It must
/// be a regular file owned by root or by the user running the daemon, readable by no other
/// user than its owner and group, writable by its owner only: the packages install the
/// configuration 0640 root:core_interceptor, which the service's user reads through its group.
std::string read_private_file(const std::string& option, const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        throw bad_option{option, "cannot read '" + path + "'"};
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_fd{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        throw bad_option{option, "'" + path + "' is not a regular file"};
    if (st.st_mode & S_IROTH)
        throw bad_option{option,
                         "'" + path +
                             "' is readable by other users; restrict it (chmod 600, or 640 for the "
                             "service's group) first"};
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        throw bad_option{option,
                         "'" + path +
                             "' is writable by other users than its owner; restrict it (chmod 600 "
                             "or 640) first"};
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        throw bad_option{option,
                         "'" + path + "' is owned by user " + std::to_string(st.st_uid) +
                             ", neither root nor the user running core_interceptor"};
    std::string content;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || content.size() > (std::size_t{16} << 20))
            throw bad_option{option, "cannot read '" + path + "'"};
        if (n == 0)
            return content;
        content.append(buf, static_cast<std::size_t>(n));
    }
}

/// `--rest-header-file`: one "NAME: VALUE" a line; blank lines and '#' comments skipped.
std::vector<std::pair<std::string, std::string>> header_file(const std::string& path)
{
    const std::string text = read_private_file("rest-header-file", path);
    std::vector<std::pair<std::string, std::string>> headers;
    std::size_t line = 0, pos = 0;
    while (pos < text.size()) {
        ++line;
        auto end = text.find('\n', pos);
        std::string l = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        pos = end == std::string::npos ? text.size() : end + 1;
        auto first = l.find_first_not_of(" \t\r");
        if (first == std::string::npos || l[first] == '#')
            continue;
        headers.push_back(
            header("rest-header-file", l.substr(first), "line " + std::to_string(line) + ": "));
    }
    return headers;
}

/// `--rest-ca-file`, `--rest-client-cert`, `--rest-client-key`: files only; OpenSSL parses them
/// when the REST sink starts (an unusable one is then a usage error too).
void rest_tls_files(const po::variables_map& vm, sinks::rest_config& r)
{
    const bool https = r.url.starts_with("https://");
    for (const char* opt : {"rest-ca-file", "rest-client-cert", "rest-client-key"}) {
        if (!vm.count(opt))
            continue;
        if (!https)
            throw bad_option{opt, "given with an http:// --rest-url; it is for https:// only"};
        readable_file(opt, vm[opt].as<std::string>());
    }
    if (vm.count("rest-ca-file")) {
        if (r.insecure)
            throw bad_option{"rest-ca-file", "given with --rest-insecure, which verifies nothing"};
        r.ca_file = vm["rest-ca-file"].as<std::string>();
    }
    if (vm.count("rest-client-cert") != vm.count("rest-client-key"))
        throw bad_option{vm.count("rest-client-cert") ? "rest-client-cert" : "rest-client-key",
                         vm.count("rest-client-cert") ? "given without --rest-client-key"
                                                      : "given without --rest-client-cert"};
    if (!vm.count("rest-client-key"))
        return;
    r.client_cert_file = vm["rest-client-cert"].as<std::string>();
    r.client_key_file = vm["rest-client-key"].as<std::string>();
    // A key readable by other users is refused: anyone on the host could pose as this client.
    struct stat st {};
    if (::stat(r.client_key_file.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
        throw bad_option{"rest-client-key",
                         "'" + r.client_key_file +
                             "' is readable by other users; restrict it (chmod 600) first"};
}

}  // namespace core_interceptor::config::detail
