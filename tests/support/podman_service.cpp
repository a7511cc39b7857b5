// SPDX-License-Identifier: MIT
#include "support/podman_service.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace core_interceptor::test_support {
namespace {

namespace fs = std::filesystem;

// Modest limits for the test containers. Podman's defaults for root (1048576 files and
// processes) are more than a sandbox without CAP_SYS_RESOURCE lets runc set, and the service
// lowers its own hard limits at start (nproc to 32768 here), so the hard limits of this
// process say little about what runc may set: ask for little, and never more than we have.
constexpr rlim_t container_limit = 4096;

rlim_t allowed(int resource)
{
    rlimit rl{};
    if (::getrlimit(resource, &rl) != 0 || rl.rlim_max == RLIM_INFINITY)
        return container_limit;
    return std::min(rl.rlim_max, container_limit);
}

std::string limit(const char* name, rlim_t value)
{
    return std::string(name) + "=" + std::to_string(value) + ":" + std::to_string(value);
}

// overlay needs the kernel's overlay file system; vfs (a full copy per layer) always works.
std::string storage_driver()
{
    std::ifstream f("/proc/filesystems");
    for (std::string line; std::getline(f, line);)
        if (line.size() >= 7 && line.compare(line.size() - 7, 7, "overlay") == 0)
            return "overlay";
    return "vfs";
}

void write(const fs::path& p, const std::string& text)
{
    std::ofstream f(p, std::ios::trunc);
    f << text;
    if (!f.flush())
        throw std::runtime_error("cannot write " + p.string());
}

std::string quoted(const fs::path& p)
{
    return "\"" + p.string() + "\"";
}

}  // namespace

void write_podman_config(const podman_layout& l)
{
    for (const char* d : {"root", "runroot", "tmp", "events", "net"})
        fs::create_directories(l.dir / d);
    // No network for any container (SPEC §7), the file events logger with its file here, file
    // locks here (not the machine's shared-memory lock segment), cgroupfs (no systemd needed).
    write(l.containers_conf(),
          "[containers]\n"
          "netns = \"none\"\n"
          "log_driver = \"k8s-file\"\n"
          "default_ulimits = [\"" +
              limit("nofile", allowed(RLIMIT_NOFILE)) + "\", \"" +
              limit("nproc", allowed(RLIMIT_NPROC)) +
              "\", \"core=-1:-1\"]\n"
              "[engine]\n"
              "cgroup_manager = \"cgroupfs\"\n"
              "events_logger = \"file\"\n"
              "events_logfile_path = " +
              quoted(l.events_file()) +
              "\n"
              "lock_type = \"file\"\n"
              "tmp_dir = " +
              quoted(l.dir / "tmp") +
              "\n"
              "[network]\n"
              "network_config_dir = " +
              quoted(l.dir / "net") + "\n");
    // No registry is searched for short names; the loopback registry (any port) speaks plain
    // HTTP, as Docker assumes for 127.0.0.0/8. A location without a port matches every port.
    write(l.registries_conf(),
          "unqualified-search-registries = []\n"
          "[[registry]]\n"
          "location = \"127.0.0.1\"\n"
          "insecure = true\n"
          "[[registry]]\n"
          "location = \"localhost\"\n"
          "insecure = true\n");
    write(l.storage_conf(),
          "[storage]\n"
          "driver = \"" +
              storage_driver() +
              "\"\n"
              "graphroot = " +
              quoted(l.dir / "root") +
              "\n"
              "runroot = " +
              quoted(l.dir / "runroot") + "\n");
}

std::vector<std::string> podman_service_argv(const fs::path& podman, const podman_layout& l)
{
    const auto d = l.dir.string();
    return {podman.string(),
            "--root",
            d + "/root",
            "--runroot",
            d + "/runroot",
            "--storage-driver",
            storage_driver(),
            "--tmpdir",
            d + "/tmp",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
            "--network-config-dir",
            d + "/net",
            "--log-level",
            "info",
            "system",
            "service",
            "--time=0",
            "unix://" + l.socket().string()};
}

std::vector<std::pair<std::string, std::string>> podman_env(const podman_layout& l)
{
    return {{"CONTAINERS_CONF", l.containers_conf().string()},
            {"CONTAINERS_REGISTRIES_CONF", l.registries_conf().string()},
            {"CONTAINERS_STORAGE_CONF", l.storage_conf().string()}};
}

std::vector<std::string> podman_ulimit_options()
{
    return {"--ulimit",
            limit("nofile", allowed(RLIMIT_NOFILE)),
            "--ulimit",
            limit("nproc", allowed(RLIMIT_NPROC))};
}

}  // namespace core_interceptor::test_support
