// SPDX-License-Identifier: MIT
// A remote Engine over TLS (--docker-tls-verify, certificates the test makes) and registry
// credentials as the docker CLI finds them (auths, credsStore, credHelpers) against a
// docker-registry with an htpasswd login behind TLS. Parts of these tests' own: a private
// dockerd with a `tcp://127.0.0.1:PORT --tlsverify` listener and the registry among its
// insecure registries, and that registry.
#include "harness.hpp"

#include "support/http_sink.hpp"
#include "support/net.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto run_timeout = 180s;
const std::string user = "ci-pusher";
const std::string password = "pw-7f3a-right";
const std::string wrong_password = "pw-wrong-9c1d";

/// A directory as DOCKER_CERT_PATH holds it: ca.pem, and cert.pem and key.pem when given.
fs::path
cert_dir(const fs::path& dir, const fs::path& ca, const fs::path& cert, const fs::path& key)
{
    fs::create_directories(dir);
    fs::copy_file(ca, dir / "ca.pem", fs::copy_options::overwrite_existing);
    if (!cert.empty())
        fs::copy_file(cert, dir / "cert.pem", fs::copy_options::overwrite_existing);
    if (!key.empty()) {
        fs::copy_file(key, dir / "key.pem", fs::copy_options::overwrite_existing);
        fs::permissions(dir / "key.pem", fs::perms::owner_read | fs::perms::owner_write);
    }
    return dir;
}

fs::path made(const fs::path& dir)
{
    fs::create_directories(dir);
    return dir;
}

/// The parts of this file, started once: certificates, the TLS dockerd and the registry.
struct remote_parts {
    ts::temp_dir dir{"ci-remote-"};
    ts::test_pki pki{made(dir.path() / "pki")};
    ts::test_pki other_pki{
        made(dir.path() / "other-pki")};  // a CA and client the Engine trusts not
    unsigned short engine_port = ts::free_port();
    unsigned short registry_port = ts::free_port();
    std::unique_ptr<shared_parts> parts;
    fs::path good, wrong_client, wrong_ca, no_client;

    remote_parts()
    {
        ts::dockerd_options d;
        d.extra_args = {"--host",
                        "tcp://127.0.0.1:" + std::to_string(engine_port),
                        "--tlsverify",
                        "--tlscacert",
                        pki.ca_cert.string(),
                        "--tlscert",
                        pki.server_cert.string(),
                        "--tlskey",
                        pki.server_key.string(),
                        "--insecure-registry",
                        "127.0.0.1:" + std::to_string(registry_port)};
        ts::registry_options r;
        r.tls_cert = pki.server_cert;
        r.tls_key = pki.server_key;
        r.tls_ca = pki.ca_cert;
        r.user = user;
        r.password = password;
        r.port = registry_port;
        parts = std::make_unique<shared_parts>(std::move(d), std::move(r));
        const auto c = dir.path() / "certs";
        good = cert_dir(c / "good", pki.ca_cert, pki.client_cert, pki.client_key);
        wrong_client =
            cert_dir(c / "wrong-client", pki.ca_cert, other_pki.client_cert, other_pki.client_key);
        wrong_ca = cert_dir(c / "wrong-ca", other_pki.ca_cert, pki.client_cert, pki.client_key);
        no_client = cert_dir(c / "no-client", pki.ca_cert, {}, {});
    }

    std::string engine_url() const { return "tcp://127.0.0.1:" + std::to_string(engine_port); }
    std::string registry() const { return parts->registry.address(); }
};

/// The parts, or nullptr after a MESSAGE (a failure when parts are required).
remote_parts* remote()
{
    static std::unique_ptr<remote_parts> r;
    static std::string why;
    if (!r && why.empty()) {
        try {
            r = std::make_unique<remote_parts>();
        } catch (const ts::missing_part& e) {
            why = e.what();
        }
    }
    if (!r) {
        if (parts_required())
            FAIL("a part of the remote Engine tests is missing: ", why);
        MESSAGE("skipped: ", why);
    }
    return r.get();
}

