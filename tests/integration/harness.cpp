// SPDX-License-Identifier: MIT
#include "harness.hpp"

#include "support/engines.hpp"
#include "support/http_sink.hpp"
#include "support/missing_part.hpp"
#include "support/mock_kafka.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <random>
#include <regex>
#include <sstream>
#include <string_view>
#include <thread>

namespace core_interceptor::integration {

std::string trim(std::string s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.pop_back();
    std::size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
        ++i;
    return s.substr(i);
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!trim(line).empty())
            out.push_back(trim(line));
    return out;
}

namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;
namespace json = boost::json;

// SPEC §7: tests that need a core check first that a crashing process leaves one. This runs
// the same crash the tests run and reads the core's ELF header back out of the container.
void check_cores_land_in_containers(shared_parts& p)
{
    const auto pattern = trim(ts::read_file("/proc/sys/kernel/core_pattern"));
    if (!pattern.empty() && pattern[0] == '|')
        throw ts::missing_part("kernel.core_pattern is a pipe ('" + pattern +
                               "'): cores never land inside containers");

    const auto name = unique_name("probe");
    auto args = ts::run_isolated({"--ulimit", "core=-1", "-w", "/tmp", "--name", name});
    const auto engine_options = p.dockerd.run_options();
    args.insert(args.end(), engine_options.begin(), engine_options.end());
    args.push_back(ts::private_dockerd::test_image);
    for (auto& a : crash_with_core())
        args.push_back(a);
    auto run = p.dockerd.docker(args, 120s);
    if (run.timed_out)
        throw std::runtime_error("the probe container did not end within 120 s");
    const bool segv = run.status.exited && run.status.code == 139;
    // 125-127: docker itself failed (cannot create or start a container here).
    if (!segv && run.status.exited && run.status.code >= 125 && run.status.code <= 127)
        throw ts::missing_part("cannot run a container (" + run.status.describe() +
                               "): " + run.err + "\ndockerd log:\n" + p.dockerd.log_tail());
    if (!segv)
        throw std::runtime_error("the probe container should die of SIGSEGV (139), got " +
                                 run.status.describe() + ": " + run.err);

    auto diff = p.dockerd.docker({"diff", name}, 60s);
    std::string core_path;
    for (const auto& line : lines_of(diff.out)) {
        // "A /tmp/core" (or core.<pid>, ... with another relative core_pattern)
        if (line.rfind("A /tmp/core", 0) == 0)
            core_path = line.substr(2);
    }
    if (core_path.empty())
        throw ts::missing_part("a process killed by SIGSEGV in a container left no core in "
                               "/tmp (kernel.core_pattern = '" +
                               pattern + "')");
    auto cp = p.dockerd.docker({"cp", name + ":" + core_path, "-"}, 60s);
    // `docker cp ... -` writes a tar: a 512-byte header, then the file.
    const std::string& tar = cp.out;
    const bool elf_core = cp.ok() && tar.size() >= 512 + 18 &&
                          tar.compare(512,
                                      4,
                                      "\x7f"
                                      "ELF") == 0 &&
                          static_cast<unsigned char>(tar[512 + 16]) == 4 &&  // e_type ET_CORE
                          tar[512 + 17] == 0;
    if (!elf_core)
        throw ts::missing_part(core_path + " left by the crash probe is not an ELF core");
    p.dockerd.docker({"rm", "-f", name}, 60s);
}

}  // namespace

shared_parts::shared_parts() : dockerd(ts::engine_options(ts::engine_name())) {}

shared_parts::shared_parts(ts::dockerd_options d, ts::registry_options r)
    : dockerd(std::move(d)), registry(std::move(r))
{
}

namespace {

struct shared_state {
    enum { unknown, ready, missing, broken } state = unknown;
    std::string why;
    std::unique_ptr<shared_parts> parts;
};

shared_state& shared()
{
    // Destroyed at exit: stops dockerd and the registry and removes their directories.
    static shared_state s;
    return s;
}

}  // namespace

