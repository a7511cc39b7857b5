// SPDX-License-Identifier: MIT
// Burst: many containers dying at once — by default 100 clean exits, 10 cores (SIGSEGV, exit
// 139, an ELF core in /tmp), 2 heap dumps (a `.hprof` file, exit 1 or 3) and 4 decoys (a
// `core.txt` or `app.core` that is no dump) — handled in turn by three sides (four with
// --baseline):
//   daemon      core_interceptor with Kafka and REST sinks and /metrics;
//   baseline    another build of it (--baseline BIN, e.g. an earlier release), run the same way,
//               so that a change is judged against the same floors in the same run;
//   true floor  floor_client --truth: told which containers hold a dump, it commits, pushes
//               and deletes those at their die events and probes nobody (the lower bound);
//   FIFO floor  floor_client --deaths: the daemon's Engine calls for every death in one FIFO
//               at the same concurrency, nothing else.
// The sides take turns for a few rounds on identical, freshly created containers that wait at
// a gate (a file they look for once a second), so that all of them die within a second.
//
// Per side and round: notification-after-die of each dumping death, from its die event
// (timeNano, recorded from the Engine's event stream) to its notification received by the REST
// sink (daemon) or its "done" line (floors), p50 and p95; first death (State.FinishedAt) to the
// last notification; for the daemon, its CPU seconds from the gate's opening to the last
// notification, its VmHWM, and its `core_interceptor_phase_seconds` histogram. Medians over the
// rounds are compared; a last run counts the daemon's Engine requests and connections per clean
// and per dumping death from its /metrics counters.
//
// Usage: burst_bench CORE_INTERCEPTOR FLOOR_CLIENT [--out DIR] [--rounds N] [--clean N]
//          [--cores N] [--hprofs N] [--decoys N] [--max-concurrency N] [--max-probes N]
//          [--calls N] [--deadline S] [--baseline CORE_INTERCEPTOR]
#include "bench_util.hpp"
#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/net.hpp"
#include "support/private_dockerd.hpp"
#include "support/process.hpp"
#include "support/registry.hpp"
#include "support/temp_dir.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

using namespace core_interceptor;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
    std::string daemon_bin, floor_bin;
    std::string baseline_bin;  ///< a second daemon side when set (given no --max-probes)
    int rounds = 3, clean = 100, cores = 10, hprofs = 2, decoys = 4;
    int concurrency = 4;
    int max_probes = 0;  ///< passed to the daemon only when given
    int calls = 10;      ///< deaths of each kind in the Engine-calls run; 0: no such run
    int deadline_s = 300;
};

/// The composition of one burst.
struct burst {
    int clean, cores, hprofs, decoys;
    int deaths() const { return clean + cores + hprofs + decoys; }
    int dumps() const { return cores + hprofs; }
};

enum class side { daemon, baseline, truth, fifo };
const char* name(side s)
{
    return s == side::daemon     ? "daemon"
           : s == side::baseline ? "baseline"
           : s == side::truth    ? "true floor"
                                 : "FIFO floor";
}
const char* slug(side s)
{
    return s == side::daemon     ? "daemon"
           : s == side::baseline ? "baseline"
           : s == side::truth    ? "true"
                                 : "fifo";
}
bool is_daemon(side s)
{
    return s == side::daemon || s == side::baseline;
}

/// One side's figures in one round.
struct round_result {
    int round = 0;
    side who = side::daemon;
    double p50 = 0, p95 = 0;  ///< notification after die of the dumping deaths, s
    double span = 0;          ///< first death -> last notification, s
    double cpu = -1;          ///< daemon: CPU s from the gate's opening to the last notification
    double hwm_mib = -1;      ///< daemon: VmHWM
    int die_fallbacks = 0;    ///< dumping deaths without a recorded die event (FinishedAt used)
};

/// The dumping containers spread evenly among the others; `variant` alternates exit codes and
/// decoy files.
std::vector<bench::container_spec> specs_for(const std::string& prefix, const burst& b)
{
    std::vector<bench::container_spec> special;
    for (int i = 0; i < b.cores; ++i)
        special.push_back({"", true, {}});
    for (int i = 0; i < b.hprofs; ++i)
        special.push_back({"", false, {}, bench::death::hprof, i});
    for (int i = 0; i < b.decoys; ++i)
        special.push_back({"", false, {}, bench::death::decoy, i});
    std::vector<bench::container_spec> specs;
    const int n = b.deaths();
    std::size_t next = 0;
    for (int i = 0; i < n; ++i) {
        // Special ones at evenly spaced places.
        const bool take = next < special.size() && static_cast<std::size_t>(i) * special.size() >=
                                                       next * static_cast<std::size_t>(n);
        bench::container_spec s = take ? special[next++] : bench::container_spec{};
        s.name = prefix + std::to_string(i);
        specs.push_back(std::move(s));
    }
    return specs;
}

