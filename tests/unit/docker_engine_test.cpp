// SPDX-License-Identifier: MIT
// How the Engine is reached (TLS as the docker CLI: --docker-tls-verify, DOCKER_TLS_VERIFY,
// the cert path), the warning for plain TCP off loopback, and credential helpers run as child
// processes (found on PATH, fed the host, a deadline, never their output in an error).
#include "config/options.hpp"
#include "docker/credential_helper.hpp"
#include "docker/engine.hpp"
#include "domain/registry_auth.hpp"

#include "run_coro.hpp"
#include "toolbox.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace core_interceptor;
using namespace std::chrono_literals;

namespace {

struct outcome {
    std::variant<config::app_config, int> parsed;
    std::string err;
};

outcome parse(std::vector<std::string> args)
{
    args.insert(args.begin(), "core_interceptor");
    std::vector<const char*> argv;
    for (auto& a : args)
        argv.push_back(a.c_str());
    const char* envp[] = {nullptr};
    std::ostringstream out, err;
    auto r = config::parse(static_cast<int>(argv.size()), argv.data(), envp, out, err);
    return {std::move(r), out.str() + err.str()};
}

/// Sets an environment variable for the scope (the variables the docker CLI reads).
struct scoped_env {
    std::string name;
    scoped_env(std::string n, const std::string& value) : name(std::move(n))
    {
        ::setenv(name.c_str(), value.c_str(), 1);
    }
    ~scoped_env() { ::unsetenv(name.c_str()); }
};

/// An executable script `name` in `dir`.
void script(const std::filesystem::path& dir, const std::string& name, const std::string& body)
{
    std::ofstream(dir / name) << "#!/bin/sh\n" << body;
    ::chmod((dir / name).c_str(), 0755);
}

}  // namespace

TEST_CASE("engine: TLS to tcp:// only; a missing cert file is named")
{
    docker::client_config unix_cfg;
    unix_cfg.tls_verify = true;  // as DOCKER_TLS_VERIFY left set for a unix socket: no TLS
    auto u = docker::engine_connection_of(unix_cfg);
    REQUIRE(u.has_value());
    CHECK(u->ep.kind == http::endpoint::transport::unix_socket);
    CHECK(u->tls == nullptr);

    test::temp_dir d("ci-engine");
    docker::client_config tcp;
    tcp.host = "tcp://127.0.0.1:2376";
    tcp.tls_verify = true;
    tcp.cert_path = d.path().string();
    auto t = docker::engine_connection_of(tcp);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().message.find((d.path() / "ca.pem").string()) != std::string::npos);

    tcp.tls_verify = false;
    auto plain = docker::engine_connection_of(tcp);
    REQUIRE(plain.has_value());
    CHECK(plain->ep.kind == http::endpoint::transport::tcp);
}

TEST_CASE("engine: plain TCP off loopback is warned about, loopback and TLS are not")
{
    for (const char* host : {"tcp://docker.example.com:2375",
                             "tcp://engine.example.org:2375",
                             "tcp://remote.example.net:2375"}) {
        CAPTURE(host);
        auto ep = http::parse_docker_host(host);
        REQUIRE(ep.has_value());
        auto w = docker::clear_text_warning(*ep);
        REQUIRE(w.has_value());
        CHECK(w->find("in the clear") != std::string::npos);
        CHECK(w->find("--docker-tls-verify") != std::string::npos);
    }
    for (const char* host : {"tcp://127.0.0.1:2375",
                             "tcp://127.8.0.1:2375",
                             "tcp://[::1]:2375",
                             "tcp://localhost:2375",
                             "unix:///var/run/docker.sock"}) {
        CAPTURE(host);
        auto ep = http::parse_docker_host(host);
        REQUIRE(ep.has_value());
        CHECK_FALSE(docker::clear_text_warning(*ep).has_value());
    }
    auto tls = *http::parse_docker_host("tcp://docker.example.com:2376");
    tls.kind = http::endpoint::transport::tls;
    CHECK_FALSE(docker::clear_text_warning(tls).has_value());
}

TEST_CASE("config: --docker-tls-verify and DOCKER_TLS_VERIFY, as the docker CLI")
{
    test::temp_dir d("ci-tlsopt");
    for (const char* f : {"ca.pem", "cert.pem", "key.pem"})
        std::ofstream(d / f) << "x";
    auto ok = parse({"--docker-host",
                     "tcp://docker.example.com:2376",
                     "--docker-tls-verify",
                     "--docker-cert-path",
                     d.path().string()});
    INFO(ok.err);
    REQUIRE(std::holds_alternative<config::app_config>(ok.parsed));
    CHECK(std::get<config::app_config>(ok.parsed).docker.tls_verify);
    CHECK(std::get<config::app_config>(ok.parsed).docker.cert_path == d.path().string());

    auto on_unix = parse({"--docker-host", "unix:///run/docker.sock", "--docker-tls-verify"});
    REQUIRE(std::holds_alternative<int>(on_unix.parsed));
    CHECK(std::get<int>(on_unix.parsed) == 2);
    CHECK(on_unix.err.find("docker-tls-verify") != std::string::npos);

    std::filesystem::remove(d / "key.pem");
    {
        scoped_env verify("DOCKER_TLS_VERIFY", "1");
        scoped_env path("DOCKER_CERT_PATH", d.path().string());
        auto missing = parse({"--docker-host", "tcp://docker.example.com:2376"});
        REQUIRE(std::holds_alternative<int>(missing.parsed));
        CHECK(std::get<int>(missing.parsed) == 2);
        CHECK(missing.err.find((d / "key.pem").string()) != std::string::npos);
    }
    auto path_alone =
        parse({"--docker-host", "tcp://docker.example.com:2376", "--docker-cert-path", "/x"});
    REQUIRE(std::holds_alternative<int>(path_alone.parsed));
    CHECK(path_alone.err.find("docker-cert-path") != std::string::npos);
}