bool contains_nocase(std::string_view hay, std::string_view needle)
{
    auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) ==
               std::tolower(static_cast<unsigned char>(b));
    });
    return it != hay.end();
}

bool parts_required()
{
    const char* ci = std::getenv("CI");
    const char* req = std::getenv("CORE_INTERCEPTOR_REQUIRE_PARTS");
    return (ci && std::string_view(ci) == "true") || (req && std::string_view(req) == "1");
}

shared_parts* parts()
{
    auto& s = shared();
    if (s.state == shared_state::unknown) {
        try {
            s.parts = std::make_unique<shared_parts>();
            check_cores_land_in_containers(*s.parts);
            s.state = shared_state::ready;
        } catch (const ts::missing_part& e) {
            s.parts.reset();
            s.state = shared_state::missing;
            s.why = e.what();
        } catch (const std::exception& e) {
            s.parts.reset();
            s.state = shared_state::broken;
            s.why = e.what();
        }
    }
    switch (s.state) {
    case shared_state::ready: return s.parts.get();
    case shared_state::missing:
        if (parts_required())
            FAIL("a part the integration tests need is missing: ", s.why);
        MESSAGE("SKIPPED: a part the integration tests need is missing: ", s.why);
        return nullptr;
    default: FAIL("the integration test harness failed: ", s.why);
    }
    return nullptr;
}

std::filesystem::path daemon_binary()
{
    const char* bin = std::getenv("CORE_INTERCEPTOR_BIN");
    if (!bin || !*bin)
        FAIL("CORE_INTERCEPTOR_BIN is not set: run `meson test --suite integration`, or set it "
             "to the core_interceptor binary");
    if (::access(bin, X_OK) != 0)
        FAIL("CORE_INTERCEPTOR_BIN=", bin, " is not an executable file");
    return bin;
}

namespace {

ts::process_options daemon_options(const std::filesystem::path& out,
                                   const std::filesystem::path& err,
                                   std::vector<std::string> args)
{
    ts::process_options o;
    o.argv.push_back(daemon_binary().string());
    for (auto& a : args)
        o.argv.push_back(std::move(a));
    o.stdout_path = out;
    o.stderr_path = err;
    // Its own group: whatever it might fork is found by pgid after it is gone.
    o.own_process_group = true;
    o.stop_grace = 5s;
    return o;
}

// Never the default state directory (/var/lib/core_interceptor): one of the test's own.
std::vector<std::string> with_state_dir(const std::filesystem::path& work_dir,
                                        std::vector<std::string> args)
{
    const bool named = std::any_of(args.begin(), args.end(), [](const std::string& a) {
        return a == "--state-dir" || a.rfind("--state-dir=", 0) == 0;
    });
    if (!named && daemon_has_state_dir()) {
        args.push_back("--state-dir");
        args.push_back((work_dir / "state").string());
    }
    return args;
}

}  // namespace

bool daemon_has_state_dir()
{
    static const bool known = [] {
        auto r = ts::run({daemon_binary().string(), "--help"}, 10s);
        return (r.out + r.err).find("--state-dir") != std::string::npos;
    }();
    return known;
}

bool daemon_has_signature_limit()
{
    static const bool known = [] {
        auto r = ts::run({daemon_binary().string(), "--help"}, 10s);
        return (r.out + r.err).find("--max-per-signature") != std::string::npos;
    }();
    return known;
}

daemon_under_test::daemon_under_test(const std::filesystem::path& work_dir,
                                     std::vector<std::string> args)
    : out_(work_dir / "daemon.out"), err_(work_dir / "daemon.err"),
      proc_(daemon_options(out_, err_, with_state_dir(work_dir, std::move(args))))
{
}

std::string daemon_under_test::log() const
{
    return ts::read_file(err_) + ts::read_file(out_);
}