bool holds_dump(const bench::container_spec& s)
{
    return s.crash || s.kind == bench::death::hprof;
}

/// Reads lines from `fd` until one contains `needle`; false on EOF or timeout. Lines read are
/// appended to `seen`.
bool read_until(int fd,
                const std::string& needle,
                std::chrono::milliseconds timeout,
                std::string& seen)
{
    auto until = clock_type::now() + timeout;
    std::size_t checked = 0;
    for (;;) {
        if (seen.find(needle, checked > needle.size() ? checked - needle.size() : 0) !=
            std::string::npos)
            return true;
        checked = seen.size();
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
        if (left.count() <= 0)
            return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            return false;
        char buf[4096];
        auto n = ::read(fd, buf, sizeof buf);
        if (n <= 0)
            return false;
        seen.append(buf, static_cast<std::size_t>(n));
    }
}

// --- /metrics -------------------------------------------------------------------------------

struct sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

std::vector<sample> parse_metrics(const std::string& text)
{
    std::vector<sample> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#')
            continue;
        sample s;
        auto brace = line.find('{');
        auto space = line.rfind(' ');
        if (space == std::string::npos)
            continue;
        if (brace != std::string::npos && brace < space) {
            s.name = line.substr(0, brace);
            auto close = line.rfind('}');
            std::string labels = line.substr(brace + 1, close - brace - 1);
            // name="value" pairs; values hold no quotes or commas here.
            std::istringstream ls(labels);
            for (std::string kv; std::getline(ls, kv, ',');) {
                auto eq = kv.find('=');
                if (eq != std::string::npos && kv.size() >= eq + 3)
                    s.labels[kv.substr(0, eq)] = kv.substr(eq + 2, kv.size() - eq - 3);
            }
        } else {
            s.name = line.substr(0, space);
        }
        try {
            s.value = std::stod(line.substr(space + 1));
        } catch (const std::exception&) {
            continue;
        }
        out.push_back(std::move(s));
    }
    return out;
}

/// The sum of a family's samples; nothing when it is absent.
std::optional<double> total(const std::vector<sample>& m, const std::string& name)
{
    std::optional<double> sum;
    for (const auto& s : m)
        if (s.name == name)
            sum = sum.value_or(0) + s.value;
    return sum;
}

std::optional<std::vector<sample>> scrape(unsigned short port)
{
    auto r = test_support::http_get(port, "/metrics", std::chrono::seconds(10));
    if (!r || r->status != 200)
        return std::nullopt;
    return parse_metrics(r->body);
}

/// phase -> le -> cumulative count, summed over scrapes.
using phase_buckets = std::map<std::string, std::map<double, double>>;

void add_phases(phase_buckets& into, const std::vector<sample>& m)
{
    for (const auto& s : m) {
        if (s.name != "core_interceptor_phase_seconds_bucket")
            continue;
        auto ph = s.labels.find("phase");
        auto le = s.labels.find("le");
        if (ph == s.labels.end() || le == s.labels.end())
            continue;
        const double bound =
            le->second == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(le->second);
        into[ph->second][bound] += s.value;
    }
}

/// As Prometheus' histogram_quantile: linear within the bucket holding the rank; the largest
/// finite bound when the rank falls in the +Inf bucket.
double bucket_quantile(const std::map<double, double>& buckets, double q)
{
    if (buckets.empty())
        return 0;
    const double count = buckets.rbegin()->second;
    if (count <= 0)
        return 0;
    const double rank = q * count;
    double lower = 0, below = 0, last_finite = 0;
    for (const auto& [le, c] : buckets) {
        if (std::isinf(le))
            return last_finite;
        if (c >= rank) {
            if (c == below)
                return le;
            return lower + (le - lower) * (rank - below) / (c - below);
        }
        lower = le;
        below = c;
        last_finite = le;
    }
    return last_finite;
}

// --- one side of one round ------------------------------------------------------------------

/// What a side's run leaves for the figures.
struct side_run {
    std::map<std::string, std::int64_t> notified;  ///< container ID -> notification time (ns)
    std::map<std::string, std::int64_t> died;      ///< container ID -> die event timeNano
    std::int64_t first_finished = 0;
    double cpu = -1, hwm_mib = -1;
    std::optional<std::vector<sample>> metrics;
};

