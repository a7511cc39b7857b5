// SPDX-License-Identifier: MIT
#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

extern char** environ;

namespace core_interceptor::test_support {
namespace {

using namespace std::chrono_literals;

// Polling interval of every wait: short enough to keep tests snappy, long enough to be idle.
constexpr auto poll_interval = 10ms;

class unique_fd {
public:
    explicit unique_fd(int fd = -1) : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&&) = delete;
    ~unique_fd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }
    void reset()
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

unique_fd open_output(const std::filesystem::path& p)
{
    int fd = p.empty() ? ::open("/dev/null", O_WRONLY | O_CLOEXEC)
                       : ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "open " + p.string());
    return unique_fd(fd);
}

exit_status decode(int wstatus)
{
    exit_status s;
    if (WIFEXITED(wstatus)) {
        s.exited = true;
        s.code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        s.signal = WTERMSIG(wstatus);
    }
    return s;
}

std::string read_fd_from_start(int fd)
{
    std::string out;
    char buf[8192];
    off_t off = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        out.append(buf, static_cast<std::size_t>(n));
        off += n;
    }
    return out;
}

}  // namespace

std::string exit_status::describe() const
{
    if (exited)
        return "exit " + std::to_string(code);
    return "signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
}

std::filesystem::path find_program(const std::string& name)
{
    if (name.find('/') != std::string::npos)
        return ::access(name.c_str(), X_OK) == 0 ? std::filesystem::path(name)
                                                 : std::filesystem::path();
    std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
    dirs += ":/usr/local/sbin:/usr/sbin:/sbin";
    std::stringstream ss(dirs);
    for (std::string dir; std::getline(ss, dir, ':');) {
        if (dir.empty())
            continue;
        auto candidate = std::filesystem::path(dir) / name;
        std::error_code ec;
        if (std::filesystem::is_regular_file(candidate, ec) &&
            ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return {};
}

process::process(process_options opts) : opts_(std::move(opts))
{
    if (opts_.argv.empty())
        throw std::system_error(std::make_error_code(std::errc::invalid_argument), "empty argv");

    // Everything the child needs is prepared here: between fork and exec a multi-threaded
    // parent's child may only make async-signal-safe calls (no allocation).
    auto program = find_program(opts_.argv[0]);
    if (program.empty())
        throw std::system_error(std::make_error_code(std::errc::no_such_file_or_directory),
                                "cannot find program " + opts_.argv[0]);

    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string_view entry(*e);
        auto name = entry.substr(0, entry.find('='));
        bool replaced = std::any_of(
            opts_.env.begin(), opts_.env.end(), [&](const auto& kv) { return kv.first == name; });
        if (!replaced)
            env_strings.emplace_back(entry);
    }
    for (const auto& [k, v] : opts_.env)
        env_strings.push_back(k + "=" + v);

    std::vector<char*> argv;
    for (auto& a : opts_.argv)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_strings)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    unique_fd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    std::optional<unique_fd> out_file, err_file;
    int out_fd = opts_.stdout_fd;
    int err_fd = opts_.stderr_fd;
    if (out_fd < 0)
        out_fd = out_file.emplace(open_output(opts_.stdout_path)).get();
    if (err_fd < 0)
        err_fd = err_file.emplace(open_output(opts_.stderr_path)).get();

    // The child reports a failed exec through this pipe; a successful exec closes it.
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2");
    unique_fd report_read(report[0]);
    unique_fd report_write(report[1]);

    const char* cwd = opts_.working_dir.empty() ? nullptr : opts_.working_dir.c_str();
    const bool own_group = opts_.own_process_group;
    const bool die_with_parent = opts_.die_with_parent;
    const pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0)
        throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
        // Child: a clean signal state (a parent may block SIGTERM for sigwait, or ignore
        // SIGPIPE), its own stdio, no inherited descriptors beyond them.
        sigset_t all;
        ::sigemptyset(&all);
        ::sigprocmask(SIG_SETMASK, &all, nullptr);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; ++s)
            ::sigaction(s, &dfl, nullptr);
        if (own_group)
            ::setpgid(0, 0);
        if (die_with_parent) {
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (::getppid() != parent)
                ::_exit(127);  // the parent is already gone
        }
        int err = 0;
        if (::dup2(in.get(), 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0)
            err = errno;
        if (err == 0 && cwd && ::chdir(cwd) != 0)
            err = errno;
        if (err == 0) {
            ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
            ::execve(program.c_str(), argv.data(), envp.data());
            err = errno;
        }
        [[maybe_unused]] auto n = ::write(report[1], &err, sizeof err);
        ::_exit(127);
    }
    pid_ = pid;
    if (own_group)
        ::setpgid(pid, pid);  // also from here, so it holds before we return

    report_write.reset();
    int child_errno = 0;
    ssize_t n;
    do {
        n = ::read(report_read.get(), &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    if (n == sizeof child_errno) {
        int ws = 0;
        ::waitpid(pid_, &ws, 0);
        pid_ = -1;
        throw std::system_error(
            child_errno, std::generic_category(), "cannot execute " + program.string());
    }
}

process::process(process&& other) noexcept
    : opts_(std::move(other.opts_)), pid_(std::exchange(other.pid_, -1)),
      status_(std::move(other.status_))
{
}

process::~process()
{
    if (pid_ > 0 && !status_)
        stop();
}

bool process::try_reap()
{
    if (pid_ <= 0 || status_)
        return true;
    int ws = 0;
    pid_t r = ::waitpid(pid_, &ws, WNOHANG);
    if (r == pid_) {
        status_ = decode(ws);
        return true;
    }
    if (r < 0 && errno == ECHILD) {  // reaped elsewhere: nothing more to learn
        status_ = exit_status{};
        return true;
    }
    return false;
}

bool process::running()
{
    return !try_reap();
}

std::optional<exit_status> process::wait_for(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (try_reap())
            return status_;
        if (std::chrono::steady_clock::now() >= deadline)
            return std::nullopt;
        std::this_thread::sleep_for(poll_interval);
    }
}