std::string daemon_under_test::log_tail(std::size_t lines)
{
    auto tail = ts::tail_lines(log(), lines);
    // A daemon that is gone says how, at the end of what a failure shows.
    if (!proc_.running() && proc_.status())
        tail += "\n(the daemon has ended: " + proc_.status()->describe() + ")";
    return tail;
}

bool daemon_under_test::wait_until_watching(std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (contains_nocase(log(), "watching events"))
            return true;
        if (!proc_.running())
            FAIL("the daemon exited (",
                 proc_.status()->describe(),
                 ") before watching events; its log:\n",
                 log_tail());
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(50ms);
    }
}

std::vector<std::string>
daemon_args(const shared_parts& p, const std::string& kafka_brokers, const std::string& rest_url)
{
    std::vector<std::string> a{
        "--docker-host", p.dockerd.host(), "--registry", p.registry.address()};
    if (!kafka_brokers.empty())
        a.insert(a.end(), {"--kafka-brokers", kafka_brokers});
    if (!rest_url.empty())
        a.insert(a.end(), {"--rest-url", rest_url});
    a.insert(a.end(), {"--hostname", "testhost", "--max-concurrency", "4", "-v", "1"});
    // The suite crashes busybox the same way in many containers of one run: the same crash
    // signature, which --max-per-signature (default 3 an hour) would announce as duplicates.
    // Its own test (crash_triage_test) sets the limit.
    if (daemon_has_signature_limit())
        a.insert(a.end(), {"--max-per-signature", "0"});
    return a;
}

void set_option(std::vector<std::string>& args, const std::string& option, std::string value)
{
    const auto at = std::find(args.begin(), args.end(), option);
    REQUIRE_MESSAGE(at != args.end(), option, " is not on the command line");
    REQUIRE(std::next(at) != args.end());
    *std::next(at) = std::move(value);
}

void start_watching(daemon_under_test& d)
{
    if (d.wait_until_watching(10s))
        return;
    MESSAGE("the daemon did not log \"watching events\" within 10 s; going on after a pause");
    std::this_thread::sleep_for(2s);
    if (!d.running())
        FAIL("the daemon exited (", d.proc().status()->describe(), "); its log:\n", d.log_tail());
}

void stop_cleanly(daemon_under_test& d, std::chrono::seconds within)
{
    REQUIRE_MESSAGE(d.running(), "the daemon is gone; its log:\n", d.log_tail());
    d.proc().signal(SIGTERM);
    auto st = d.proc().wait_for(within);
    REQUIRE_MESSAGE(
        st.has_value(), "the daemon did not exit within ", within.count(), " s of SIGTERM");
    CHECK_MESSAGE(st->describe() == "exit 0",
                  "the daemon ended with ",
                  st->describe(),
                  " on SIGTERM; its log:\n",
                  d.log_tail(20));
}

std::vector<std::string> with_ballast(const std::string& then)
{
    return shell("dd if=/dev/urandom of=/tmp/ballast bs=1M count=24 2>/dev/null; " + then);
}

container_spec ballast_core(const std::string& role)
{
    return {role, with_ballast("sh -c \"kill -SEGV \\$\\$\"; exit $?"), 139, "core"};
}

container_spec ballast_hprof(const std::string& role, const std::string& path)
{
    return {
        role,
        with_ballast("printf 'JAVA PROFILE 1.0.2\\000\\000\\000\\000\\010' > " + path + "; exit 3"),
        3,
        "hprof"};
}

std::vector<std::string> shell(const std::string& script)
{
    return {"sh", "-c", script};
}

std::vector<std::string> crash_with_core()
{
    // PID 1 ignores signals it has no handler for, and busybox sh execs the last command of
    // `-c`: the inner shell must not be the last command, so that it is not PID 1.
    return shell("sh -c \"kill -SEGV \\$\\$\"; exit $?");
}