/// The parts every side runs against.
struct scene {
    test_support::private_dockerd& d;
    test_support::registry& reg;
    test_support::mock_kafka& kafka;
    test_support::http_sink& rest;
    const bench::gate& gate;
    fs::path tmp, state_root;
    std::size_t rest_seen = 0, kafka_seen = 0;
};

test_support::process_options daemon_options(const options& o,
                                             scene& sc,
                                             const std::string& state,
                                             unsigned short metrics_port,
                                             side who = side::daemon)
{
    test_support::process_options po;
    po.argv = {who == side::baseline ? o.baseline_bin : o.daemon_bin,
               "--docker-host",
               sc.d.host(),
               "--registry",
               sc.reg.address(),
               "--kafka-brokers",
               sc.kafka.bootstraps(),
               "--rest-url",
               sc.rest.url(),
               "--hostname",
               "bench",
               "--state-dir",
               (sc.state_root / state).string(),
               "--metrics-address",
               "127.0.0.1:" + std::to_string(metrics_port),
               "--max-concurrency",
               std::to_string(o.concurrency),
               "--max-per-signature",
               "0"};  // one crash, many times
    if (o.max_probes > 0 && who == side::daemon) {
        po.argv.push_back("--max-probes");
        po.argv.push_back(std::to_string(o.max_probes));
    }
    return po;
}

/// A started side whose output is read on a thread (so it never blocks on a full pipe).
class running_side {
public:
    running_side(test_support::process_options po, bool output_on_stderr, const std::string& ready)
    {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe");
        (output_on_stderr ? po.stderr_fd : po.stdout_fd) = fds[1];
        proc_.emplace(std::move(po));
        ::close(fds[1]);
        fd_ = fds[0];
        if (!read_until(fd_, ready, std::chrono::seconds(30), head_)) {
            proc_->stop(std::chrono::seconds(5));
            ::close(fd_);
            throw std::runtime_error("did not start: " + head_);
        }
        drain_ = std::thread([this] {
            char buf[4096];
            for (ssize_t n; (n = ::read(fd_, buf, sizeof buf)) > 0;) {
                std::lock_guard lock(mu_);
                rest_.append(buf, static_cast<std::size_t>(n));
            }
        });
    }
    running_side(const running_side&) = delete;
    running_side& operator=(const running_side&) = delete;
    ~running_side()
    {
        if (proc_->running())
            proc_->stop(std::chrono::seconds(10));
        finish_output();
    }

    test_support::process& proc() { return *proc_; }
    /// Waits for the output to end (the process has exited) and returns all of it.
    std::string finish_output()
    {
        if (drain_.joinable()) {
            drain_.join();
            ::close(fd_);
        }
        std::lock_guard lock(mu_);
        return head_ + rest_;
    }
    /// The last lines so far, for an error message.
    std::string tail()
    {
        std::lock_guard lock(mu_);
        return test_support::tail_lines(head_ + rest_, 30);
    }

private:
    std::optional<test_support::process> proc_;
    int fd_ = -1;
    std::string head_;
    std::mutex mu_;
    std::string rest_;
    std::thread drain_;
};

/// Stamps each REST notification as it arrives (the sink records no times); the daemon's CPU
/// is read at the last one.
class notification_clock {
public:
    notification_clock(const test_support::http_sink& rest,
                       std::size_t base,
                       std::size_t n,
                       pid_t pid,
                       clock_type::time_point until)
    {
        t_ = std::thread([&rest, base, n, pid, until, this] {
            for (std::size_t k = 1; k <= n; ++k) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    until - clock_type::now());
                // In slices, so that a failing round need not wait for the deadline.
                while (left.count() > 0 && !stop_ &&
                       !rest.wait_for(base + k, std::min(left, std::chrono::milliseconds(500))))
                    left = std::chrono::duration_cast<std::chrono::milliseconds>(until -
                                                                                 clock_type::now());
                if (left.count() <= 0 || stop_)
                    return;
                stamps_.push_back(bench::now_nano());
            }
            cpu_end_ = bench::cpu_ticks(pid).value_or(0);
        });
    }
    ~notification_clock()
    {
        stop_ = true;
        join();
    }
    void join()
    {
        if (t_.joinable())
            t_.join();
    }
    const std::vector<std::int64_t>& stamps() const { return stamps_; }
    std::uint64_t cpu_end() const { return cpu_end_; }

