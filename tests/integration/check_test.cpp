// SPDX-License-Identifier: MIT
// `--check` against the real parts: every check passes with the right settings, and each
// broken setting is a FAIL line that names it, with exit status 1.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/net.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

/// One line of `--check`: "OK   name: reason".
struct check_line {
    std::string verdict;
    std::string reason;
};

/// The lines of a `--check` run by check name; a line that is not of the form fails the test.
std::map<std::string, check_line> parse_lines(const std::string& out)
{
    std::map<std::string, check_line> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        INFO("line: ", line);
        auto colon = line.find(": ", 5);
        REQUIRE(line.size() > 5);
        REQUIRE(colon != std::string::npos);
        std::string verdict = line.substr(0, 4);
        while (!verdict.empty() && verdict.back() == ' ')
            verdict.pop_back();
        CHECK((verdict == "OK" || verdict == "WARN" || verdict == "FAIL"));
        const auto name = line.substr(5, colon - 5);
        CHECK_MESSAGE(!lines.count(name), "two lines for ", name);
        lines[name] = {verdict, line.substr(colon + 2)};
    }
    return lines;
}

/// Podman's `POST /auth` tries HTTPS only (but for "localhost:"), whatever registries.conf
/// says, while its pushes follow registries.conf: the test's plain-HTTP loopback registry is
/// a login --check cannot confirm there, and says so with a WARN. Docker has no such gap.
bool podman_login_warning(const shared_parts& p, const std::string& name, const check_line& l)
{
    return p.dockerd.is_podman() && name == "registry-dockerd" && l.verdict == "WARN" &&
           l.reason.find("over HTTPS only") != std::string::npos;
}

/// What the kernel's core_pattern makes of the core_pattern check: a pipe is a warning.
std::string expected_core_pattern_verdict()
{
    std::ifstream in("/proc/sys/kernel/core_pattern");
    std::string pattern;
    std::getline(in, pattern);
    return pattern.starts_with("|") ? "WARN" : "OK";
}

/// The settings of a run that should pass every check.
struct good_settings {
    std::string docker_host;
    std::string registry;
    std::string registry_auth;
    std::string kafka_brokers;
    std::string kafka_topic;
    std::string rest_url;
    std::string state_dir;

    std::vector<std::string> args() const
    {
        return {"--check",
                "--docker-host",
                docker_host,
                "--registry",
                registry,
                "--registry-auth",
                registry_auth,
                "--kafka-brokers",
                kafka_brokers,
                "--kafka-topic",
                kafka_topic,
                "--rest-url",
                rest_url,
                "--state-dir",
                state_dir};
    }
};

ts::run_result run_check(std::vector<std::string> args, const std::vector<std::string>& prefix = {})
{
    args.insert(args.begin(), daemon_binary().string());
    args.insert(args.begin(), prefix.begin(), prefix.end());
    // Every check has its own deadline (at most 15 s): a run that outlives this one hangs.
    return ts::run(std::move(args), 60s);
}

/// Replaces the value of `option` in `args`.
std::vector<std::string>
with(std::vector<std::string> args, const std::string& option, const std::string& value)
{
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == option)
            args[i + 1] = value;
    return args;
}

std::string
write_private_file(const std::filesystem::path& path, const std::string& content, mode_t mode)
{
    std::ofstream(path) << content;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    return path.string();
}

/// Settings that pass every check: the shared parts, this test's Kafka and REST sink,
/// credentials in a private file, a state directory not created yet.
good_settings settings_for(shared_parts& p,
                           const ts::mock_kafka& kafka,
                           const ts::http_sink& rest,
                           const ts::temp_dir& work)
{
    return {
        p.dockerd.host(),
        p.registry.address(),
        write_private_file(work / "auth.json", R"({"username": "ci", "password": "s3cret"})", 0600),
        kafka.bootstraps(),
        kafka.topic(),
        rest.url(),
        (work / "state").string()};
}