std::vector<std::string> write_hprof(const std::string& path, int exit_code)
{
    // An HPROF header: the magic with its NUL, the identifier size (4 bytes), a timestamp.
    return shell("printf 'JAVA PROFILE 1.0.2\\000' > " + path +
                 " && printf '\\000\\000\\000\\010\\000\\000\\001\\223\\305\\112\\070\\000' >> " +
                 path + "; exit " + std::to_string(exit_code));
}

std::string unique_name(const std::string& what)
{
    static std::mt19937_64 gen{std::random_device{}()};
    std::ostringstream s;
    s << "ci-" << what << '-' << std::hex << (gen() & 0xffffffffULL);
    return s.str();
}

container start_container(shared_parts& p, const container_spec& spec, const std::string& name)
{
    auto args = ts::run_isolated({"-d", "--ulimit", "core=-1", "-w", "/tmp", "--name", name});
    const auto engine_options = p.dockerd.run_options();
    args.insert(args.end(), engine_options.begin(), engine_options.end());
    args.insert(args.end(), spec.run_options.begin(), spec.run_options.end());
    args.push_back(spec.image);
    args.insert(args.end(), spec.command.begin(), spec.command.end());
    auto r = p.dockerd.docker(args, 120s);
    if (!r.ok())
        FAIL("start of the ", spec.role, " container failed (", r.status.describe(), "): ", r.err);
    auto id = trim(r.out);
    if (id.size() != 64)
        FAIL("starting a container printed no container id: ", r.out, r.err);
    return {spec, name, id};
}

std::vector<container> start_containers_at_once(shared_parts& p,
                                                const std::vector<container_spec>& specs,
                                                const std::vector<std::string>& names,
                                                const std::filesystem::path& work_dir)
{
    REQUIRE(specs.size() == names.size());
    const auto docker = ts::find_program("docker");
    REQUIRE_MESSAGE(!docker.empty(), "no docker CLI");
    std::vector<ts::process> runs;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        ts::process_options o;
        o.argv = {docker.string(), "-H", p.dockerd.host()};
        const auto run =
            ts::run_isolated({"-d", "--ulimit", "core=-1", "-w", "/tmp", "--name", names[i]});
        o.argv.insert(o.argv.end(), run.begin(), run.end());
        const auto engine_options = p.dockerd.run_options();
        o.argv.insert(o.argv.end(), engine_options.begin(), engine_options.end());
        o.argv.insert(o.argv.end(), specs[i].run_options.begin(), specs[i].run_options.end());
        o.argv.push_back(specs[i].image);
        o.argv.insert(o.argv.end(), specs[i].command.begin(), specs[i].command.end());
        o.env = {{"DOCKER_CONFIG", (p.dockerd.dir() / "cli").string()},
                 {"DOCKER_CLI_HINTS", "false"}};
        o.stdout_path = work_dir / (names[i] + ".run.out");
        o.stderr_path = work_dir / (names[i] + ".run.err");
        runs.emplace_back(std::move(o));
    }
    std::vector<container> out;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        auto st = runs[i].wait_for(120s);
        const auto err = ts::read_file(work_dir / (names[i] + ".run.err"));
        if (!st)
            FAIL("start of the ", specs[i].role, " container ", names[i], " hangs");
        if (!st->success())
            FAIL("start of the ", specs[i].role, " container failed (", st->describe(), "): ", err);
        const auto id = trim(ts::read_file(work_dir / (names[i] + ".run.out")));
        if (id.size() != 64)
            FAIL("starting a container printed no container id: ", id, err);
        out.push_back({specs[i], names[i], id});
    }
    return out;
}

