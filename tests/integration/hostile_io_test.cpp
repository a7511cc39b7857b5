// SPDX-License-Identifier: MIT
// A hostile host (issue 10): a push stream that names no digest, an archive cut short, a
// closed stdout, idle clients holding every metrics slot, secrets in malformed options.
#include "harness.hpp"
#include "scene.hpp"

#include "support/api_recorder.hpp"
#include "support/mock_kafka.hpp"
#include "support/net.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;
namespace json = boost::json;
using namespace std::chrono_literals;

const std::vector<std::pair<std::string, std::string>> no_docker = {
    {"DOCKER_HOST", "unix:///nonexistent/core_interceptor-test/docker.sock"}};

/// daemon_args with the Engine reached through `proxy`.
std::vector<std::string> proxied_args(shared_parts& p,
                                      const ts::api_recorder& proxy,
                                      const ts::mock_kafka& kafka,
                                      const std::filesystem::path& state)
{
    auto a = daemon_args(p, kafka.bootstraps(), "");
    *(std::find(a.begin(), a.end(), "--docker-host") + 1) = proxy.host();
    a.insert(a.end(), {"--state-dir", state.string(), "--retry-max-backoff", "1"});
    return a;
}

/// The notification of `tag` on Kafka, once it came.
std::optional<json::object> note_of(const ts::mock_kafka& kafka, const std::string& tag)
{
    for (const auto& m : kafka.messages())
        if (auto n = parse_notification(m.value); n && string_field(*n, "tag") == tag)
            return n;
    return std::nullopt;
}

/// The position of the first request line containing every needle; -1 when none.
long first_request(const ts::api_recorder& proxy, std::initializer_list<std::string> needles)
{
    const auto lines = proxy.requests();
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (std::all_of(needles.begin(), needles.end(), [&](const std::string& n) {
                return lines[i].find(n) != std::string::npos;
            }))
            return static_cast<long>(i);
    return -1;
}

/// The lines of a push stream without the digest: no aux line, no "<tag>: digest: …" status.
std::string strip_digest(std::string body)
{
    std::istringstream in(body);
    std::string out;
    for (std::string line; std::getline(in, line);)
        if (line.find("\"aux\"") == std::string::npos &&
            line.find(": digest: ") == std::string::npos)
            out += line + "\n";
    return out;
}

}  // namespace

TEST_CASE_FIXTURE(
    scene,
    "hostile: a push stream without a digest: the image is deleted only once the Engine confirms "
    "the reference; unconfirmed, the push fails and the image stays")
{
    if (!p)
        return;
    ts::api_recorder proxy(work / "proxy.sock", p->dockerd.socket_path());
    proxy.add_rule({"POST", "/push", strip_digest});
    auto args = proxied_args(*p, proxy, kafka, work / "state");
    args.insert(args.end(), {"--push-retry-window", "3"});
    daemon_under_test daemon(work.path(), args);
    INFO("daemon log:\n", daemon.log_tail());
    start_watching(daemon);

    // Confirmed by GET /distribution: pushed, announced with the registry's digest, deleted after.
    auto a = start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("nodigest"));
    wait_exited(*p, {a});
    REQUIRE_MESSAGE(kafka.wait_for(1, 60s), "no notification");
    auto na = note_of(kafka, a.tag());
    REQUIRE(na);
    CHECK(na->at("pushed") == true);
    CHECK(string_field(*na, "digest").rfind("sha256:", 0) == 0);
    CHECK(proxy.rewritten() >= 1);
    const auto tags = p->registry.tags(test_repo);
    CHECK(std::find(tags.begin(), tags.end(), a.tag()) != tags.end());
    CHECK(wait_until([&] { return local_images_tagged(*p, a.tag()).empty(); }, 20s));
    const long confirm = first_request(proxy, {"GET ", "/distribution/", a.tag()});
    const long remove = first_request(proxy, {"DELETE ", "/images/", a.tag()});
    INFO("requests:\n", [&] {
        std::string s;
        for (auto& l : proxy.requests())
            s += l + "\n";
        return s;
    }());
    CHECK(confirm >= 0);
    CHECK(remove > confirm);

    // The Engine cannot confirm it either: the push counts as failed, the image stays local.
    proxy.add_rule({"GET",
                    "/distribution/",
                    [](std::string) { return std::string(R"({"message":"manifest unknown"})"); },
                    404});
    auto b = start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("nodigest"));
    wait_exited(*p, {b});
    REQUIRE_MESSAGE(kafka.wait_for(2, 60s), "no second notification");
    auto nb = note_of(kafka, b.tag());
    REQUIRE(nb);
    CHECK(nb->at("pushed") == false);
    CHECK_FALSE(local_images_tagged(*p, b.tag()).empty());
    CHECK(first_request(proxy, {"DELETE ", "/images/", b.tag()}) < 0);
    CHECK(contains_nocase(daemon.log(), "does not confirm"));

    stop_cleanly(daemon);
    remove_all_containers(*p);
    remove_local_images_tagged(*p, a.tag());
    remove_local_images_tagged(*p, b.tag());
}

