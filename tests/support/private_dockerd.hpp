// SPDX-License-Identifier: MIT
#pragma once

#include "support/missing_part.hpp"
#include "support/process.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace core_interceptor::test_support {

/// How a private dockerd is started, beyond what is always the same (its own socket, data root
/// and exec root, and the network-disabling flags of SPEC §7, which nothing here can remove).
struct dockerd_options {
    /// Which engine serves the socket: dockerd, or Podman's Docker-compatible service
    /// (`podman system service`) with its own root, runroot and configuration.
    enum class engine_kind { docker, podman };
    engine_kind kind = engine_kind::docker;
    /// The dockerd binary; empty: `dockerd` from PATH (Debian's docker.io).
    std::filesystem::path dockerd;
    /// Directories put first on dockerd's PATH (where it finds containerd, its shim and
    /// docker-init of the same release).
    std::vector<std::filesystem::path> path_dirs;
    /// Appended to dockerd's command line (e.g. `--feature containerd-snapshotter=true`,
    /// a TLS listener on 127.0.0.1, `--insecure-registry 127.0.0.1:PORT`).
    std::vector<std::string> extra_args;
    /// Added to dockerd's environment (e.g. DOCKER_MIN_API_VERSION).
    std::vector<std::pair<std::string, std::string>> env;
};

/// `docker run --network none` followed by `rest`: the command line of every container a test
/// or benchmark runs (loopback only: no container gets a network).
std::vector<std::string> run_isolated(std::vector<std::string> rest);
/// `docker create --network none` followed by `rest`, for a container started later.
std::vector<std::string> create_isolated(std::vector<std::string> rest);

/// A Docker daemon of our own: socket, data root and exec root in a fresh /tmp/ci-XXXXXX, and
/// always the network-disabling flags (no bridge, no iptables, no forwarding, no masquerade).
/// Containers must be run with `--network none`. On destruction it kills what is still running,
/// stops dockerd by its PID, ends leftover containerd shims of its own, unmounts what is left
/// under its directory and removes it. Not thread safe.
class private_dockerd {
public:
    /// The busybox image every test container runs from.
    static constexpr const char* test_image = "testimg:1.0";

    /// Starts dockerd and waits until `GET /_ping` answers; builds `test_image` from the host's
    /// static busybox. Throws missing_part when a program or root is missing or dockerd cannot
    /// start, std::runtime_error for other failures.
    explicit private_dockerd(dockerd_options options = {});
    private_dockerd(const private_dockerd&) = delete;
    private_dockerd& operator=(const private_dockerd&) = delete;
    ~private_dockerd();

    /// "unix:///tmp/ci-XXXXXX/docker.sock", for `--docker-host` or DOCKER_HOST.
    std::string host() const;
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path socket_path() const { return dir_ / "docker.sock"; }
    pid_t pid() const { return dockerd_ ? dockerd_->pid() : -1; }
    bool running();

    /// Runs the docker CLI against this daemon (`docker -H host args...`) with its own client
    /// config dir; kills it after `timeout`.
    run_result docker(std::vector<std::string> args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;

    /// Options every `docker run`/`docker create` against this engine needs besides
    /// `--network none` and `--ulimit core=-1`: for Podman, nofile and nproc ulimits this
    /// machine allows; none for dockerd.
    std::vector<std::string> run_options() const;

    /// Builds `name` from a rootfs of the host's static busybox, once per name.
    void build_test_image(const std::string& name = test_image);

    /// Kills dockerd with SIGKILL (containerd goes with it; shims and containers stay).
    void kill9();
    /// Stops dockerd if it runs (SIGTERM), starts it again on the same directories and waits
    /// for `/_ping`.
    void restart();

    /// The last lines of dockerd's own log.
    std::string log_tail(std::size_t lines = 30) const;

    bool is_podman() const { return options_.kind == dockerd_options::engine_kind::podman; }

private:
    void start();
    void stop_dockerd();
    void kill_leftover_processes();
    void unmount_leftovers();

    dockerd_options options_;
    std::filesystem::path dir_;
    std::filesystem::path dockerd_bin_;
    std::filesystem::path docker_bin_;
    std::optional<process> dockerd_;
    std::vector<std::string> built_images_;
    std::string log_name_ = "dockerd.log";
    int starts_ = 0;
};

/// Lazily unmounts every mount point at or below `dir` (deepest first) in our mount namespace.
void unmount_below(const std::filesystem::path& dir);

}  // namespace core_interceptor::test_support
