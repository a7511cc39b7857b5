// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace core_interceptor::test_support {

/// Podman's Docker-compatible service as a private engine: everything it keeps lives under one
/// directory (root, runroot, tmp dir, file locks, events file, network config), it reads only
/// configuration files of its own, and its containers get no network and ulimits this machine
/// allows.
struct podman_layout {
    std::filesystem::path dir;

    std::filesystem::path containers_conf() const { return dir / "containers.conf"; }
    std::filesystem::path registries_conf() const { return dir / "registries.conf"; }
    std::filesystem::path storage_conf() const { return dir / "storage.conf"; }
    std::filesystem::path events_file() const { return dir / "events" / "events.log"; }
    std::filesystem::path socket() const { return dir / "docker.sock"; }
};

/// Writes containers.conf, registries.conf and storage.conf under `l.dir` and creates the
/// directories they name. Throws std::runtime_error when a file cannot be written.
void write_podman_config(const podman_layout& l);

/// `podman ... system service --time=0 unix://DIR/docker.sock` with the private root, runroot,
/// tmp dir and storage driver.
std::vector<std::string> podman_service_argv(const std::filesystem::path& podman,
                                             const podman_layout& l);

/// The environment that makes every podman process (the service, and the cleanup processes
/// conmon starts when a container exits) read our files only.
std::vector<std::pair<std::string, std::string>> podman_env(const podman_layout& l);

/// `--ulimit` options for `docker run`: when a create request names any ulimit, Podman fills
/// the others (nofile, nproc) with 1048576, more than this machine lets a container have.
std::vector<std::string> podman_ulimit_options();

}  // namespace core_interceptor::test_support