TEST_CASE("--check: every check passes against the real parts, and nothing is sent or left behind")
{
    auto* p = parts();
    if (!p)
        return;
    ts::temp_dir work("ci-chk-");
    ts::mock_kafka kafka("cores", 3);
    ts::http_sink rest;
    const auto s = settings_for(*p, kafka, rest, work);

    auto r = run_check(s.args());
    INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.status.describe() == "exit 0");
    auto lines = parse_lines(r.out);
    CHECK(lines.size() == 8);
    for (const char* name : {"docker",
                             "state-dir",
                             "registry-auth",
                             "registry",
                             "registry-dockerd",
                             "kafka",
                             "rest"}) {
        CAPTURE(name);
        REQUIRE(lines.count(name));
        CHECK((lines[name].verdict == "OK" || podman_login_warning(*p, name, lines[name])));
    }
    REQUIRE(lines.count("core_pattern"));
    CHECK(lines["core_pattern"].verdict == expected_core_pattern_verdict());

    // What each line says matches the parts it talked to.
    auto engine =
        p->dockerd.docker({"version", "--format", "{{.Server.Version}}|{{.Server.APIVersion}}"});
    REQUIRE(engine.ok());
    auto bar = engine.out.find('|');
    REQUIRE(bar != std::string::npos);
    auto version = engine.out.substr(0, bar);
    auto api = engine.out.substr(bar + 1);
    while (!api.empty() && (api.back() == '\n' || api.back() == ' '))
        api.pop_back();
    CHECK(lines["docker"].reason.find(p->dockerd.host()) != std::string::npos);
    CHECK(lines["docker"].reason.find("Engine " + version) != std::string::npos);
    CHECK(lines["docker"].reason.find("daemon " + api) != std::string::npos);
    // The engine by name (the one this run started), and its image store as `docker info`
    // shows it: the containerd store by its driver type, else the storage driver.
    const std::string engine_name = p->dockerd.is_podman() ? "Podman Engine" : "Docker Engine";
    CHECK(lines["docker"].reason.find(engine_name + " " + version) != std::string::npos);
    auto info = p->dockerd.docker({"info", "--format", "{{.Driver}}|{{json .DriverStatus}}"});
    REQUIRE(info.ok());
    const auto driver = info.out.substr(0, info.out.find('|'));
    const bool containerd_store =
        info.out.find(R"(["driver-type","io.containerd.snapshotter.v1"])") != std::string::npos;
    const std::string store = containerd_store ? "containerd" : driver;
    CAPTURE(info.out);
    CHECK(lines["docker"].reason.find(", image store " + store + " (") != std::string::npos);
    CHECK(lines["registry"].reason.find("http://" + p->registry.address() + "/v2/") !=
          std::string::npos);
    CHECK(lines["registry-dockerd"].reason.find(p->registry.address()) != std::string::npos);
    CHECK(lines["kafka"].reason.find("'" + kafka.topic() + "' has 3 partition(s)") !=
          std::string::npos);
    CHECK(lines["rest"].reason.find(rest.url()) != std::string::npos);

    // The REST endpoint was reached (OPTIONS) but got no notification.
    auto requests = rest.requests();
    CHECK_FALSE(requests.empty());
    for (const auto& req : requests)
        CHECK(req.method == "OPTIONS");
    // Kafka got no record; the state directory was not created.
    CHECK(kafka.messages().empty());
    CHECK_FALSE(std::filesystem::exists(work / "state"));
}

