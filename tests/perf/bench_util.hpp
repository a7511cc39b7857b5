// SPDX-License-Identifier: MIT
#pragma once
// Shared by the benchmarks: the output directory, markdown tables, PNG charts drawn by
// gnuplot, /proc readings of a process, and plain Engine API calls for setting up containers.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace core_interceptor::bench {

/// Where tables and charts go: `--out DIR` if given, else $CORE_INTERCEPTOR_BENCH_DIR, else
/// ./bench. Created if missing.
std::filesystem::path output_dir(int argc, char* argv[]);

/// A markdown table, printed to stdout and appended to DIR/<name>.md.
struct table {
    std::string title;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;

    void print(const std::filesystem::path& dir, const std::string& name) const;
};

/// "12.35" with `digits` decimals.
std::string fixed(double v, int digits = 2);

/// Writes DIR/<name>.dat (`data`, whitespace-separated, a comment header) and DIR/<name>.gp
/// (`script`, which reads "<name>.dat" and sets no terminal), then runs gnuplot with the png
/// terminal into DIR/<name>.png. Returns the PNG path, or nothing when gnuplot failed or is
/// missing (said on stderr: the tables are still printed).
std::optional<std::filesystem::path> chart(const std::filesystem::path& dir,
                                           const std::string& name,
                                           const std::string& data,
                                           const std::string& script);

/// /proc/PID/status fields in KiB (VmRSS, VmHWM) and counters (voluntary_ctxt_switches).
std::optional<long> status_field(pid_t pid, const std::string& field, pid_t tid = 0);
/// utime + stime of a process (or one of its threads) in clock ticks.
std::optional<std::uint64_t> cpu_ticks(pid_t pid, pid_t tid = 0);
double ticks_to_seconds(std::uint64_t ticks);

/// Per thread: name, CPU ticks, voluntary + involuntary context switches.
struct thread_sample {
    std::string name;
    std::uint64_t ticks = 0;
    std::uint64_t switches = 0;
};
std::map<pid_t, thread_sample> threads_of(pid_t pid);

/// A plain HTTP/1.1 request to the Engine on its unix socket; throws on transport errors.
struct engine_reply {
    unsigned status = 0;
    std::string body;
};
engine_reply engine_call(const std::filesystem::path& socket,
                         const std::string& method,
                         const std::string& target,
                         const std::string& body = {});

/// How a benchmark container dies, for the kinds beyond `crash`.
enum class death {
    clean,  ///< writes /tmp/app.log, exits 0
    hprof,  ///< writes /tmp/java_pid1.hprof ("JAVA PROFILE 1.0.2\0" header), exits 1 or 3
    decoy,  ///< writes /tmp/core.txt (exit 0) or /tmp/app.core (exit 1): a name, not a dump
};

/// What one benchmark container does when started.
struct container_spec {
    std::string name;
    bool crash = false;  ///< SIGSEGV in /tmp with core=-1: leaves an ELF core, exits 139
    std::vector<std::pair<std::string, std::string>> labels;
    death kind = death::clean;  ///< when not `crash`
    int variant = 0;            ///< picks the exit code (hprof) or the file (decoy): even, odd
};

/// The shell script a container of `spec` runs (after the gate, if any).
std::string death_script(const container_spec& spec);

/// A host directory, bind-mounted read-only at /gate, where gated containers wait (checking
/// once a second) for a file `go` before they die, so that many deaths happen within a second
/// however long their starts took.
class gate {
public:
    /// Makes DIR (closed: no `go` in it).
    explicit gate(std::filesystem::path dir);
    /// "DIR:/gate:ro", for HostConfig.Binds.
    std::string bind() const;
    /// Opens the gate, waits until every one of `ids` has exited (false on timeout), and
    /// closes it again.
    bool release(const std::filesystem::path& socket,
                 const std::vector<std::string>& ids,
                 std::chrono::milliseconds timeout) const;

private:
    std::filesystem::path dir_;
};

/// Creates the containers (not started), `parallel` requests at a time; their IDs in order.
/// With a gate, each waits on it before doing what its spec says.
std::vector<std::string> create_containers(const std::filesystem::path& socket,
                                           const std::vector<container_spec>& specs,
                                           unsigned parallel = 4,
                                           const gate* g = nullptr);

/// Starts them, `parallel` requests at a time, as a burst.
void start_containers(const std::filesystem::path& socket,
                      const std::vector<std::string>& ids,
                      unsigned parallel);

/// Waits until none of `ids` is running any more (polls /containers/json).
bool wait_all_exited(const std::filesystem::path& socket,
                     const std::vector<std::string>& ids,
                     std::chrono::milliseconds timeout);

/// State.FinishedAt of a container, in ns since the epoch (0 when unknown).
std::int64_t finished_at_nano(const std::filesystem::path& socket, const std::string& id);

/// Removes the containers (force), `parallel` at a time; ignores failures.
void remove_containers(const std::filesystem::path& socket,
                       const std::vector<std::string>& ids,
                       unsigned parallel = 4);

/// Records the Engine's die events as they come, on a thread of its own: container ID -> the
/// event's timeNano (the first, should a container die twice). The Engine keeps only its last
/// 256 events for `since=`, fewer than a burst's; so this listens from the start.
class die_recorder {
public:
    /// Connects and waits for the answer's header; throws when the Engine refuses.
    explicit die_recorder(const std::filesystem::path& socket);
    die_recorder(const die_recorder&) = delete;
    die_recorder& operator=(const die_recorder&) = delete;
    ~die_recorder();

    /// The die events received so far.
    std::map<std::string, std::int64_t> times() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// The q-quantile (0..1) of `v`, interpolated between the closest ranks (0 when empty).
double quantile(std::vector<double> v, double q);

/// Wall clock in ns since the epoch.
std::int64_t now_nano();

/// The median of `v` (0 when empty).
double median(std::vector<double> v);

}  // namespace core_interceptor::bench