std::vector<std::string> tls_engine_args(const remote_parts& r, const fs::path& certs)
{
    return {"--docker-host",
            r.engine_url(),
            "--docker-tls-verify",
            "--docker-cert-path",
            certs.string()};
}

/// `a` with `more` after it.
std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more)
{
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

/// The REST sink at `rest_url` and the options every crash handled here runs with.
std::vector<std::string> rest_args(const std::string& rest_url)
{
    return {
        "--rest-url", rest_url, "--hostname", "testhost", "-v", "1", "--max-per-signature", "0"};
}

/// The TLS Engine with the good certificates, the registry with the login in `auth`, the REST
/// sink at `rest_url` and the state in `state`.
std::vector<std::string> tls_daemon_args(const remote_parts& r,
                                         const fs::path& auth,
                                         const std::string& rest_url,
                                         const fs::path& state)
{
    return with(with(tls_engine_args(r, r.good),
                     {"--registry", r.registry(), "--registry-auth", auth.string()}),
                with(rest_args(rest_url), {"--state-dir", state.string()}));
}

/// The dockerd of `p` (no TLS), the registry `host` with the docker config `cfg`, the state
/// in `dir`/state.
std::vector<std::string>
config_args(shared_parts& p, const std::string& host, const fs::path& cfg, const fs::path& dir)
{
    return {"--docker-host",
            p.dockerd.host(),
            "--registry",
            host,
            "--registry-auth",
            cfg.string(),
            "--state-dir",
            (dir / "state").string()};
}

/// Whether the image of `c` is in the registry of `p`.
bool in_registry(shared_parts& p, const container& c)
{
    auto tags = p.registry.tags(test_repo);
    return std::find(tags.begin(), tags.end(), c.tag()) != tags.end();
}

/// `core_interceptor ARGS` to its end, with the credential helper of the tests on PATH.
ts::run_result run_daemon(std::vector<std::string> args, const fs::path& credentials = {})
{
    args.insert(args.begin(), daemon_binary().string());
    const char* source = std::getenv("CORE_INTERCEPTOR_SOURCE_ROOT");
    REQUIRE_MESSAGE(source != nullptr, "CORE_INTERCEPTOR_SOURCE_ROOT is not set");
    const char* path = std::getenv("PATH");
    std::vector<std::pair<std::string, std::string>> env{
        {"PATH", std::string(source) + "/tests/scripts:" + (path ? path : "/usr/bin:/bin")},
        {"TEST_CREDENTIALS_FILE", credentials.string()}};
    return ts::run(std::move(args), run_timeout, std::move(env));
}

/// The line of `--check` for `name` ("OK   docker: ..."), or "".
std::string check_line(const ts::run_result& r, const std::string& name)
{
    for (const auto& line : lines_of(r.out))
        if (line.find(" " + name + ": ") != std::string::npos && line.find(name) <= 6)
            return line;
    return {};
}

/// A container that crashed leaving a core, on `p`'s dockerd.
container crashed(shared_parts& p, const std::string& what)
{
    auto c = start_container(p, {"core", crash_with_core(), 139, "core"}, unique_name(what));
    wait_exited(p, {c});
    REQUIRE_MESSAGE(has_file(p, c.name, "/tmp/core"), c.name, " left no /tmp/core");
    return c;
}

/// A file only its owner reads, with `text`.
fs::path private_file(const fs::path& path, const std::string& text)
{
    std::ofstream(path) << text;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    return path;
}

std::string auths_config(const std::string& host, const std::string& pw)
{
    // base64 of user:pw, from the openssl command
    auto r = ts::run({"sh", "-c", "printf %s \"$0\" | openssl base64 -A", user + ":" + pw}, 30s);
    REQUIRE(r.ok());
    return R"({"auths": {")" + host + R"(": {"auth": ")" + trim(r.out) + R"("}}})";
}

/// The helper's answer file for `host`.
fs::path helper_answer(const fs::path& path, const std::string& host, const std::string& pw)
{
    return private_file(path,
                        host + "\n" + R"({"ServerURL": ")" + host + R"(", "Username": ")" + user +
                            R"(", "Secret": ")" + pw + "\"}\n");
}

}  // namespace