private:
    std::vector<std::int64_t> stamps_;
    std::uint64_t cpu_end_ = 0;
    std::atomic<bool> stop_{false};
    std::thread t_;
};

std::string container_of(const std::string& body)
{
    try {
        return std::string(
            json::parse(body).as_object().at("container").as_object().at("id").as_string());
    } catch (const std::exception&) {
        return {};
    }
}

/// The "done <id> <ns>" lines of a floor.
std::map<std::string, std::int64_t> done_lines(const std::string& output)
{
    std::map<std::string, std::int64_t> out;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        std::istringstream l(line);
        std::string w, id;
        long long t = 0;
        if (l >> w >> id >> t && w == "done")
            out.emplace(id, t);
    }
    return out;
}

side_run run_side(const options& o,
                  scene& sc,
                  side who,
                  const std::string& tag,
                  const burst& b,
                  const std::vector<bench::container_spec>& specs,
                  const std::vector<std::string>& ids)
{
    const auto sock = sc.d.socket_path();
    std::vector<std::string> dumping;
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (holds_dump(specs[i]))
            dumping.push_back(ids[i]);

    const unsigned short metrics_port = test_support::free_port();
    test_support::process_options po;
    if (is_daemon(who)) {
        po = daemon_options(o, sc, "state-" + tag, metrics_port, who);
    } else {
        po.argv = {o.floor_bin,
                   "--docker-host",
                   sc.d.host(),
                   "--registry",
                   sc.reg.address(),
                   "--concurrency",
                   std::to_string(o.concurrency),
                   "--deadline",
                   std::to_string(o.deadline_s)};
        if (who == side::truth) {
            const auto truth = sc.tmp / ("truth-" + tag);
            std::ofstream f(truth);
            for (const auto& id : dumping)
                f << id << '\n';
            po.argv.insert(po.argv.end(), {"--truth", truth.string()});
        } else {
            po.argv.insert(
                po.argv.end(),
                {"--deaths", std::to_string(b.deaths()), "--dumps", std::to_string(b.dumps())});
        }
        po.stderr_path = sc.tmp / ("floor-" + tag + ".log");
    }
    const bool daemon = is_daemon(who);
    running_side p(po, daemon, daemon ? "watching events" : "ready");
    auto fail = [&](const std::string& what) {
        return std::runtime_error(std::string(name(who)) + ": " + what + "; its last output:\n" +
                                  p.tail() +
                                  (daemon ? "" : test_support::read_file(po.stderr_path)));
    };
    bench::die_recorder rec(sock);
    try {
        bench::start_containers(sock, ids, 4);
    } catch (const std::exception& e) {
        throw fail(e.what());
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));

    side_run out;
    const auto released = clock_type::now();
    const auto until = released + std::chrono::seconds(o.deadline_s);
    const std::uint64_t cpu0 = bench::cpu_ticks(p.proc().pid()).value_or(0);
    std::optional<notification_clock> nc;
    if (daemon)
        nc.emplace(sc.rest, sc.rest_seen, dumping.size(), p.proc().pid(), until);
    if (!sc.gate.release(sock, ids, std::chrono::minutes(5)))
        throw fail("containers still running after the gate opened");
    if (daemon) {
        nc->join();
        if (nc->stamps().size() != dumping.size())
            throw fail(std::to_string(nc->stamps().size()) + " of " +
                       std::to_string(dumping.size()) + " dumps notified within the deadline of " +
                       std::to_string(o.deadline_s) + " s");
        const auto reqs = sc.rest.requests();
        for (std::size_t k = 0; k < dumping.size(); ++k)
            out.notified.emplace(container_of(reqs.at(sc.rest_seen + k).body), nc->stamps()[k]);
        sc.rest_seen += dumping.size();
        out.cpu = bench::ticks_to_seconds(nc->cpu_end() - cpu0);
        out.hwm_mib =
            static_cast<double>(bench::status_field(p.proc().pid(), "VmHWM").value_or(0)) / 1024;
        if (!sc.kafka.wait_for(sc.kafka_seen + dumping.size(), std::chrono::minutes(2)))
            throw fail("Kafka did not receive every notification");
        sc.kafka_seen += dumping.size();
        out.metrics = scrape(metrics_port);
        p.proc().signal(SIGTERM);
    }
    auto st = p.proc().wait_for(std::chrono::duration_cast<std::chrono::milliseconds>(
        until - clock_type::now() + std::chrono::seconds(30)));
    if (!st)
        throw fail("still running " + std::to_string(o.deadline_s + 30) +
                   " s after the gate opened");
    const std::string output = p.finish_output();
    if (!st->success())
        throw fail("ended with " + st->describe());
    if (!daemon)
        out.notified = done_lines(output);
    out.died = rec.times();
    for (const auto& id : ids) {
        auto f = bench::finished_at_nano(sock, id);
        if (f > 0 && (out.first_finished == 0 || f < out.first_finished))
            out.first_finished = f;
    }
    for (const auto& id : dumping)
        if (!out.notified.count(id))
            throw fail("no notification of " + id.substr(0, 12));
    return out;
}