TEST_CASE_FIXTURE(scene, "--check: each broken setting is a FAIL line naming it, and exit 1")
{
    if (!p)
        return;
    const auto s = settings_for(*p, kafka, rest, work);
    std::ofstream(work / "a-file") << "not a directory";
    const auto no_socket = (work / "no-docker.sock").string();
    const auto dead_registry = "127.0.0.1:" + std::to_string(ts::free_port());
    const auto dead_broker = "127.0.0.1:" + std::to_string(ts::free_port());
    const auto dead_rest = "http://127.0.0.1:" + std::to_string(ts::free_port()) + "/notify";

    struct broken {
        const char* what;
        std::string option, value;
        std::set<std::string> failing;  ///< the checks that must fail, every other one passes
        std::string check;              ///< the line that must name the problem
        std::vector<std::string> says;  ///< what that line contains
    };
    const broken cases[] = {
        {"a docker socket that does not exist",
         "--docker-host",
         "unix://" + no_socket,
         {"docker", "registry-dockerd"},
         "docker",
         {no_socket, "no socket"}},
        {"a registry port where nothing listens",
         "--registry",
         dead_registry,
         {"registry", "registry-dockerd"},
         "registry",
         {dead_registry, "refused"}},
        {"dockerd cannot reach that registry either",
         "--registry",
         dead_registry,
         {"registry", "registry-dockerd"},
         "registry-dockerd",
         {dead_registry, "connection refused"}},
        {"a Kafka broker on a dead port",
         "--kafka-brokers",
         dead_broker,
         {"kafka"},
         "kafka",
         {dead_broker, "Connection refused"}},
        {"a Kafka topic that does not exist",
         "--kafka-topic",
         "ci-no-such-topic",
         {"kafka"},
         "kafka",
         {"'ci-no-such-topic' does not exist"}},
        {"a REST URL on a dead port",
         "--rest-url",
         dead_rest,
         {"rest"},
         "rest",
         {dead_rest, "refused"}},
        {"a state directory that is a file",
         "--state-dir",
         (work / "a-file").string(),
         {"state-dir"},
         "state-dir",
         {"a-file", "not a directory"}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        auto r = run_check(with(s.args(), c.option, c.value));
        INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
        REQUIRE_FALSE(r.timed_out);
        CHECK(r.status.describe() == "exit 1");
        auto lines = parse_lines(r.out);
        CHECK(lines.size() == 8);
        for (const auto& [name, line] : lines) {
            CAPTURE(name);
            if (c.failing.count(name))
                CHECK(line.verdict == "FAIL");
            else if (name != "core_pattern")
                CHECK((line.verdict == "OK" || podman_login_warning(*p, name, line)));
        }
        REQUIRE(lines.count(c.check));
        for (const auto& part : c.says)
            CHECK_MESSAGE(
                contains_nocase(lines[c.check].reason, part), "the line does not say ", part);
    }
    // Nothing was sent by any of these runs.
    for (const auto& req : rest.requests())
        CHECK(req.method == "OPTIONS");
    CHECK(kafka.messages().empty());
}

TEST_CASE_FIXTURE(
    scene, "--check: a credentials file readable by others is a configuration error (exit 2)")
{
    if (!p)
        return;
    const auto auth =
        write_private_file(work / "auth.json", R"({"username": "ci", "password": "s3cret"})", 0644);
    auto r = run_check({"--check",
                        "--docker-host",
                        p->dockerd.host(),
                        "--registry",
                        p->registry.address(),
                        "--registry-auth",
                        auth,
                        "--state-dir",
                        (work / "state").string()});
    INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.status.describe() == "exit 2");
    CHECK(r.err.find("--registry-auth") != std::string::npos);
    CHECK(r.err.find("readable by other users") != std::string::npos);
}

TEST_CASE("--check: a Docker socket the user may not open names the socket and the access it needs")
{
    if (::geteuid() != 0) {
        MESSAGE("skipped: needs root to run the check as another user");
        return;
    }
    ts::temp_dir work("ci-chk-");
    REQUIRE(::chmod(work.path().c_str(), 0755) == 0);
    // A listening socket only root may use, as /var/run/docker.sock is for a user outside the
    // docker group.
    const auto sock_path = (work / "docker.sock").string();
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    REQUIRE(::chmod(sock_path.c_str(), 0660) == 0);

    // nobody (65534), with no supplementary group.
    auto r = run_check({"--check", "--docker-host", "unix://" + sock_path, "--state-dir", "/tmp"},
                       {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
    ::close(fd);
    INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.status.describe() == "exit 1");
    auto lines = parse_lines(r.out);
    REQUIRE(lines.count("docker"));
    CHECK(lines["docker"].verdict == "FAIL");
    for (const std::string& part :
         std::vector<std::string>{"permission denied on " + sock_path, "mode 0660", "needs access"})
        CHECK_MESSAGE(
            lines["docker"].reason.find(part) != std::string::npos, "the line does not say ", part);
}

}  // namespace
}  // namespace core_interceptor::integration
