// SPDX-License-Identifier: MIT
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace core_interceptor::test_support {

/// How a child process ended.
struct exit_status {
    bool exited = false;  ///< true: it called exit() with `code`; false: `signal` killed it
    int code = 0;
    int signal = 0;

    /// Exited with status 0.
    bool success() const { return exited && code == 0; }
    /// "exit 2" or "signal 9 (Killed)", for messages.
    std::string describe() const;
};

/// What `process` starts.
struct process_options {
    std::vector<std::string> argv;  ///< argv[0] without '/' is looked up in PATH (and sbin dirs)
    std::vector<std::pair<std::string, std::string>> env;  ///< added to ours, replacing same names
    std::filesystem::path stdout_path;  ///< truncated and written; empty: /dev/null
    std::filesystem::path stderr_path;  ///< truncated and written; empty: /dev/null
    int stdout_fd = -1;                 ///< when >= 0, used instead of stdout_path (not owned)
    int stderr_fd = -1;                 ///< when >= 0, used instead of stderr_path (not owned)
    std::filesystem::path working_dir;  ///< empty: ours
    bool own_process_group = false;     ///< setpgid(0, 0) in the child: its pgid is its pid
    /// The child gets SIGTERM when the thread that started it ends (PR_SET_PDEATHSIG), so a
    /// test killed midway leaves no daemon behind. Start children from a long-lived thread.
    bool die_with_parent = true;
    std::chrono::milliseconds stop_grace{std::chrono::seconds(5)};  ///< SIGTERM -> SIGKILL
};

/// A child started by fork/exec. Destroying a running one stops it: SIGTERM, then SIGKILL once
/// `stop_grace` has passed, and reaps it. Not thread safe.
class process {
public:
    /// Starts it. Throws std::system_error when the program cannot be found or executed.
    explicit process(process_options opts);
    process(process&& other) noexcept;
    process& operator=(process&& other) = delete;
    process(const process&) = delete;
    process& operator=(const process&) = delete;
    ~process();

    pid_t pid() const { return pid_; }

    /// Whether it is still running; reaps it if it has ended.
    bool running();

    /// Waits up to `timeout` for it to end; nothing if it is still running then.
    std::optional<exit_status> wait_for(std::chrono::milliseconds timeout);

    /// Sends `sig` to it (only while it has not been reaped).
    void signal(int sig);

    /// SIGTERM, wait up to `grace`, then SIGKILL; returns how it ended.
    exit_status stop(std::chrono::milliseconds grace);
    exit_status stop() { return stop(opts_.stop_grace); }

    /// How it ended, once reaped.
    const std::optional<exit_status>& status() const { return status_; }

private:
    bool try_reap();

    process_options opts_;
    pid_t pid_ = -1;
    std::optional<exit_status> status_;
};

/// The output of a program run to its end by `run`.
struct run_result {
    exit_status status;
    bool timed_out = false;  ///< it was killed because it outlived its timeout
    std::string out;
    std::string err;

    bool ok() const { return !timed_out && status.success(); }
};

/// Runs `argv` to its end with stdout and stderr captured; kills it after `timeout`.
run_result run(std::vector<std::string> argv,
               std::chrono::milliseconds timeout,
               std::vector<std::pair<std::string, std::string>> env = {});

/// One line of /proc/<pid>/stat.
struct proc_info {
    pid_t pid = 0;
    pid_t ppid = 0;
    pid_t pgid = 0;
    char state = '?';  ///< R, S, D, Z, ...
    std::string comm;
};

/// Every process visible in /proc.
std::vector<proc_info> list_processes();

/// /proc/<pid>/stat of one process, if it still exists.
std::optional<proc_info> process_info(pid_t pid);

/// The processes whose parent is `pid` (zombies included).
std::vector<pid_t> children_of(pid_t pid);

/// The processes whose command line contains `needle` (e.g. a private temp dir).
std::vector<pid_t> processes_mentioning(const std::string& needle);

/// Absolute path of `name`: PATH, then /usr/local/sbin, /usr/sbin, /sbin; empty if not found.
std::filesystem::path find_program(const std::string& name);

/// Whole content of a file; empty if it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// The last `max_lines` lines of `text`.
std::string tail_lines(const std::string& text, std::size_t max_lines);

}  // namespace core_interceptor::test_support