round_result figures(int round, side who, side_run& r, const std::filesystem::path& sock)
{
    round_result x;
    x.round = round;
    x.who = who;
    x.cpu = r.cpu;
    x.hwm_mib = r.hwm_mib;
    std::vector<double> after_die;
    std::int64_t last = 0;
    for (const auto& [id, t] : r.notified) {
        auto d = r.died.find(id);
        std::int64_t died = d != r.died.end() ? d->second : 0;
        if (died == 0) {
            died = bench::finished_at_nano(sock, id);
            ++x.die_fallbacks;
        }
        after_die.push_back(static_cast<double>(t - died) / 1e9);
        last = std::max(last, t);
    }
    x.p50 = bench::quantile(after_die, 0.5);
    x.p95 = bench::quantile(after_die, 0.95);
    x.span = static_cast<double>(last - r.first_finished) / 1e9;
    return x;
}

// --- Engine calls per death -----------------------------------------------------------------

struct call_counts {
    std::optional<double> requests, connections, bytes;
};

/// Waits until the daemon has handled `n` deaths in all (dies_handled_total).
bool wait_handled(unsigned short port, double n, clock_type::time_point until)
{
    while (clock_type::now() < until) {
        if (auto m = scrape(port))
            if (total(*m, "core_interceptor_dies_handled_total").value_or(0) >= n)
                return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
}

/// One daemon, a wave of `n` clean deaths, then a wave of `n` cores: the counters' deltas over
/// each wave, per death (the event stream's request is made before either).
std::pair<call_counts, call_counts> engine_calls(const options& o, scene& sc, int n)
{
    const auto sock = sc.d.socket_path();
    const unsigned short port = test_support::free_port();
    running_side p(daemon_options(o, sc, "state-calls", port), true, "watching events");
    auto read = [&]() {
        auto m = scrape(port);
        if (!m)
            throw std::runtime_error("no /metrics from the daemon: " + p.tail());
        return call_counts{total(*m, "core_interceptor_engine_requests_total"),
                           total(*m, "core_interceptor_engine_connections_total"),
                           total(*m, "core_interceptor_docker_read_bytes_total")};
    };
    auto per = [n](const call_counts& a, const call_counts& b) {
        call_counts d;
        if (a.requests && b.requests)
            d.requests = (*b.requests - *a.requests) / n;
        if (a.connections && b.connections)
            d.connections = (*b.connections - *a.connections) / n;
        if (a.bytes && b.bytes)
            d.bytes = (*b.bytes - *a.bytes) / n;
        return d;
    };
    const auto until = clock_type::now() + std::chrono::seconds(o.deadline_s);
    std::vector<call_counts> at{read()};
    for (int wave = 0; wave < 2; ++wave) {
        std::vector<bench::container_spec> specs;
        for (int i = 0; i < n; ++i)
            specs.push_back(
                {"calls" + std::to_string(wave) + "-" + std::to_string(i), wave == 1, {}});
        auto ids = bench::create_containers(sock, specs, 4, &sc.gate);
        bench::start_containers(sock, ids, 4);
        std::this_thread::sleep_for(std::chrono::seconds(1));
        if (!sc.gate.release(sock, ids, std::chrono::minutes(5)))
            throw std::runtime_error("calls run: containers still running after the gate opened");
        if (!wait_handled(port, n * (wave + 1), until))
            throw std::runtime_error("calls run: the daemon did not handle every death in time: " +
                                     p.tail());
        if (wave == 1) {
            if (!sc.rest.wait_for(sc.rest_seen + n,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      until - clock_type::now())))
                throw std::runtime_error("calls run: not every core notified");
            sc.rest_seen += n;
            sc.kafka.wait_for(sc.kafka_seen + n, std::chrono::minutes(1));
            sc.kafka_seen += n;
        }
        at.push_back(read());
        bench::remove_containers(sock, ids);
    }
    p.proc().signal(SIGTERM);
    p.proc().wait_for(std::chrono::seconds(30));
    return {per(at[0], at[1]), per(at[1], at[2])};
}