void wait_exited(shared_parts& p, const std::vector<container>& cs)
{
    std::vector<std::string> args{"wait"};
    for (const auto& c : cs)
        args.push_back(c.name);
    auto r = p.dockerd.docker(args, 120s);
    if (!r.ok())
        FAIL("docker wait failed (", r.status.describe(), "): ", r.err);
    const auto codes = lines_of(r.out);
    REQUIRE(codes.size() == cs.size());
    for (std::size_t i = 0; i < cs.size(); ++i) {
        INFO("container ", cs[i].name, " (", cs[i].spec.role, ")");
        CHECK(codes[i] == std::to_string(cs[i].spec.exit_code));
    }
}

void remove_all_containers(shared_parts& p)
{
    auto ps = p.dockerd.docker({"ps", "-aq"}, 60s);
    REQUIRE(ps.ok());
    auto ids = lines_of(ps.out);
    if (ids.empty())
        return;
    std::vector<std::string> args{"rm", "-f"};
    args.insert(args.end(), ids.begin(), ids.end());
    auto rm = p.dockerd.docker(args, 120s);
    CHECK_MESSAGE(rm.ok(), "docker rm -f: ", rm.err);
}

std::vector<std::string> local_images_tagged(shared_parts& p, const std::string& tag)
{
    auto r = p.dockerd.docker({"images", "--format", "{{.Repository}}:{{.Tag}}"}, 60s);
    REQUIRE_MESSAGE(r.ok(), "docker images: ", r.err);
    std::vector<std::string> out;
    for (const auto& line : lines_of(r.out)) {
        if (line.size() > tag.size() &&
            line.compare(line.size() - tag.size() - 1, tag.size() + 1, ":" + tag) == 0)
            out.push_back(line);
    }
    return out;
}

std::string joined(const std::set<std::string>& s)
{
    std::string out;
    for (const auto& x : s)
        out += (out.empty() ? "" : ",") + x;
    return "{" + out + "}";
}

std::optional<json::object> parse_notification(const std::string& body)
{
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) {
        FAIL_CHECK("a notification is not a JSON object: ", body);
        return std::nullopt;
    }
    return v.as_object();
}

std::string string_field(const json::object& o, const char* key)
{
    const auto* v = o.if_contains(key);
    if (!v)
        return "<missing>";
    if (!v->is_string())
        return "<not a string: " + json::serialize(*v) + ">";
    return std::string(v->as_string());
}

void check_notification(const json::object& n,
                        const expected_notification& e,
                        std::chrono::system_clock::time_point not_before)
{
    INFO("notification: ", json::serialize(n));
    CHECK(string_field(n, "version") == "1.0");
    CHECK(string_field(n, "name") == e.name);
    CHECK(string_field(n, "tag") == e.tag);
    CHECK(string_field(n, "hostname") == e.hostname);
    CHECK(string_field(n, "object") == e.object);
    const auto* pushed = n.if_contains("pushed");
    CHECK_MESSAGE((pushed && pushed->is_bool()), "\"pushed\" is missing or not a boolean");
    if (pushed && pushed->is_bool())
        CHECK(pushed->as_bool() == e.pushed);

    // Optional fields (SPEC §5) must be right when present.
    if (e.pushed && n.if_contains("image"))
        CHECK(string_field(n, "image") == e.image);
    if (const auto* c = n.if_contains("container"); c && c->is_object()) {
        const auto id = string_field(c->as_object(), "id");
        CHECK_MESSAGE(id.rfind(e.tag, 0) == 0, "container.id ", id, " does not start with ", e.tag);
    }

    // RFC 3339 in UTC, e.g. 2026-11-24T20:21:10.123Z, and about now.
    const auto ts = string_field(n, "timestamp");
    static const std::regex rfc3339{
        R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$)"};
    std::smatch m;
    const bool rfc3339_utc = std::regex_match(ts, m, rfc3339);
    CHECK_MESSAGE(rfc3339_utc, "timestamp ", ts, " is not RFC 3339 UTC");
    if (!rfc3339_utc)
        return;
    std::tm tm{};
    tm.tm_year = std::stoi(m[1]) - 1900;
    tm.tm_mon = std::stoi(m[2]) - 1;
    tm.tm_mday = std::stoi(m[3]);
    tm.tm_hour = std::stoi(m[4]);
    tm.tm_min = std::stoi(m[5]);
    tm.tm_sec = std::stoi(m[6]);
    const auto when = std::chrono::system_clock::from_time_t(::timegm(&tm));
    CHECK_MESSAGE(when >= not_before - 60s, "timestamp ", ts, " is before the test started");
    CHECK_MESSAGE(
        when <= std::chrono::system_clock::now() + 60s, "timestamp ", ts, " is in the future");
}

