// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace core_interceptor::test_support {

/// A unix-socket proxy in front of a Docker socket that records the request line of every HTTP
/// request passing through it ("GET /v1.41/containers/ID/changes"), so a test can count the
/// Engine calls a daemon makes. Bytes are forwarded unchanged both ways, except the answers to
/// requests a rule matches (fault injection); one thread per connection. The public calls are
/// thread safe.
class api_recorder {
public:
    /// Listens on `listen_path` and forwards every connection to `target_socket`. Throws
    /// std::system_error when it cannot listen.
    api_recorder(std::filesystem::path listen_path, std::filesystem::path target_socket);
    api_recorder(const api_recorder&) = delete;
    api_recorder& operator=(const api_recorder&) = delete;
    ~api_recorder();

    /// "unix:///…/proxy.sock", for `--docker-host`.
    std::string host() const { return "unix://" + listen_path_.string(); }

    /// Every request line seen so far, in arrival order per connection.
    std::vector<std::string> requests() const;
    /// The request lines whose target contains `needle` (e.g. a container ID).
    std::vector<std::string> requests_mentioning(const std::string& needle) const;

    /// Rewrites the answer to every request whose line starts with `method` + " " and contains
    /// `needle`: the body is read whole (de-chunked) and `body` makes the new one, sent with
    /// `status` (0: the Engine's), a Content-Length and "Connection: close"; then the
    /// connection is closed. For answers that end (a push stream, an archive), not the events.
    struct rule {
        std::string method;
        std::string needle;
        std::function<std::string(std::string)> body;
        unsigned status = 0;
    };
    void add_rule(rule r);
    /// How many answers the rules rewrote.
    std::size_t rewritten() const;

private:
    void accept_loop();
    void relay(int client);
    void record(std::string line);
    /// The rule matching a request line, if any (a copy: rules may be added meanwhile).
    std::optional<rule> rule_for(const std::string& line) const;
    /// Reads the rest of the answer that starts in `first` from `server`, rewrites it by
    /// `r` and sends it to `client`. False when the Engine's answer could not be read.
    bool rewrite(int server, int client, std::string first, const rule& r);

    std::filesystem::path listen_path_;
    std::filesystem::path target_;
    int listener_ = -1;
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::vector<std::string> requests_;
    std::vector<rule> rules_;
    std::size_t rewritten_ = 0;
    std::vector<std::thread> threads_;  // guarded by mutex_
    std::thread acceptor_;
};

}  // namespace core_interceptor::test_support