// --- report ---------------------------------------------------------------------------------

std::string ratio(double a, double b)
{
    return b > 0 ? bench::fixed(a / b, 2) : "n/a";
}

void report(const options& o,
            const burst& b,
            const std::vector<round_result>& results,
            const phase_buckets& phases,
            const std::optional<std::pair<call_counts, call_counts>>& calls,
            const fs::path& out)
{
    const std::string what = std::to_string(b.deaths()) + " deaths (" + std::to_string(b.clean) +
                             " clean, " + std::to_string(b.cores) + " cores, " +
                             std::to_string(b.hprofs) + " hprof, " + std::to_string(b.decoys) +
                             " decoys), --max-concurrency " + std::to_string(o.concurrency) +
                             (o.max_probes ? ", --max-probes " + std::to_string(o.max_probes) : "");
    bench::table per_round;
    per_round.title = "Burst rounds: " + what;
    per_round.header = {"round",
                        "side",
                        "after die p50 s",
                        "after die p95 s",
                        "first death -> last s",
                        "CPU s",
                        "VmHWM MiB"};
    std::string data = "# round side p50_s p95_s span_s cpu_s hwm_mib die_fallbacks\n";
    std::map<side, std::vector<double>> p50, p95, span, cpu, hwm;
    for (const auto& x : results) {
        per_round.rows.push_back({std::to_string(x.round),
                                  name(x.who),
                                  bench::fixed(x.p50, 3),
                                  bench::fixed(x.p95, 3),
                                  bench::fixed(x.span, 3),
                                  x.cpu < 0 ? "" : bench::fixed(x.cpu, 2),
                                  x.hwm_mib < 0 ? "" : bench::fixed(x.hwm_mib, 1)});
        data += std::to_string(x.round) + " " + slug(x.who) + " " + bench::fixed(x.p50, 4) + " " +
                bench::fixed(x.p95, 4) + " " + bench::fixed(x.span, 4) + " " +
                bench::fixed(x.cpu, 3) + " " + bench::fixed(x.hwm_mib, 2) + " " +
                std::to_string(x.die_fallbacks) + "\n";
        p50[x.who].push_back(x.p50);
        p95[x.who].push_back(x.p95);
        span[x.who].push_back(x.span);
        cpu[x.who].push_back(x.cpu);
        hwm[x.who].push_back(x.hwm_mib);
    }
    per_round.print(out, "burst");
    std::ofstream(out / "burst_rounds.dat") << data;

    auto med = [](std::map<side, std::vector<double>>& m, side s) { return bench::median(m[s]); };
    const bool base = !o.baseline_bin.empty();
    bench::table t;
    t.title = "Burst, medians of " + std::to_string(o.rounds) + " rounds: " + what;
    t.header = {"figure", "daemon", "true floor", "FIFO floor", "daemon / true", "daemon / FIFO"};
    if (base)
        t.header.insert(t.header.end(), {"baseline", "baseline / true", "daemon / baseline"});
    for (auto [label, m] : {std::pair{"notification after die, p50 of dumping deaths (s)", &p50},
                            std::pair{"notification after die, p95 of dumping deaths (s)", &p95},
                            std::pair{"first death -> last notification (s)", &span}}) {
        const double d = med(*m, side::daemon), tf = med(*m, side::truth), ff = med(*m, side::fifo);
        t.rows.push_back({label,
                          bench::fixed(d, 3),
                          bench::fixed(tf, 3),
                          bench::fixed(ff, 3),
                          "**" + ratio(d, tf) + "**",
                          ratio(d, ff)});
        if (base) {
            const double bl = med(*m, side::baseline);
            t.rows.back().insert(t.rows.back().end(),
                                 {bench::fixed(bl, 3), ratio(bl, tf), "**" + ratio(d, bl) + "**"});
        }
    }
    for (auto [label, m, digits] : {std::tuple{"CPU during the burst (s)", &cpu, 2},
                                    std::tuple{"peak resident, VmHWM (MiB)", &hwm, 1}}) {
        t.rows.push_back({label, bench::fixed(med(*m, side::daemon), digits), "", "", "", ""});
        if (base)
            t.rows.back().insert(t.rows.back().end(),
                                 {bench::fixed(med(*m, side::baseline), digits),
                                  "",
                                  ratio(med(*m, side::daemon), med(*m, side::baseline))});
    }
    t.print(out, "burst");

    if (!phases.empty()) {
        bench::table ph;
        ph.title = "Daemon phases (core_interceptor_phase_seconds, buckets of every round pooled)";
        ph.header = {"phase", "count", "p50 s", "p95 s"};
        for (const auto& [phase, buckets] : phases)
            ph.rows.push_back({phase,
                               bench::fixed(buckets.rbegin()->second / 1, 0),
                               bench::fixed(bucket_quantile(buckets, 0.5), 3),
                               bench::fixed(bucket_quantile(buckets, 0.95), 3)});
        ph.print(out, "burst");
    }
    if (calls) {
        auto cell = [](const std::optional<double>& v) { return v ? bench::fixed(*v, 1) : "n/a"; };
        bench::table c;
        c.title = "Daemon's Engine calls per death (" + std::to_string(o.calls) +
                  " clean deaths, then " + std::to_string(o.calls) + " cores)";
        c.header = {"death", "requests", "connections", "bytes read"};
        auto whole = [](const std::optional<double>& v) { return v ? bench::fixed(*v, 0) : "n/a"; };
        for (const auto& [label, x] :
             {std::pair{"clean exit", calls->first}, std::pair{"core", calls->second}})
            c.rows.push_back({label, cell(x.requests), cell(x.connections), whole(x.bytes)});
        c.print(out, "burst");
    }
    std::printf("\nratios (medians): after-die p50 daemon / true floor %s, daemon / FIFO floor %s; "
                "first death -> last: daemon / true floor %s, daemon / FIFO floor %s\n",
                ratio(med(p50, side::daemon), med(p50, side::truth)).c_str(),
                ratio(med(p50, side::daemon), med(p50, side::fifo)).c_str(),
                ratio(med(span, side::daemon), med(span, side::truth)).c_str(),
                ratio(med(span, side::daemon), med(span, side::fifo)).c_str());
    if (base)
        std::printf("baseline (medians): after-die p50 baseline / true floor %s, daemon / baseline "
                    "%s; first death -> last: baseline / true floor %s, daemon / baseline %s\n",
                    ratio(med(p50, side::baseline), med(p50, side::truth)).c_str(),
                    ratio(med(p50, side::daemon), med(p50, side::baseline)).c_str(),
                    ratio(med(span, side::baseline), med(span, side::truth)).c_str(),
                    ratio(med(span, side::daemon), med(span, side::baseline)).c_str());

    std::string chart_data = "# round daemon true fifo (first death -> last notification, s)\n";
    for (int r = 1; r <= o.rounds; ++r) {
        chart_data += std::to_string(r);
        for (side s : {side::daemon, side::truth, side::fifo})
            for (const auto& x : results)
                if (x.round == r && x.who == s)
                    chart_data += " " + bench::fixed(x.span, 4);
        chart_data += "\n";
    }
    auto png = bench::chart(
        out,
        "burst",
        chart_data,
        "set title 'Burst: " + std::to_string(b.deaths()) + " deaths, " +
            std::to_string(b.dumps()) +
            " dumps'\n"
            "set style data histograms\nset style histogram clustered gap 1\n"
            "set style fill solid 0.8 border -1\nset boxwidth 0.9\n"
            "set ylabel 'first death -> last notification (s)'\nset yrange [0:*]\n"
            "set grid ytics\nset key top left\n"
            "plot 'burst.dat' using 2:xtic(1) title 'core\\_interceptor', '' using 3 title "
            "'true floor', '' using 4 title 'FIFO floor'\n");
    std::printf(
        "table: %s\nraw: %s\n", (out / "burst.md").c_str(), (out / "burst_rounds.dat").c_str());
    if (png)
        std::printf("chart: %s\n", png->c_str());
}