// --- Fault injection ------------------------------------------------------------------------

bool wait_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (done())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(poll);
    }
}

convergence wait_all(const std::vector<std::pair<std::string, std::function<bool()>>>& conditions,
                     std::chrono::milliseconds timeout,
                     std::chrono::milliseconds poll)
{
    convergence c;
    for (const auto& [name, f] : conditions)
        c.first_true.emplace_back(name, -1.0);
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    for (;;) {
        const double now =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        bool all = true;
        for (std::size_t i = 0; i < conditions.size(); ++i) {
            const bool ok = conditions[i].second();
            if (ok && c.first_true[i].second < 0)
                c.first_true[i].second = now;
            all = all && ok;
        }
        c.seconds = now;
        if (all) {
            c.converged = true;
            return c;
        }
        if (std::chrono::steady_clock::now() >= deadline)
            return c;
        std::this_thread::sleep_for(poll);
    }
}

std::string convergence::describe() const
{
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(1);
    s << (converged ? "converged in " : "NOT converged after ") << seconds << " s (";
    bool first = true;
    for (const auto& [name, t] : first_true) {
        s << (first ? "" : ", ") << name << " ";
        if (t < 0)
            s << "never";
        else
            s << t << " s";
        first = false;
    }
    s << ")";
    return s.str();
}

bool wait_for_log(const daemon_under_test& d,
                  const std::string& needle,
                  std::chrono::milliseconds timeout)
{
    return wait_until([&] { return contains_nocase(d.log(), needle); }, timeout, 100ms);
}

std::vector<std::string> fault_daemon_args(const shared_parts& p,
                                           const std::string& kafka_brokers,
                                           const std::string& rest_url,
                                           const std::filesystem::path& state_dir)
{
    auto a = daemon_args(p, kafka_brokers, rest_url);
    a.insert(a.end(), {"--state-dir", state_dir.string(), "--retry-max-backoff", "1"});
    if (!kafka_brokers.empty())
        a.insert(a.end(), {"-X", "message.timeout.ms=3000"});
    return a;
}

std::string container_of_id(const std::string& id)
{
    const auto dash = id.rfind('-');
    return dash == std::string::npos ? id : id.substr(0, dash);
}

std::set<std::string> sink_record::ids() const
{
    std::set<std::string> out;
    for (const auto& [id, n] : count)
        out.insert(id);
    return out;
}

std::size_t sink_record::duplicates() const
{
    std::size_t with_id = 0;
    for (const auto& [id, n] : count)
        with_id += n;
    return with_id - count.size();
}

std::set<std::string> sink_record::ids_of(const std::string& container_id) const
{
    std::set<std::string> out;
    for (const auto& [id, n] : count)
        if (container_of_id(id) == container_id)
            out.insert(id);
    return out;
}

namespace {

void record_body(sink_record& r, const std::string& body)
{
    ++r.total;
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) {
        r.bad_bodies.push_back(body);
        return;
    }
    const auto& o = v.as_object();
    const auto* id = o.if_contains("id");
    if (!id || !id->is_string() || id->as_string().empty()) {
        ++r.without_id;
        return;
    }
    const std::string key(id->as_string());
    ++r.count[key];
    r.last[key] = o;
    if (const auto* pushed = o.if_contains("pushed");
        pushed && pushed->is_bool() && pushed->as_bool())
        r.pushed.insert(key);
}

}  // namespace

