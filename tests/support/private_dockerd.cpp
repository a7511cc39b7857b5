// SPDX-License-Identifier: MIT
#include "support/private_dockerd.hpp"

#include "support/net.hpp"
#include "support/podman_service.hpp"
#include "support/temp_dir.hpp"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

namespace core_interceptor::test_support {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// dockerd on a busy two-core machine: first start initialises its data root and containerd.
constexpr auto start_timeout = 60s;
// Shutdown of dockerd itself once no container runs (containers are killed first).
constexpr auto stop_grace = 30s;

// The applets the test containers use; each becomes a symlink to busybox.
constexpr const char* applets[] = {"sh",
                                   "ls",
                                   "cat",
                                   "kill",
                                   "sleep",
                                   "dd",
                                   "echo",
                                   "printf",
                                   "head",
                                   "mkdir",
                                   "true",
                                   "cp",
                                   "rm",
                                   "touch",
                                   "wc",
                                   "tail",
                                   "test",
                                   "env"};

// A static binary has no PT_INTERP program header; a dynamic busybox cannot run in a
// rootfs that holds nothing but itself.
bool is_static_elf64(const fs::path& p)
{
    std::ifstream f(p, std::ios::binary);
    Elf64_Ehdr eh{};
    if (!f.read(reinterpret_cast<char*>(&eh), sizeof eh))
        return false;
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
        return false;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph{};
        f.seekg(static_cast<std::streamoff>(eh.e_phoff + i * eh.e_phentsize));
        if (!f.read(reinterpret_cast<char*>(&ph), sizeof ph))
            return false;
        if (ph.p_type == PT_INTERP)
            return false;
    }
    return true;
}

fs::path find_static_busybox()
{
    for (const char* candidate : {"/bin/busybox", "/usr/bin/busybox"}) {
        if (fs::exists(candidate) && is_static_elf64(candidate))
            return candidate;
    }
    if (auto p = find_program("busybox"); !p.empty() && is_static_elf64(p))
        return p;
    return {};
}

std::string unescape_mountinfo(const std::string& s)
{
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(s[i + 1]) && std::isdigit(s[i + 2]) &&
            std::isdigit(s[i + 3])) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

bool gone_or_zombie(pid_t pid)
{
    auto info = process_info(pid);
    return !info || info->state == 'Z' || info->state == 'X';
}

}  // namespace