TEST_CASE("config: credentials from DOCKER_CONFIG's config.json when no --registry-auth names one")
{
    test::temp_dir d("ci-dockercfg");
    scoped_env cfg_dir("DOCKER_CONFIG", d.path().string());
    auto none = parse({"--registry", "reg.example.com"});
    REQUIRE(std::holds_alternative<config::app_config>(none.parsed));
    CHECK(std::get<config::app_config>(none.parsed).pipeline.registry_auth == "e30=");

    std::ofstream(d / "config.json") << R"({"credHelpers": {"reg.example.com": "ecr-login"},
                                            "auths": {"other.example.com": {"auth": "dTpw"}}})";
    ::chmod((d / "config.json").c_str(), 0600);
    auto helper = parse({"--registry", "reg.example.com"});
    INFO(helper.err);
    REQUIRE(std::holds_alternative<config::app_config>(helper.parsed));
    const auto& h = std::get<config::app_config>(helper.parsed);
    CHECK(h.pipeline.credential_helper == "ecr-login");
    CHECK(h.registry_auth_file == (d / "config.json").string());

    // Nothing for this registry in the docker CLI's file: anonymous, as the CLI would push.
    auto other = parse({"--registry", "third.example.com"});
    REQUIRE(std::holds_alternative<config::app_config>(other.parsed));
    CHECK(std::get<config::app_config>(other.parsed).pipeline.registry_auth == "e30=");
    CHECK(std::get<config::app_config>(other.parsed).pipeline.credential_helper.empty());

    // Readable by others: refused like a --registry-auth file, saying where the file came from.
    ::chmod((d / "config.json").c_str(), 0644);
    auto open = parse({"--registry", "reg.example.com"});
    CHECK(std::holds_alternative<int>(open.parsed));
    CHECK(open.err.find("readable by other users") != std::string::npos);
    CHECK(open.err.find("the docker CLI's config.json, read because no --registry-auth") !=
          std::string::npos);
}

TEST_CASE("credential helper: fed the host, answer parsed; failures name helper and registry")
{
    test::temp_dir d("ci-helper");
    script(d.path(),
           "docker-credential-good",
           "read host\n"
           "[ \"$1\" = get ] || exit 3\n"
           "printf '{\"ServerURL\":\"%s\",\"Username\":\"u\",\"Secret\":\"s3cr3t-%s\"}' "
           "\"$host\" \"$host\"\n");
    script(d.path(),
           "docker-credential-fails",
           "echo 'credentials not found: s3cr3t-in-output'; echo 's3cr3t-on-stderr' >&2; exit 1\n");
    script(d.path(), "docker-credential-slow", "exec sleep 30\n");
    const char* old = std::getenv("PATH");
    scoped_env path("PATH", d.path().string() + ":" + (old ? old : "/usr/bin:/bin"));

    auto good = test::run_coro(docker::helper_registry_auth("good", "reg.example.com:5000", 5s));
    REQUIRE(good.has_value());
    auto body = domain::base64_decode(*good);
    REQUIRE(body.has_value());
    CHECK(body->find("\"password\":\"s3cr3t-reg.example.com:5000\"") != std::string::npos);
    CHECK(body->find("\"serveraddress\":\"reg.example.com:5000\"") != std::string::npos);

    auto fails = test::run_coro(docker::helper_registry_auth("fails", "reg.example.com", 5s));
    REQUIRE_FALSE(fails.has_value());
    CHECK(fails.error().message.find("docker-credential-fails") != std::string::npos);
    CHECK(fails.error().message.find("reg.example.com") != std::string::npos);
    CHECK(fails.error().message.find("exit status 1") != std::string::npos);
    CHECK(fails.error().message.find("s3cr3t") == std::string::npos);

    auto missing = test::run_coro(docker::helper_registry_auth("absent", "reg.example.com", 5s));
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().message.find("docker-credential-absent") != std::string::npos);
    CHECK(missing.error().message.find("not found on PATH") != std::string::npos);

    // Past its deadline the helper is killed and reaped; the loop was never blocked.
    auto slow = test::run_coro(docker::helper_registry_auth("slow", "reg.example.com", 300ms));
    REQUIRE_FALSE(slow.has_value());
    CHECK(slow.error().message.find("no answer within 300 ms") != std::string::npos);
    // Every helper was reaped: no child of ours is left, not even a zombie.
    errno = 0;
    CHECK(::waitpid(-1, nullptr, WNOHANG) == -1);
    CHECK(errno == ECHILD);
}