sink_record kafka_record(const ts::mock_kafka& k)
{
    sink_record r;
    for (const auto& m : k.messages())
        record_body(r, m.value);
    return r;
}

sink_record rest_record(const ts::http_sink& s)
{
    sink_record r;
    for (const auto& q : s.requests())
        if (q.status >= 200 && q.status < 300)
            record_body(r, q.body);
    return r;
}

std::string describe(const sink_record& r)
{
    std::ostringstream s;
    s << "ids=" << r.count.size() << " deliveries=" << r.total << " duplicates=" << r.duplicates()
      << " pushed_true=" << r.pushed.size();
    if (r.without_id)
        s << " without_id=" << r.without_id;
    if (!r.bad_bodies.empty())
        s << " not_json=" << r.bad_bodies.size();
    s << " [";
    bool first = true;
    for (const auto& [id, n] : r.count) {
        s << (first ? "" : ", ") << id << " x" << n << (r.pushed.count(id) ? " pushed" : "");
        first = false;
    }
    s << "]";
    return s.str();
}

bool sink_complete(const sink_record& sink,
                   const std::set<std::string>& containers,
                   bool need_pushed)
{
    std::set<std::string> covered;
    for (const auto& [id, n] : sink.count) {
        const auto c = container_of_id(id);
        if (!containers.count(c))
            return false;  // unexpected: no point in waiting
        if (!need_pushed || sink.pushed.count(id))
            covered.insert(c);
    }
    return covered.size() == containers.size();
}

void check_sink(const char* sink_name,
                const sink_record& sink,
                const std::set<std::string>& containers,
                bool need_pushed,
                std::size_t ids_per_container)
{
    const std::string what = sink_name;  // INFO keeps a reference: not a char pointer
    INFO(what, ": ", describe(sink));
    CHECK_MESSAGE(sink.bad_bodies.empty(), what, ": bodies that are not JSON objects");
    CHECK_MESSAGE(sink.without_id == 0, what, ": notifications without an \"id\"");
    for (const auto& c : containers) {
        const auto ids = sink.ids_of(c);
        const std::string short_id = c.substr(0, 12);
        INFO(what, ": container ", short_id);
        if (ids_per_container == 0)
            CHECK_MESSAGE(!ids.empty(), what, ": no notification of container ", c.substr(0, 12));
        else
            CHECK_MESSAGE(ids.size() == ids_per_container,
                          what,
                          ": container ",
                          c.substr(0, 12),
                          " has ",
                          ids.size(),
                          " distinct id(s), expected ",
                          ids_per_container);
        if (need_pushed) {
            bool any_pushed = false;
            for (const auto& id : ids)
                any_pushed = any_pushed || sink.pushed.count(id);
            CHECK_MESSAGE(
                any_pushed, what, ": no notification with \"pushed\": true of ", c.substr(0, 12));
        }
        for (const auto& id : ids) {
            const auto& body = sink.last.at(id);
            CHECK_MESSAGE(string_field(body, "tag") == c.substr(0, 12),
                          what,
                          ": id ",
                          id,
                          " has tag ",
                          string_field(body, "tag"));
            CHECK(string_field(body, "version") == "1.0");
        }
    }
    for (const auto& [id, n] : sink.count)
        CHECK_MESSAGE(
            containers.count(container_of_id(id)) == 1, what, ": unexpected notification id ", id);
}

std::optional<std::string>
inspect(shared_parts& p, const std::string& name, const std::string& format)
{
    auto r = p.dockerd.docker({"inspect", "-f", format, name}, 60s);
    if (!r.ok())
        return std::nullopt;
    return trim(r.out);
}