void unmount_below(const fs::path& dir)
{
    const std::string root = dir.string();
    std::vector<std::string> points;
    std::ifstream f("/proc/self/mountinfo");
    for (std::string line; std::getline(f, line);) {
        std::istringstream ls(line);
        std::string id, parent, dev, source, point;
        ls >> id >> parent >> dev >> source >> point;
        point = unescape_mountinfo(point);
        if (point == root || point.rfind(root + "/", 0) == 0)
            points.push_back(point);
    }
    std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) {
        return a.size() > b.size();
    });
    for (const auto& p : points) {
        if (::umount2(p.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
            std::clog << "umount " << p << ": " << std::strerror(errno) << '\n';
    }
}

private_dockerd::private_dockerd(dockerd_options options) : options_(std::move(options))
{
    if (::geteuid() != 0)
        throw missing_part("a private dockerd needs root");
    if (is_podman()) {
        dockerd_bin_ = options_.dockerd.empty() ? find_program("podman") : options_.dockerd;
        if (dockerd_bin_.empty() || !fs::exists(dockerd_bin_))
            throw missing_part("no podman binary " + dockerd_bin_.string() +
                               " (Debian package podman)");
        if (find_program("conmon").empty())
            throw missing_part("no conmon (Debian package conmon)");
    } else {
        dockerd_bin_ = options_.dockerd.empty() ? find_program("dockerd") : options_.dockerd;
        if (dockerd_bin_.empty() || !fs::exists(dockerd_bin_))
            throw missing_part("no dockerd binary " + dockerd_bin_.string() +
                               " (Debian package docker.io)");
    }
    // The CLI of the engine's own release when its PATH dirs have one (an older CLI cannot talk
    // to an Engine whose minimum API version is above its own).
    for (const auto& d : options_.path_dirs)
        if (docker_bin_.empty() && fs::exists(d / "docker"))
            docker_bin_ = d / "docker";
    if (docker_bin_.empty())
        docker_bin_ = find_program("docker");
    if (docker_bin_.empty())
        throw missing_part("no docker CLI (Debian package docker.io)");
    if (find_program("tar").empty())
        throw missing_part("no tar");

    std::string templ = "/tmp/ci-XXXXXX";
    if (!::mkdtemp(templ.data()))
        throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
    dir_ = templ;
    fs::create_directories(dir_ / "cli");
    try {
        if (is_podman())
            write_podman_config(podman_layout{dir_});
        start();
        build_test_image();
    } catch (...) {
        // The destructor will not run for a half-built object.
        stop_dockerd();
        kill_leftover_processes();
        unmount_leftovers();
        std::error_code ec;
        if (!keep_temp_dirs())
            fs::remove_all(dir_, ec);
        throw;
    }
}

private_dockerd::~private_dockerd()
{
    stop_dockerd();
    kill_leftover_processes();
    unmount_leftovers();
    if (keep_temp_dirs()) {
        std::clog << "keeping " << dir_.string() << '\n';
        return;
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (ec)
        std::clog << "cannot remove " << dir_.string() << ": " << ec.message() << '\n';
}

std::string private_dockerd::host() const
{
    return "unix://" + socket_path().string();
}

bool private_dockerd::running()
{
    return dockerd_ && dockerd_->running();
}

std::string private_dockerd::log_tail(std::size_t lines) const
{
    return tail_lines(read_file(dir_ / log_name_), lines);
}

void private_dockerd::start()
{
    // After a SIGKILL, containerd is a zombie until init reaps it; dockerd would take that pid
    // for a live containerd and wait for it in vain.
    const auto containerd_pid_file = dir_ / "exec" / "containerd" / "containerd.pid";
    if (auto text = read_file(containerd_pid_file); !text.empty()) {
        const auto pid = static_cast<pid_t>(std::atol(text.c_str()));
        if (pid > 0 && gone_or_zombie(pid)) {
            std::error_code ec;
            fs::remove(containerd_pid_file, ec);
        }
    }
    const std::string base = is_podman() ? "podman" : "dockerd";
    log_name_ = starts_ == 0 ? base + ".log" : base + "." + std::to_string(starts_) + ".log";
    ++starts_;
    const auto d = dir_.string();
    process_options o;
    if (is_podman()) {
        // Podman's service: the same socket path, everything else under DIR (podman_service).
        o.argv = podman_service_argv(dockerd_bin_, podman_layout{dir_});
        o.env = podman_env(podman_layout{dir_});
    } else {
        // Exactly the network-disabling flags of SPEC §7: no bridge, no iptables rules, no
        // forwarding or masquerading; the socket, data root and exec root are ours alone.
        o.argv = {dockerd_bin_.string(),
                  "--host",
                  "unix://" + d + "/docker.sock",
                  "--data-root",
                  d + "/data",
                  "--exec-root",
                  d + "/exec",
                  "--pidfile",
                  d + "/docker.pid",
                  "--bridge=none",
                  "--iptables=false",
                  "--ip6tables=false",
                  "--ip-forward=false",
                  "--ip-masq=false"};
    }
    o.argv.insert(o.argv.end(), options_.extra_args.begin(), options_.extra_args.end());
    o.env.insert(o.env.end(), options_.env.begin(), options_.env.end());
    if (!options_.path_dirs.empty()) {
        std::string path;
        for (const auto& p : options_.path_dirs)
            path += p.string() + ":";
        const char* inherited = std::getenv("PATH");
        path += inherited != nullptr ? inherited : "/usr/sbin:/usr/bin:/sbin:/bin";
        o.env.emplace_back("PATH", path);
    }
    // dockerd logs to stderr; stdout goes to the same file (O_APPEND keeps writes whole).
    const auto log = (dir_ / log_name_).string();
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        throw std::runtime_error("open " + log + ": " + std::strerror(errno));
    o.stdout_fd = fd;
    o.stderr_fd = fd;
    o.stop_grace = stop_grace;
    try {
        dockerd_.emplace(std::move(o));
    } catch (const std::system_error& e) {
        ::close(fd);
        throw missing_part("cannot start " + base + ": " + e.what());
    }
    ::close(fd);

    const auto deadline = std::chrono::steady_clock::now() + start_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!dockerd_->running())
            throw missing_part(base + " exited at start (" + dockerd_->status()->describe() +
                               "):\n" + log_tail());
        auto r = http_get_unix(socket_path(), "/_ping", 2s);
        if (r && r->status == 200)
            return;
        std::this_thread::sleep_for(100ms);
    }
    dockerd_->stop();
    throw missing_part(base + " did not answer /_ping within 60 s:\n" + log_tail());
}

namespace {

std::vector<std::string> followed_by(std::vector<std::string> head, std::vector<std::string> rest)
{
    head.insert(
        head.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.end()));
    return head;
}

}  // namespace

std::vector<std::string> run_isolated(std::vector<std::string> rest)
{
    return followed_by({"run", "--network", "none"}, std::move(rest));
}

std::vector<std::string> create_isolated(std::vector<std::string> rest)
{
    return followed_by({"create", "--network", "none"}, std::move(rest));
}

std::vector<std::string> private_dockerd::run_options() const
{
    return is_podman() ? podman_ulimit_options() : std::vector<std::string>{};
}