TEST_CASE("remote Engine over TLS: a crash is pushed and announced; refused certificates give "
          "one line")
{
    const auto bin = daemon_binary();
    auto* r = remote();
    if (!r)
        return;
    auto& p = *r->parts;
    ts::temp_dir work("ci-tls-engine-");
    const auto auth =
        private_file(work.path() / "auth.json", auths_config(r->registry(), password));

    // --check through the TLS listener: the Engine and the registry login through it.
    auto check = run_daemon(with(tls_engine_args(*r, r->good),
                                 {"--registry",
                                  r->registry(),
                                  "--registry-auth",
                                  auth.string(),
                                  "--state-dir",
                                  (work.path() / "state").string(),
                                  "--check"}));
    INFO("--check:\n", check.out, check.err);
    CHECK(check_line(check, "docker").starts_with("OK"));
    CHECK(check_line(check, "docker").find("127.0.0.1:" + std::to_string(r->engine_port)) !=
          std::string::npos);
    CHECK(check_line(check, "registry-dockerd").starts_with("OK"));
    CHECK(check_line(check, "docker-tls").empty());  // loopback, and TLS anyway

    // A real crash, committed, pushed and announced through the TLS Engine.
    ts::http_sink rest;
    const auto c = crashed(p, "tls-engine");
    auto run = run_daemon(
        with(tls_daemon_args(*r, auth, rest.url(), work.path() / "state"), {"--process", c.name}));
    INFO("--process:\n", run.out, run.err);
    REQUIRE_FALSE(run.timed_out);
    CHECK(run.status.describe() == "exit 0");
    CHECK(run.out.find("dump pushed") != std::string::npos);
    CHECK(in_registry(p, c));
    CHECK(rest.wait_for(1, 60s));
    check_sink("REST", rest_record(rest), {c.id}, true);
    CHECK(run.err.find(password) == std::string::npos);

    // Watching: the event stream through TLS too, and the death it streams handled.
    {
        ts::http_sink watched_rest;
        daemon_under_test d(
            work.path(),
            tls_daemon_args(*r, auth, watched_rest.url(), work.path() / "watch-state"));
        start_watching(d);
        const auto w = crashed(p, "tls-watch");
        CHECK_MESSAGE(watched_rest.wait_for(1, 90s), d.log_tail());
        check_sink("REST (watching)", rest_record(watched_rest), {w.id}, true);
        stop_cleanly(d);
        CHECK(d.log().find(password) == std::string::npos);
    }

    // A client certificate of another CA: the Engine refuses it, one line names the endpoint.
    for (const auto& [what, certs, words] :
         std::vector<std::tuple<std::string, fs::path, std::string>>{
             {"client certificate of another CA", r->wrong_client, "certificate"},
             {"Engine certificate of an unknown CA", r->wrong_ca, "certificate verify failed"}}) {
        auto w = run_daemon(with(tls_engine_args(*r, certs),
                                 {"--state-dir", (work.path() / "state2").string(), "--check"}));
        INFO(what, ":\n", w.out, w.err);
        const auto line = check_line(w, "docker");
        CHECK(line.starts_with("FAIL"));
        CHECK(line.find("127.0.0.1:" + std::to_string(r->engine_port)) != std::string::npos);
        CHECK(contains_nocase(line, words));
        CHECK(w.status.describe() == "exit 1");
    }

    // No client certificate at all: refused at start, the missing file named.
    auto missing = run_daemon(with(tls_engine_args(*r, r->no_client),
                                   {"--state-dir", (work.path() / "state3").string(), "--check"}));
    INFO("no client certificate:\n", missing.out, missing.err);
    CHECK(missing.status.describe() == "exit 2");
    CHECK(missing.err.find((r->no_client / "cert.pem").string()) != std::string::npos);
    CHECK(lines_of(missing.err).size() == 1);
}