void process::signal(int sig)
{
    if (pid_ > 0 && !try_reap())
        ::kill(pid_, sig);
}

exit_status process::stop(std::chrono::milliseconds grace)
{
    if (pid_ <= 0)
        return {};
    if (!try_reap()) {
        ::kill(pid_, SIGTERM);
        if (!wait_for(grace)) {
            ::kill(pid_, SIGKILL);
            wait_for(std::chrono::seconds(30));
        }
    }
    return status_.value_or(exit_status{});
}

run_result run(std::vector<std::string> argv,
               std::chrono::milliseconds timeout,
               std::vector<std::pair<std::string, std::string>> env)
{
    // Anonymous files rather than pipes: no reader thread, no deadlock on a full pipe.
    unique_fd out(::memfd_create("run-stdout", MFD_CLOEXEC));
    unique_fd err(::memfd_create("run-stderr", MFD_CLOEXEC));
    if (out.get() < 0 || err.get() < 0)
        throw std::system_error(errno, std::generic_category(), "memfd_create");

    process_options o;
    o.argv = std::move(argv);
    o.env = std::move(env);
    o.stdout_fd = out.get();
    o.stderr_fd = err.get();
    o.stop_grace = std::chrono::seconds(2);
    process p(std::move(o));

    run_result r;
    if (auto s = p.wait_for(timeout)) {
        r.status = *s;
    } else {
        r.timed_out = true;
        r.status = p.stop(std::chrono::seconds(2));
    }
    r.out = read_fd_from_start(out.get());
    r.err = read_fd_from_start(err.get());
    return r;
}

std::optional<proc_info> process_info(pid_t pid)
{
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line))
        return std::nullopt;
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split at the
    // last ')'.
    auto open = line.find('(');
    auto close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open)
        return std::nullopt;
    proc_info info;
    info.pid = pid;
    info.comm = line.substr(open + 1, close - open - 1);
    std::istringstream rest(line.substr(close + 1));
    rest >> info.state >> info.ppid >> info.pgid;
    if (!rest)
        return std::nullopt;
    return info;
}

std::vector<proc_info> list_processes()
{
    std::vector<proc_info> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const auto name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit))
            continue;
        if (auto info = process_info(static_cast<pid_t>(std::stol(name))))
            out.push_back(std::move(*info));
    }
    return out;
}

std::vector<pid_t> children_of(pid_t pid)
{
    std::vector<pid_t> out;
    for (const auto& p : list_processes())
        if (p.ppid == pid)
            out.push_back(p.pid);
    return out;
}

std::vector<pid_t> processes_mentioning(const std::string& needle)
{
    std::vector<pid_t> out;
    const pid_t self = ::getpid();
    for (const auto& p : list_processes()) {
        if (p.pid == self)
            continue;
        auto cmdline = read_file("/proc/" + std::to_string(p.pid) + "/cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find(needle) != std::string::npos)
            out.push_back(p.pid);
    }
    return out;
}

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f)
        return {};
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string tail_lines(const std::string& text, std::size_t max_lines)
{
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n')
        --pos;
    for (std::size_t lines = 0; pos > 0; --pos) {
        if (text[pos - 1] == '\n' && ++lines == max_lines)
            break;
    }
    return text.substr(pos);
}

}  // namespace core_interceptor::test_support