run_result private_dockerd::docker(std::vector<std::string> args,
                                   std::chrono::milliseconds timeout) const
{
    std::vector<std::string> argv{docker_bin_.string(), "-H", host()};
    argv.insert(
        argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
    // A client config dir of our own: the CLI never reads the host's credentials or contexts.
    return run(std::move(argv),
               timeout,
               {{"DOCKER_CONFIG", (dir_ / "cli").string()}, {"DOCKER_CLI_HINTS", "false"}});
}

void private_dockerd::build_test_image(const std::string& name)
{
    if (std::find(built_images_.begin(), built_images_.end(), name) != built_images_.end())
        return;
    const auto busybox = find_static_busybox();
    if (busybox.empty())
        throw missing_part("no statically linked busybox (Debian package busybox-static)");

    const auto rootfs = dir_ / ("rootfs-" + std::to_string(built_images_.size()));
    for (const char* d : {"bin", "tmp", "etc", "proc", "sys", "dev"})
        fs::create_directories(rootfs / d);
    fs::permissions(rootfs / "tmp", fs::perms::all | fs::perms::sticky_bit);
    fs::copy_file(busybox, rootfs / "bin" / "busybox");
    fs::permissions(rootfs / "bin" / "busybox",
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec);
    for (const char* a : applets)
        fs::create_symlink("busybox", rootfs / "bin" / a);

    const auto tarball = rootfs.string() + ".tar";
    auto t = run({"tar",
                  "--numeric-owner",
                  "--owner=0",
                  "--group=0",
                  "-C",
                  rootfs.string(),
                  "-cf",
                  tarball,
                  "."},
                 60s);
    if (!t.ok())
        throw std::runtime_error("tar of the test rootfs failed: " + t.err);
    auto r = docker({"import", tarball, name}, 120s);
    if (!r.ok())
        throw std::runtime_error("docker import " + name + " failed (" + r.status.describe() +
                                 "): " + r.err);
    built_images_.push_back(name);
}

void private_dockerd::kill9()
{
    if (!running())
        return;
    const auto children = children_of(dockerd_->pid());
    dockerd_->signal(SIGKILL);
    dockerd_->wait_for(10s);
    // containerd dies with it; wait for that, so that a restart starts a fresh one.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline &&
           !std::all_of(children.begin(), children.end(), gone_or_zombie))
        std::this_thread::sleep_for(50ms);
}

void private_dockerd::restart()
{
    if (running())
        dockerd_->stop(stop_grace);
    start();
}

void private_dockerd::stop_dockerd()
{
    if (!running())
        return;
    // dockerd gives each running container 10 s to stop on its way down; ours are disposable.
    auto ps = docker({"ps", "-q"}, 30s);
    if (ps.ok() && !ps.out.empty()) {
        std::vector<std::string> args{"kill"};
        std::istringstream ids(ps.out);
        for (std::string id; ids >> id;)
            args.push_back(id);
        docker(std::move(args), 60s);
    }
    auto s = dockerd_->stop(stop_grace);
    if (!s.success() && !(s.signal == SIGTERM))
        std::clog << "private dockerd ended with " << s.describe() << '\n';
}

void private_dockerd::kill_leftover_processes()
{
    // After a SIGKILL of dockerd (kill9, or a test run killed midway) containerd shims and the
    // containers under them live on. They are ours: their command line names our directory.
    std::set<pid_t> doomed;
    for (pid_t pid : processes_mentioning(dir_.string() + "/")) {
        auto info = process_info(pid);
        if (!info)
            continue;
        const auto& comm = info->comm;
        // Podman's containers live under conmon, which outlives the service.
        if (comm.rfind("containerd", 0) != 0 && comm.rfind("runc", 0) != 0 &&
            comm.rfind("dockerd", 0) != 0 && comm.rfind("conmon", 0) != 0 &&
            comm.rfind("podman", 0) != 0)
            continue;
        doomed.insert(pid);
    }
    if (doomed.empty())
        return;
    // Their descendants (the containers' processes) first, so none is left without a reaper.
    auto all = list_processes();
    std::vector<pid_t> order;
    std::vector<pid_t> frontier(doomed.begin(), doomed.end());
    while (!frontier.empty()) {
        std::vector<pid_t> next;
        for (pid_t p : frontier) {
            for (const auto& q : all)
                if (q.ppid == p && !doomed.count(q.pid)) {
                    doomed.insert(q.pid);
                    order.push_back(q.pid);
                    next.push_back(q.pid);
                }
        }
        frontier = std::move(next);
    }
    for (pid_t p : order)
        ::kill(p, SIGKILL);
    for (pid_t p : doomed)
        ::kill(p, SIGKILL);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline &&
           !std::all_of(doomed.begin(), doomed.end(), gone_or_zombie))
        std::this_thread::sleep_for(50ms);
}

void private_dockerd::unmount_leftovers()
{
    unmount_below(dir_);
}

}  // namespace core_interceptor::test_support