options parse(int argc, char* argv[])
{
    options o;
    o.daemon_bin = argv[1];
    o.floor_bin = argv[2];
    for (int i = 3; i + 1 < argc; ++i) {
        const std::string a = argv[i];
        int* target = a == "--rounds"                                    ? &o.rounds
                      : a == "--clean"                                   ? &o.clean
                      : a == "--cores"                                   ? &o.cores
                      : a == "--hprofs"                                  ? &o.hprofs
                      : a == "--decoys"                                  ? &o.decoys
                      : a == "--max-concurrency" || a == "--concurrency" ? &o.concurrency
                      : a == "--max-probes"                              ? &o.max_probes
                      : a == "--calls"                                   ? &o.calls
                      : a == "--deadline"                                ? &o.deadline_s
                                                                         : nullptr;
        if (target)
            *target = std::stoi(argv[++i]);
        else if (a == "--out")
            ++i;
        else if (a == "--baseline")
            o.baseline_bin = argv[++i];
        else
            throw std::runtime_error("unknown option " + a);
    }
    if (o.cores + o.hprofs == 0)
        throw std::runtime_error("a burst needs at least one dump (--cores or --hprofs)");
    return o;
}

}  // namespace

int main(int argc, char* argv[])
try {
    if (argc < 3) {
        std::cerr << "usage: burst_bench CORE_INTERCEPTOR FLOOR_CLIENT [--out DIR] [--rounds N] "
                     "[--clean N] [--cores N] [--hprofs N] [--decoys N] [--max-concurrency N] "
                     "[--max-probes N] [--calls N] [--deadline S] [--baseline CORE_INTERCEPTOR]\n";
        return 2;
    }
    const options o = parse(argc, argv);
    const burst full{o.clean, o.cores, o.hprofs, o.decoys};
    const auto out = bench::output_dir(argc, argv);
    fs::remove(out / "burst.md");

    test_support::private_dockerd d;
    d.build_test_image();
    test_support::registry reg;
    test_support::mock_kafka kafka;
    test_support::http_sink rest;
    test_support::temp_dir tmp("ci-burst-");
    const auto sock = d.socket_path();

    // Both repositories get the image's base layer first, so no side pays for it.
    for (const std::string repo : {"testimg_1.0", "floor"}) {
        const std::string ref = reg.address() + "/" + repo + ":warm";
        if (!d.docker({"tag", "testimg:1.0", ref}).ok() || !d.docker({"push", ref}).ok())
            throw std::runtime_error("cannot push the base layer to " + ref);
    }
    const bench::gate gate(tmp.path() / "gate");
    // The daemon's state directory: on the same disk as a real one would be, unless
    // CORE_INTERCEPTOR_BENCH_STATE names another place (e.g. a tmpfs, to see what syncing costs).
    const char* state_env = std::getenv("CORE_INTERCEPTOR_BENCH_STATE");
    scene sc{d,
             reg,
             kafka,
             rest,
             gate,
             tmp.path(),
             state_env && *state_env ? fs::path(state_env) : tmp.path()};

    std::vector<round_result> results;
    phase_buckets phases;
    // A first round, not counted, warms every side up (dockerd, the registry's repositories,
    // the page cache) with a fifth of the deaths. The sides' order turns with each round.
    for (int r = -1; r < o.rounds; ++r) {
        const bool warm = r < 0;
        const burst b = warm ? burst{(full.clean + 4) / 5,
                                     (full.cores + 4) / 5,
                                     (full.hprofs + 4) / 5,
                                     (full.decoys + 4) / 5}
                             : full;
        std::vector<side> order{side::daemon, side::truth, side::fifo};
        if (!o.baseline_bin.empty())
            order.insert(order.begin() + 1, side::baseline);
        for (std::size_t k = 0; k < order.size(); ++k) {
            const side who = order[(k + static_cast<std::size_t>(std::max(r, 0))) % order.size()];
            const std::string tag = std::to_string(r + 1) + slug(who);
            const auto specs = specs_for("b" + tag + "-", b);
            const auto ids = bench::create_containers(sock, specs, 4, &gate);
            auto run = run_side(o, sc, who, tag, b, specs, ids);
            auto x = figures(r + 1, who, run, sock);
            if (!warm) {
                results.push_back(x);
                if (run.metrics && who == side::daemon)
                    add_phases(phases, *run.metrics);
            }
            std::cerr << (warm ? std::string("warm-up") : "round " + std::to_string(r + 1)) << " "
                      << name(who) << ": after die p50 " << bench::fixed(x.p50, 3) << " s, p95 "
                      << bench::fixed(x.p95, 3) << " s; first death -> last "
                      << bench::fixed(x.span, 3) << " s"
                      << (x.die_fallbacks ? " (" + std::to_string(x.die_fallbacks) +
                                                " die events missed: FinishedAt used)"
                                          : "")
                      << '\n';
            bench::remove_containers(sock, ids);
        }
    }
    std::optional<std::pair<call_counts, call_counts>> calls;
    if (o.calls > 0)
        calls = engine_calls(o, sc, o.calls);
    report(o, full, results, phases, calls, out);
    return 0;
} catch (const std::exception& e) {
    std::cerr << "burst_bench: " << e.what() << '\n';
    return 1;
}