TEST_CASE("registry credentials: auths, credsStore and credHelpers push; wrong ones keep the "
          "image and name the registry")
{
    auto* r = remote();
    if (!r)
        return;
    auto& p = *r->parts;
    ts::temp_dir work("ci-creds-");
    const std::string host = r->registry();
    const auto right_answer = helper_answer(work.path() / "right-answer", host, password);
    const auto wrong_answer = helper_answer(work.path() / "wrong-answer", host, wrong_password);

    struct way {
        std::string what;
        std::string config;
        fs::path answer;
        bool pushes;
    };
    const std::vector<way> ways{
        {"auths", auths_config(host, password), {}, true},
        {"credsStore",
         R"({"auths": {")" + host + R"(": {}}, "credsStore": "test"})",
         right_answer,
         true},
        {"credHelpers", R"({"credHelpers": {")" + host + R"(": "test"}})", right_answer, true},
        {"wrong auths", auths_config(host, wrong_password), {}, false},
        {"wrong helper answer",
         R"({"credHelpers": {")" + host + R"(": "test"}})",
         wrong_answer,
         false},
    };
    int n = 0;
    for (const auto& w : ways) {
        CAPTURE(w.what);
        const auto dir = work.path() / std::to_string(++n);
        fs::create_directories(dir);
        const auto cfg = private_file(dir / "config.json", w.config);
        const auto common = config_args(p, host, cfg, dir);

        auto check = run_daemon(with(common, {"--check"}), w.answer);
        INFO("--check:\n", check.out, check.err);
        const auto login = check_line(check, "registry-dockerd");
        CHECK(login.starts_with(w.pushes ? "OK" : "FAIL"));
        if (!w.pushes)
            CHECK(login.find(host) != std::string::npos);
        CHECK(check_line(check, "registry-auth").starts_with("OK"));

        ts::http_sink rest;
        const auto c = crashed(p, "creds");
        auto run = run_daemon(
            with(common,
                 with(rest_args(rest.url()), {"--push-retry-window", "0", "--process", c.name})),
            w.answer);
        INFO("--process:\n", run.out, run.err);
        REQUIRE_FALSE(run.timed_out);
        CHECK(run.err.find(password) == std::string::npos);
        CHECK(run.err.find(wrong_password) == std::string::npos);
        CHECK(in_registry(p, c) == w.pushes);
        CHECK(rest.wait_for(1, 60s));
        check_sink("REST", rest_record(rest), {c.id}, w.pushes);
        if (!w.pushes) {
            const auto last = rest_record(rest).last;
            REQUIRE(last.size() == 1);
            CHECK(last.begin()->second.at("pushed") == boost::json::value(false));
            CHECK_FALSE(local_images_tagged(p, c.tag()).empty());  // kept locally
            bool named = false;
            for (const auto& line : lines_of(run.err + run.out))
                named = named || (line.find("push") != std::string::npos &&
                                  line.find(host) != std::string::npos);
            CHECK_MESSAGE(named, (std::string("no error line names the registry ") + host));
        }
    }

    // A helper that is not on PATH: --check names it and the registry.
    const auto dir = work.path() / "absent";
    fs::create_directories(dir);
    const auto cfg = private_file(dir / "config.json", R"({"credsStore": "absent-helper"})");
    auto check = run_daemon(with(config_args(p, host, cfg, dir), {"--check"}));
    INFO("--check:\n", check.out, check.err);
    const auto login = check_line(check, "registry-dockerd");
    CHECK(login.starts_with("FAIL"));
    CHECK(login.find("docker-credential-absent-helper") != std::string::npos);
    CHECK(login.find(host) != std::string::npos);
    CHECK(login.find("not found on PATH") != std::string::npos);
}

}  // namespace core_interceptor::integration
