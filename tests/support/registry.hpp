// SPDX-License-Identifier: MIT
#pragma once

#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace core_interceptor::test_support {

/// How a registry is started beyond the usual: HTTPS with a certificate, and htpasswd logins.
struct registry_options {
    /// PEM certificate and key for `http.tls`; empty: plain HTTP.
    std::filesystem::path tls_cert;
    std::filesystem::path tls_key;
    /// The CA of `tls_cert`, for the test's own requests (curl --cacert).
    std::filesystem::path tls_ca;
    /// One user, with its password hashed by `htpasswd -B` (bcrypt); empty: no login.
    std::string user;
    std::string password;
    /// The port on 127.0.0.1; 0: one that is free (known ahead when a dockerd must name it).
    unsigned short port = 0;
};

/// Debian's docker-registry on 127.0.0.1 and a port that was free, storing under its own temp
/// dir. Can be stopped and started again on the same port and storage (a registry outage).
/// Not thread safe.
class registry {
public:
    /// Starts it and waits until `GET /v2/` answers. Throws missing_part when docker-registry
    /// is not installed or does not come up.
    registry();
    /// The same with TLS and/or an htpasswd login. Throws missing_part when htpasswd (Debian
    /// package apache2-utils) or curl is missing.
    explicit registry(registry_options options);
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;
    ~registry();

    /// "127.0.0.1:PORT", for `--registry` and image references.
    std::string address() const;
    unsigned short port() const { return port_; }

    void stop();
    /// Starts it again (same port, same storage); a no-op while it runs.
    void start();
    bool running();

    /// The tags of `repo` from `GET /v2/<repo>/tags/list`; empty when the repository is
    /// unknown. Throws std::runtime_error when the registry does not answer properly.
    std::vector<std::string> tags(const std::string& repo) const;

    /// The last lines of its log.
    std::string log_tail(std::size_t lines = 20) const;

private:
    /// `GET target` with the test's own credentials: (status, body); status 0 when no answer.
    std::pair<unsigned, std::string> get(const std::string& target,
                                         std::chrono::milliseconds timeout) const;

    registry_options options_;
    temp_dir dir_{"ci-reg-"};
    unsigned short port_ = 0;
    std::optional<process> proc_;
    int starts_ = 0;
};

}  // namespace core_interceptor::test_support
