// SPDX-License-Identifier: MIT
// --check: the words and verdicts of every check, without a peer.
#include "check/check.hpp"
#include "check/verdicts.hpp"
#include "domain/registry_auth.hpp"
#include "toolbox.hpp"

#include <doctest/doctest.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/json/parse.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

using namespace core_interceptor;
using namespace core_interceptor::check;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& text, std::string_view part)
{
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("check: one line per check, verdict in a column, no line break")
{
    CHECK(format({"docker", verdict::ok, "unix:///run/docker.sock, Engine 20.10.24, API 1.41"}) ==
          "OK   docker: unix:///run/docker.sock, Engine 20.10.24, API 1.41");
    CHECK(format({"core_pattern", verdict::warn, "piped"}) == "WARN core_pattern: piped");
    CHECK(format({"rest", verdict::fail, "refused\nby peer\n"}) == "FAIL rest: refused by peer");
}

TEST_CASE("check: exit 1 only when a check failed; warnings pass")
{
    std::vector<outcome> all_ok{{"a", verdict::ok, ""}, {"b", verdict::warn, ""}};
    CHECK(exit_status(all_ok) == 0);
    all_ok.push_back({"c", verdict::fail, ""});
    CHECK(exit_status(all_ok) == 1);
    CHECK(exit_status(std::vector<outcome>{}) == 0);
}

TEST_CASE("check: docker verdict from the versions")
{
    engine_version v{"20.10.24", {1, 41}, domain::api_version{1, 12}};
    auto ok = docker_outcome("unix:///run/docker.sock", v);
    CHECK(ok.v == verdict::ok);
    CHECK(ok.name == "docker");
    CHECK(has(ok.reason, "unix:///run/docker.sock, Docker Engine 20.10.24, API 1.41"));
    CHECK(has(ok.reason, "ours 1.47, daemon 1.41, minimum 1.12"));

    // The engine by name, and the image store after the API version.
    engine_version podman{"4.3.1", {1, 41}, domain::api_version{1, 24}};
    podman.family = domain::engine_family::podman;
    auto pm = docker_outcome("unix:///run/podman/podman.sock", podman, "overlay");
    CHECK(pm.v == verdict::ok);
    CHECK(has(pm.reason,
              "unix:///run/podman/podman.sock, Podman Engine 4.3.1, API 1.41, "
              "image store overlay (ours 1.47, daemon 1.41, minimum 1.24)"));
    auto cd =
        docker_outcome("unix:///s", {"28.5.1", {1, 51}, domain::api_version{1, 24}}, "containerd");
    CHECK(has(cd.reason, "Docker Engine 28.5.1, API 1.47, image store containerd"));

    // Engine 29: minimum 1.44, newer than 1.41 but not than ours: the lower of the two.
    auto e29 = docker_outcome("unix:///s", {"29.1.0", {1, 52}, domain::api_version{1, 44}});
    CHECK(e29.v == verdict::ok);
    CHECK(has(e29.reason, "API 1.47"));

    auto future = docker_outcome("unix:///s", {"40.0", {1, 60}, domain::api_version{1, 55}});
    CHECK(future.v == verdict::warn);
    CHECK(has(future.reason, "API 1.55"));

    auto old = docker_outcome("tcp://h:2375", {"1.12.6", {1, 24}, std::nullopt});
    CHECK(old.v == verdict::fail);
    CHECK(has(old.reason, "1.24"));
    CHECK(has(old.reason, "1.25"));
}

TEST_CASE("check: connection failures in an operator's words")
{
    using std::chrono::seconds;
    namespace sys = boost::system;
    const auto refused = failure(sys::errc::make_error_code(sys::errc::connection_refused));
    CHECK(describe_failure(refused, "127.0.0.1:5999", seconds(5)) ==
          "127.0.0.1:5999 refused the connection: "
          "nothing listens there");
    const auto missing = failure(sys::errc::make_error_code(sys::errc::no_such_file_or_directory));
    CHECK(describe_failure(missing, "/run/docker.sock", seconds(5)) ==
          "/run/docker.sock does not exist");
    const auto denied = failure(sys::errc::make_error_code(sys::errc::permission_denied));
    CHECK(has(describe_failure(denied, "/run/docker.sock", seconds(5)),
              "permission denied on /run/docker.sock"));
    CHECK(describe_failure(failure(errc::connect_timeout), "192.0.2.1:443", seconds(5)) ==
          "192.0.2.1:443 did not accept a connection within 5 s");
    CHECK(describe_failure(failure(errc::request_timeout), "h:80", seconds(10)) ==
          "h:80 did not answer within 10 s");
    auto other = describe_failure(
        failure(make_error_code(errc::limit_exceeded), 0, "h:80"), "h:80", seconds(5));
    CHECK(has(other, "h:80: size limit exceeded"));
}

TEST_CASE("check: a TLS failure says the verify reason the exchange found, and only once")
{
    using std::chrono::seconds;
    const auto tls =
        boost::asio::ssl::error::make_error_code(boost::asio::ssl::error::stream_truncated);
    const auto tls_what = tls.message();
    const auto refused = failure(tls, 0, "https://h:443: unable to get local issuer certificate");
    CHECK(describe_failure(refused, "h:443", seconds(5)) ==
          "TLS with h:443 failed: " + tls_what + ": unable to get local issuer certificate");
    CHECK(describe_failure(failure(tls, 0, "https://h:443"), "h:443", seconds(5)) ==
          "TLS with h:443 failed: " + tls_what);
}

TEST_CASE("check: a socket the user may not open says whose it is and what to do")
{
    auto r = socket_access_reason("/var/run/docker.sock", "root", "docker", 0140660, "bob");
    CHECK(has(r, "permission denied on /var/run/docker.sock"));
    CHECK(has(r, "root:docker, mode 0660"));
    CHECK(has(r, "user 'bob' needs access"));
    CHECK(has(r, "group 'docker'"));
    auto root_only = socket_access_reason("/s", "root", "root", 0140600, "bob");
    CHECK_FALSE(has(root_only, "group '"));
}

TEST_CASE("check: core_pattern: a pipe warns (as at start-up), a file name is fine")
{
    auto pipe = core_pattern_outcome(std::string("|/lib/systemd/systemd-coredump %P %u\n"));
    CHECK(pipe.v == verdict::warn);
    CHECK(has(pipe.reason, "systemd-coredump"));
    auto file = core_pattern_outcome(std::string("core\n"));
    CHECK(file.v == verdict::ok);
    CHECK(has(file.reason, "'core'"));
    auto unreadable = core_pattern_outcome(std::nullopt, "Permission denied");
    CHECK(unreadable.v == verdict::warn);
    CHECK(has(unreadable.reason, "Permission denied"));
}

TEST_CASE("check: a loopback registry is asked over http, any other over https")
{
    CHECK(is_loopback_registry("127.0.0.1:5000"));
    CHECK(is_loopback_registry("127.1.2.3"));
    CHECK(is_loopback_registry("localhost:5000"));
    CHECK(is_loopback_registry("LOCALHOST"));
    CHECK(is_loopback_registry("[::1]:5000"));
    CHECK_FALSE(is_loopback_registry("registry.example.com:5000"));
    CHECK_FALSE(is_loopback_registry("127.example.com"));  // a name, not an address
    CHECK_FALSE(is_loopback_registry("192.0.2.1:5000"));
    CHECK(registry_probe_url({"127.0.0.1:5000", "cores"}) == "http://127.0.0.1:5000/v2/");
    CHECK(registry_probe_url({"reg.example.com", ""}) == "https://reg.example.com/v2/");
}

TEST_CASE("check: registry verdict for GET /v2/")
{
    const std::string url = "https://reg.example.com/v2/";
    const std::string basic = "Basic realm=\"Registry\"";
    const std::string bearer = "Bearer realm=\"https://auth.example.com/token\",service=\"reg\"";
    struct row {
        unsigned status;
        const std::string* challenge;
        bool credentials;
        verdict expected;
        const char* says;
    };
    const row rows[] = {
        {200, nullptr, false, verdict::ok, "answered 200"},
        {200, nullptr, true, verdict::ok, "credentials"},
        {401, &basic, false, verdict::fail, "--registry-auth is not given"},
        {401, &bearer, false, verdict::fail, "asks for a login"},
        {401, &basic, true, verdict::fail, "refused the credentials"},
        {401, &bearer, true, verdict::ok, "token login"},
        {404, nullptr, false, verdict::fail, "not a registry"},
        {503, nullptr, true, verdict::fail, "HTTP 503"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.status);
        CAPTURE(r.credentials);
        auto o = registry_outcome(url, r.status, r.challenge, r.credentials);
        CHECK(o.name == "registry");
        CHECK(o.v == r.expected);
        CHECK(has(o.reason, r.says));
        CHECK(has(o.reason, url));
    }
}

TEST_CASE("check: the Docker daemon's login to the registry")
{
    auto ok =
        registry_dockerd_outcome("127.0.0.1:5000", 200, R"({"Status":"Login Succeeded"})", true);
    CHECK(ok.v == verdict::ok);
    CHECK(has(ok.reason, "logged in"));
    auto anon =
        registry_dockerd_outcome("127.0.0.1:5000", 200, R"({"Status":"Login Succeeded"})", false);
    CHECK(anon.v == verdict::ok);
    CHECK(has(anon.reason, "no credentials"));
    auto down = registry_dockerd_outcome(
        "127.0.0.1:5999",
        500,
        R"({"message":"Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused"})",
        false);
    CHECK(down.v == verdict::fail);
    CHECK(has(down.reason, "127.0.0.1:5999"));
    CHECK(has(down.reason, "connection refused"));
    CHECK(has(down.reason, "HTTP 500"));
    auto refused = registry_dockerd_outcome(
        "reg", 401, R"({"message":"unauthorized: incorrect username or password"})", true);
    CHECK(refused.v == verdict::fail);
    CHECK(has(refused.reason, "incorrect username or password"));
}

TEST_CASE("check: POST /auth always names the registry, so dockerd never asks its default one")
{
    auto anonymous = auth_request_body(domain::base64url_encode("{}"), "127.0.0.1:5000");
    REQUIRE(anonymous);
    auto a = boost::json::parse(*anonymous).as_object();
    CHECK(a.at("serveraddress").as_string() == "127.0.0.1:5000");
    CHECK_FALSE(a.contains("username"));

    auto header =
        domain::registry_auth_header(R"({"username":"u","password":"p:w"})", "reg.example.com");
    REQUIRE(header);
    auto with = auth_request_body(*header, "reg.example.com");
    REQUIRE(with);
    auto w = boost::json::parse(*with).as_object();
    CHECK(w.at("username").as_string() == "u");
    CHECK(w.at("password").as_string() == "p:w");
    CHECK(w.at("serveraddress").as_string() == "reg.example.com");

    CHECK_FALSE(auth_request_body("%%%", "reg"));
}

TEST_CASE("check: Basic authorization only for a username and password")
{
    auto header = domain::registry_auth_header(R"({"username":"u","password":"p"})", "reg");
    REQUIRE(header);
    auto basic = basic_authorization(*header);
    REQUIRE(basic);
    CHECK(*basic == "Basic " + domain::base64_encode("u:p"));
    CHECK_FALSE(basic_authorization(domain::base64url_encode("{}")));
}

TEST_CASE("check: Kafka verdict")
{
    auto ok =
        kafka_outcome("127.0.0.1:9092", "cores", kafka_answer{{"127.0.0.1:9092"}, true, 3, ""});
    CHECK(ok.v == verdict::ok);
    CHECK(has(ok.reason, "1 broker(s) (127.0.0.1:9092)"));
    CHECK(has(ok.reason, "'cores' has 3 partition(s)"));

    auto missing =
        kafka_outcome("127.0.0.1:9092", "nope", kafka_answer{{"127.0.0.1:9092"}, false, 0, ""});
    CHECK(missing.v == verdict::fail);
    CHECK(has(missing.reason, "topic 'nope' does not exist"));

    auto broken = kafka_outcome(
        "b:9092", "cores", kafka_answer{{"b:9092"}, true, 1, "Broker: Leader not available"});
    CHECK(broken.v == verdict::fail);
    CHECK(has(broken.reason, "Leader not available"));

    auto down = kafka_outcome(
        "127.0.0.1:1",
        "cores",
        result<kafka_answer>(failure(make_error_code(errc::request_timeout),
                                     0,
                                     "Connect to ipv4#127.0.0.1:1 failed: Connection refused")));
    CHECK(down.v == verdict::fail);
    CHECK(has(down.reason, "no broker of 127.0.0.1:1 answered"));
    CHECK(has(down.reason, "Connection refused"));
}

TEST_CASE("check: REST verdict: any HTTP answer is reachable")
{
    for (unsigned status : {200u, 204u, 404u, 405u, 500u}) {
        CAPTURE(status);
        auto o = rest_outcome("http://127.0.0.1:8080/hook", status);
        CHECK(o.v == verdict::ok);
        CHECK(has(o.reason, "HTTP " + std::to_string(status)));
        CHECK(has(o.reason, "no notification sent"));
    }
    auto down = rest_outcome("http://127.0.0.1:1/x",
                             result<unsigned>(failure(make_error_code(errc::connect_timeout),
                                                      0,
                                                      "127.0.0.1:1 refused the connection")));
    CHECK(down.v == verdict::fail);
    CHECK(down.reason == "127.0.0.1:1 refused the connection");
}

TEST_CASE(
    "check: state-dir: writable, missing but creatable, or not a directory; nothing left behind")
{
    test::temp_dir scratch("ci-check");
    const auto& dir = scratch.dir;
    auto ok = state_dir_outcome(dir);
    CHECK(ok.v == verdict::ok);
    CHECK(has(ok.reason, "writable"));

    auto missing = state_dir_outcome(dir / "a" / "b");
    CHECK(missing.v == verdict::ok);
    CHECK(has(missing.reason, "does not exist yet"));

    std::ofstream(dir / "file") << "x";
    auto not_dir = state_dir_outcome(dir / "file");
    CHECK(not_dir.v == verdict::fail);
    CHECK(has(not_dir.reason, "not a directory"));
    auto under_file = state_dir_outcome(dir / "file" / "state");
    CHECK(under_file.v == verdict::fail);

    // Only the file this test made is there: the checks removed what they tried.
    std::size_t entries = std::distance(fs::directory_iterator(dir), fs::directory_iterator());
    CHECK(entries == 1);
    fs::remove_all(dir);
}

TEST_CASE("check: registry-auth: private, readable and with credentials for the registry")
{
    test::temp_dir scratch("ci-check");
    const auto& dir = scratch.dir;
    const auto file = (dir / "auth.json").string();
    std::ofstream(file) << R"({"auths": {"127.0.0.1:5000": {"auth": ")"
                        << domain::base64_encode("u:p") << R"("}}})";

    ::chmod(file.c_str(), 0600);
    auto ok = registry_auth_outcome(file, "127.0.0.1:5000");
    CHECK(ok.v == verdict::ok);
    CHECK(has(ok.reason, "mode 0600"));
    CHECK(has(ok.reason, "credentials for 127.0.0.1:5000"));

    auto other_host = registry_auth_outcome(file, "reg.example.com");
    CHECK(other_host.v == verdict::fail);
    CHECK(has(other_host.reason, "reg.example.com"));

    ::chmod(file.c_str(), 0644);
    auto world = registry_auth_outcome(file, "127.0.0.1:5000");
    CHECK(world.v == verdict::fail);
    CHECK(has(world.reason, "readable by other users"));
    CHECK(has(world.reason, "0644"));

    auto gone = registry_auth_outcome((dir / "none.json").string(), "127.0.0.1:5000");
    CHECK(gone.v == verdict::fail);
    CHECK(has(gone.reason, "cannot read"));
    fs::remove_all(dir);
}