bool has_file(shared_parts& p, const std::string& name, const std::string& path)
{
    auto r = p.dockerd.docker({"diff", name}, 60s);
    if (!r.ok())
        return false;
    for (const auto& line : lines_of(r.out))
        if (line.size() > 2 && (line[0] == 'A' || line[0] == 'C') && line.substr(2) == path)
            return true;
    return false;
}

registry_guard::~registry_guard()
{
    try {
        r.start();
    } catch (const std::exception& e) {
        std::clog << "cannot restart the registry: " << e.what() << '\n';
    }
}

dockerd_guard::~dockerd_guard()
{
    try {
        if (!d.running())
            d.restart();
    } catch (const std::exception& e) {
        std::clog << "cannot restart the private dockerd: " << e.what() << '\n';
    }
}

void remove_local_images_tagged(shared_parts& p, const std::string& tag)
{
    for (const auto& ref : local_images_tagged(p, tag))
        p.dockerd.docker({"rmi", "-f", ref}, 60s);
}

std::vector<container> start_burst(shared_parts& p,
                                   const std::vector<container_spec>& specs,
                                   const std::string& prefix,
                                   const std::filesystem::path& work_dir)
{
    std::vector<std::string> names;
    for (std::size_t i = 0; i < specs.size(); ++i)
        names.push_back(unique_name(prefix + "-" + std::to_string(i)));
    return start_containers_at_once(p, specs, names, work_dir);
}

std::vector<container> dumping_of(const std::vector<container>& cs)
{
    std::vector<container> out;
    for (const auto& c : cs)
        if (c.spec.object)
            out.push_back(c);
    return out;
}

void wait_dumping(shared_parts& p, const std::vector<container>& dumping)
{
    using namespace std::chrono_literals;
    std::vector<std::string> wait{"wait"};
    for (const auto& c : dumping)
        wait.push_back(c.name);
    auto w = p.dockerd.docker(wait, 60s);
    REQUIRE_MESSAGE(w.ok(), "docker wait for the dumping containers: ", w.err);
}

std::set<std::string> ids_of(const std::vector<container>& cs)
{
    std::set<std::string> out;
    for (const auto& c : cs)
        out.insert(c.id);
    return out;
}

std::set<std::string> tags_of(const std::vector<container>& cs)
{
    std::set<std::string> out;
    for (const auto& c : cs)
        out.insert(c.tag());
    return out;
}

std::set<std::string> registry_tags(shared_parts& p, const std::string& repo)
{
    auto v = p.registry.tags(repo);
    return std::set<std::string>(v.begin(), v.end());
}

std::set<std::string>
new_tags(shared_parts& p, const std::string& repo, const std::set<std::string>& before)
{
    std::set<std::string> out;
    for (const auto& t : p.registry.tags(repo))
        if (!before.count(t))
            out.insert(t);
    return out;
}

bool registry_has_all(shared_parts& p, const std::string& repo, const std::set<std::string>& tags)
{
    try {
        const auto have = p.registry.tags(repo);
        const std::set<std::string> s(have.begin(), have.end());
        for (const auto& t : tags)
            if (!s.count(t))
                return false;
        return true;
    } catch (const std::exception&) {
        return false;  // not answering (yet)
    }
}

void check_deleted_locally(shared_parts& p,
                           const std::vector<container>& cs,
                           std::string_view failure)
{
    using namespace std::chrono_literals;
    for (const auto& c : cs) {
        INFO("container ", c.name, " (", c.spec.role, ") tag ", c.tag());
        std::vector<std::string> left;
        wait_until(
            [&] {
                left = local_images_tagged(p, c.tag());
                return left.empty();
            },
            15s,
            250ms);
        CHECK_MESSAGE(left.empty(), failure, left.empty() ? "" : left.front());
    }
}

void clean_up(shared_parts& p, const std::vector<container>& cs)
{
    for (const auto& c : cs)
        remove_local_images_tagged(p, c.tag());
    remove_all_containers(p);
}

}  // namespace core_interceptor::integration
