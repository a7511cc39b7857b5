// SPDX-License-Identifier: MIT
#pragma once

#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <optional>
#include <string>
#include <vector>

namespace core_interceptor::test_support {

/// Debian's docker-registry on 127.0.0.1 and a port that was free, storing under its own temp
/// dir. Can be stopped and started again on the same port and storage (a registry outage).
/// Not thread safe.
class registry {
public:
    /// Starts it and waits until `GET /v2/` answers. Throws missing_part when docker-registry
    /// is not installed or does not come up.
    registry();
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
    temp_dir dir_{"ci-reg-"};
    unsigned short port_ = 0;
    std::optional<process> proc_;
    int starts_ = 0;
};

}  // namespace core_interceptor::test_support