TEST_CASE("check: Podman's HTTPS-only login to a plain-HTTP registry is a warning")
{
    // POST /auth of Podman 4.3.1 for a loopback registry that registries.conf marks insecure.
    const auto fail = registry_dockerd_outcome(
        "127.0.0.1:53699",
        500,
        R"({"cause":"http: server gave HTTP response to HTTPS client","message":"login attempt to 127.0.0.1:53699 failed with status: pinging container registry 127.0.0.1:53699: Get \"https://127.0.0.1:53699/v2/\": http: server gave HTTP response to HTTPS client","response":500})",
        false);
    REQUIRE(fail.v == verdict::fail);
    const auto warn = podman_login_outcome(fail, "127.0.0.1:53699");
    CHECK(warn.v == verdict::warn);
    CHECK(warn.name == "registry-dockerd");
    CHECK(has(warn.reason, "over HTTPS only"));
    CHECK(has(warn.reason, "registries.conf"));
    // Other failures and successes stay what they are.
    const auto denied = registry_dockerd_outcome(
        "r:5000", 500, R"({"message":"unauthorized: incorrect username or password"})", true);
    CHECK(podman_login_outcome(denied, "r:5000").v == verdict::fail);
    CHECK(podman_login_outcome(registry_dockerd_outcome("r:5000", 200, "{}", true), "r:5000").v ==
          verdict::ok);
}