TEST_CASE_FIXTURE(
    scene,
    "hostile: a volume archive cut before its end-of-archive marker is announced as not copied")
{
    if (!p)
        return;
    const std::string volume = unique_name("cutvol");
    REQUIRE(p->dockerd.docker({"volume", "create", volume}, 60s).ok());
    ts::api_recorder proxy(work / "proxy.sock", p->dockerd.socket_path());
    // Both reads of the directory (probe and copy) end cleanly inside the core, past its magic.
    proxy.add_rule({"GET", "cutdumps", [](std::string body) {
                        return body.substr(0, std::min<std::size_t>(body.size(), 512 * 2 + 4096));
                    }});
    auto args = proxied_args(*p, proxy, kafka, work / "state");
    args.insert(args.end(), {"--dump-path", "/cutdumps"});
    daemon_under_test daemon(work.path(), args);
    INFO("daemon log:\n", daemon.log_tail());
    start_watching(daemon);

    auto c = start_container(*p,
                             {"core in a volume",
                              crash_with_core(),
                              139,
                              "core",
                              {"-v", volume + ":/cutdumps", "-w", "/cutdumps"}},
                             unique_name("cut"));
    wait_exited(*p, {c});
    REQUIRE_MESSAGE(kafka.wait_for(1, 60s), "no notification");
    auto n = note_of(kafka, c.tag());
    REQUIRE(n);
    INFO("notification: ", json::serialize(*n));
    CHECK(proxy.rewritten() >= 2);
    const auto& dumps = n->at("dumps").as_array();
    REQUIRE(dumps.size() == 1);
    CHECK(string_field(dumps[0].as_object(), "original_path") == "/cutdumps/core");
    CHECK(dumps[0].as_object().at("copied") == false);
    CHECK_FALSE(has_file(*p, c.name, "/core_interceptor"));
    CHECK(contains_nocase(daemon.log(), "end-of-archive marker"));

    stop_cleanly(daemon);
    remove_all_containers(*p);
    p->dockerd.docker({"volume", "rm", "-f", volume}, 60s);
    remove_local_images_tagged(*p, c.tag());
}

TEST_CASE("hostile: --process with stdout a closed pipe exits normally (SIGPIPE ignored)")
{
    const auto bin = daemon_binary();
    ts::temp_dir work("ci-pipe-");
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    ::close(fds[0]);  // `| head` that has already exited
    ts::process proc({.argv = {bin.string(),
                               "--process",
                               "gone1",
                               "gone2",
                               "--state-dir",
                               (work / "state").string()},
                      .env = no_docker,
                      .stdout_fd = fds[1]});
    ::close(fds[1]);
    auto status = proc.wait_for(30s);
    REQUIRE(status);
    INFO("status: ", status->describe());
    CHECK(status->exited);
    CHECK(status->code == 1);  // the containers were not handled: no Docker
}

TEST_CASE("hostile: eight idle connections do not lock a scrape out of the metrics server")
{
    const auto bin = daemon_binary();
    ts::temp_dir work("ci-idle-");
    const auto port = ts::free_port();
    daemon_under_test daemon(work.path(),
                             {"--docker-host",
                              "unix:///nonexistent/core_interceptor-test/docker.sock",
                              "--metrics-address",
                              "127.0.0.1:" + std::to_string(port),
                              "-v",
                              "1"});
    INFO("daemon log:\n", daemon.log_tail());
    REQUIRE(wait_until([&] { return ts::http_get(port, "/healthz", 1s).has_value(); }, 10s));
    std::vector<int> idle;
    for (int i = 0; i < 8; ++i) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
        idle.push_back(fd);
    }
    std::this_thread::sleep_for(200ms);  // every one accepted and waiting for its request
    const auto start = std::chrono::steady_clock::now();
    auto r = ts::http_get(port, "/metrics", 2s);
    CHECK(r);
    CHECK((r && r->status == 200));
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    // And the idle ones are closed by the server within the idle timeout (1.5 s).
    std::this_thread::sleep_for(2500ms);
    for (int fd : idle) {
        char c;
        CHECK(::recv(fd, &c, 1, MSG_DONTWAIT) == 0);
        ::close(fd);
    }
    stop_cleanly(daemon, 5s);
}

TEST_CASE("hostile: a malformed secret-bearing option exits 2 without the secret in the output")
{
    const auto bin = daemon_binary();
    ts::temp_dir work("ci-secret-");
    const std::string secret = "Zq9-s3cr3t-never-in-output";
    const std::string state = (work / "state").string();
    std::ofstream(work / "headers") << "Authorization Bearer " << secret << "\n";
    ::chmod((work / "headers").c_str(), 0600);
    std::ofstream(work / "open.conf") << "rest-header = Authorization: Bearer " << secret << "\n";
    ::chmod((work / "open.conf").c_str(), 0644);
    const std::vector<std::vector<std::string>> cases = {
        {"--rest-url", "http://127.0.0.1:1/x", "--rest-header", "Authorization Bearer " + secret},
        {"--kafka-brokers", "127.0.0.1:1", "-X", "sasl.password" + secret},
        {"--rest-url", "ftp://user:" + secret + "@127.0.0.1/x"},
        {"--rest-url", "http://127.0.0.1:1/x", "--rest-header-file", (work / "headers").string()},
        {"--config", (work / "open.conf").string()},
    };
    for (auto args : cases) {
        args.insert(args.begin(), bin.string());
        args.insert(args.end(), {"--state-dir", state});
        auto r = ts::run(args, 10s, no_docker);
        INFO("args: ", args[1], " ", args[2], "\nstderr: ", r.err);
        CHECK(r.status.describe() == "exit 2");
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK((r.out + r.err).find(secret) == std::string::npos);
    }
}

}  // namespace core_interceptor::integration
