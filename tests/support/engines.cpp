// SPDX-License-Identifier: MIT
#include "support/engines.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace core_interceptor::test_support {

namespace fs = std::filesystem;

namespace {

// Docker Engine 28 as scripts/fetch-engine.sh unpacks it: dockerd, and the docker CLI,
// containerd, its shim and docker-init of the same release; the machine's runc serves.
dockerd_options docker28(std::vector<std::string> extra_args,
                         std::vector<std::pair<std::string, std::string>> env)
{
    const fs::path root = docker28_dir();
    dockerd_options o;
    o.dockerd = root / "usr" / "sbin" / "dockerd";
    if (!fs::exists(o.dockerd) || !fs::exists(root / "usr" / "bin" / "containerd") ||
        !fs::exists(root / "usr" / "bin" / "docker"))
        throw missing_part("no Docker Engine 28 in " + root.string() + " (" + engine_dir_variable +
                           "): run scripts/fetch-engine.sh");
    o.path_dirs = {root / "usr" / "bin", root / "usr" / "sbin"};
    // No docker-proxy: nothing publishes ports, and the containers have no network at all.
    o.extra_args = {"--userland-proxy=false"};
    o.extra_args.insert(o.extra_args.end(), extra_args.begin(), extra_args.end());
    o.env = std::move(env);
    return o;
}

}  // namespace

std::string engine_name()
{
    const char* name = std::getenv(engine_variable);
    return name != nullptr && *name != '\0' ? name : "docker";
}

std::filesystem::path docker28_dir()
{
    const char* dir = std::getenv(engine_dir_variable);
    return dir != nullptr && *dir != '\0' ? fs::path(dir) : fs::path(docker28_default_dir);
}

dockerd_options engine_options(std::string_view name)
{
    dockerd_options o;
    if (name == "docker")
        return o;
    if (name == "podman") {
        o.kind = dockerd_options::engine_kind::podman;
        return o;
    }
    if (name == "docker28")
        return docker28({"--storage-driver=overlay2"}, {});
    if (name == "docker28-containerd")
        return docker28({"--feature", "containerd-snapshotter=true"}, {});
    if (name == "docker28-minapi")
        return docker28({"--storage-driver=overlay2"}, {{"DOCKER_MIN_API_VERSION", "1.44"}});
    throw std::invalid_argument(std::string(engine_variable) + "=" + std::string(name) +
                                ": unknown engine (docker, docker28, docker28-containerd, "
                                "docker28-minapi, podman)");
}

}  // namespace core_interceptor::test_support
