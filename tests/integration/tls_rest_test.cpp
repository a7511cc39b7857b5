// SPDX-License-Identifier: MIT
// A REST endpoint behind a private CA, and one that wants a client certificate: certificates the
// test makes with `openssl`, the HTTP sink serving TLS on 127.0.0.1, real crashes, `--check`.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/missing_part.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace core_interceptor::integration {
namespace {

namespace fs = std::filesystem;
namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

// A crash is notified within seconds; three failed attempts and the spool take a few more.
constexpr auto delivery_timeout = 45s;

/// The test's certificates; nothing (after a message) when `openssl` is missing and parts are
/// not required.
std::optional<ts::test_pki> make_pki(const ts::temp_dir& work)
{
    try {
        return ts::test_pki(work.path());
    } catch (const ts::missing_part& e) {
        if (parts_required())
            FAIL("missing part: ", e.what());
        MESSAGE("skipped: ", e.what());
        return std::nullopt;
    }
}

/// A sink that serves the test CA's server certificate; with `mutual`, it requires a client
/// certificate from the same CA.
ts::tls_files sink_tls(const ts::test_pki& pki, bool mutual)
{
    return {pki.server_cert.string(), pki.server_key.string(), mutual ? pki.ca_cert.string() : ""};
}

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& more)
{
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

std::vector<std::string> client_cert_args(const ts::test_pki& pki)
{
    return {"--rest-client-cert",
            pki.client_cert.string(),
            "--rest-client-key",
            pki.client_key.string()};
}

/// A container that crashes with a core, exited.
container crash(shared_parts& p, const std::string& what)
{
    auto c = start_container(p, {"core", crash_with_core(), 139, "core"}, unique_name(what));
    wait_exited(p, {c});
    return c;
}

void clean_up(shared_parts& p, const container& c)
{
    remove_local_images_tagged(p, c.tag());
    remove_all_containers(p);
}

/// Runs a daemon, crashes a container and waits until its notification failed and was spooled:
/// nothing reaches the sink. Gives the container.
container expect_spooled(shared_parts& p,
                         const ts::http_sink& sink,
                         const fs::path& dir,
                         const std::vector<std::string>& args,
                         const std::string& what,
                         const std::string& reason)
{
    daemon_under_test d(dir, args);
    INFO("daemon log:\n", d.log_tail(60));
    start_watching(d);
    const auto c = crash(p, what);
    CHECK_MESSAGE(wait_for_log(d, "spooled for redelivery", delivery_timeout),
                  "the refused notification was not spooled");
    CHECK_MESSAGE(contains_nocase(d.log(), reason), "the log does not say why: ", reason);
    CHECK(sink.requests().empty());
    CHECK(sink.tls_failures() >= 1);
    stop_cleanly(d);
    return c;
}

/// Runs a daemon until `c`'s spooled notification (or a new one) is delivered with "pushed".
void expect_delivered(const ts::http_sink& sink,
                      const fs::path& dir,
                      const std::vector<std::string>& args,
                      const std::string& container_id)
{
    daemon_under_test d(dir, args);
    INFO("daemon log:\n", d.log_tail(60));
    start_watching(d);
    const bool done = wait_until(
        [&] { return sink_complete(rest_record(sink), {container_id}, true); }, delivery_timeout);
    CHECK_MESSAGE(done, "not delivered over https within 45 s: ", describe(rest_record(sink)));
    check_sink("REST", rest_record(sink), {container_id}, true);
    stop_cleanly(d);
}

TEST_CASE_FIXTURE(scene,
                  "tls rest: with --rest-ca-file a crash's notification is delivered over https")
{
    if (!p)
        return;
    const auto pki = make_pki(work);
    if (!pki)
        return;
    ts::http_sink sink(sink_tls(*pki, false));
    REQUIRE(sink.url().starts_with("https://127.0.0.1:"));

    daemon_under_test d(
        work.path(),
        plus(daemon_args(*p, "", sink.url()), {"--rest-ca-file", pki->ca_cert.string()}));
    INFO("daemon log:\n", d.log_tail(60));
    start_watching(d);
    const auto started = std::chrono::system_clock::now();
    const auto c = crash(*p, "tls-a");
    REQUIRE_MESSAGE(sink.wait_for(1, delivery_timeout), "no notification over https within 45 s");
    const auto requests = sink.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].client_subject.empty());
    auto n = parse_notification(requests[0].body);
    REQUIRE(n);
    check_notification(*n,
                       {test_repo,
                        c.tag(),
                        "testhost",
                        "core",
                        true,
                        p->registry.address() + "/" + test_repo + ":" + c.tag()},
                       started);
    CHECK(sink.tls_failures() == 0);
    stop_cleanly(d);
    clean_up(*p, c);
}

TEST_CASE_FIXTURE(
    scene,
    "tls rest: without --rest-ca-file the certificate is refused, with its reason, and the "
    "notification is spooled, then delivered once the CA is given")
{
    if (!p)
        return;
    const auto pki = make_pki(work);
    if (!pki)
        return;
    ts::http_sink sink(sink_tls(*pki, false));
    fs::create_directories(work / "run1");
    fs::create_directories(work / "run2");
    const auto args = fault_daemon_args(*p, "", sink.url(), work / "state");

    const auto c = expect_spooled(
        *p, sink, work / "run1", args, "tls-b", "unable to get local issuer certificate");
    CHECK(contains_nocase(sink.tls_failure_reasons(), "unknown ca"));
    // Nothing lost: the same state directory, now with the CA, delivers the spooled notification.
    expect_delivered(
        sink, work / "run2", plus(args, {"--rest-ca-file", pki->ca_cert.string()}), c.id);
    clean_up(*p, c);
}

TEST_CASE_FIXTURE(
    scene,
    "tls rest: an endpoint that requires a client certificate refuses the daemon without "
    "one and gets the notification with --rest-client-cert/--rest-client-key")
{
    if (!p)
        return;
    const auto pki = make_pki(work);
    if (!pki)
        return;
    ts::http_sink sink(sink_tls(*pki, true));
    fs::create_directories(work / "run1");
    fs::create_directories(work / "run2");
    const auto args = plus(fault_daemon_args(*p, "", sink.url(), work / "state"),
                           {"--rest-ca-file", pki->ca_cert.string()});

    const auto c = expect_spooled(*p, sink, work / "run1", args, "tls-c", "certificate required");
    CHECK(contains_nocase(sink.tls_failure_reasons(), "certificate"));
    expect_delivered(sink, work / "run2", plus(args, client_cert_args(*pki)), c.id);
    const auto requests = sink.requests();
    REQUIRE_FALSE(requests.empty());
    CHECK(requests.back().client_subject == "CN=core_interceptor test client");
    clean_up(*p, c);
}

/// The rest line of a `--check` run, and its exit status.
std::pair<std::string, std::string>
check_rest(shared_parts& p, const ts::temp_dir& work, std::vector<std::string> args)
{
    args.insert(args.begin(),
                {daemon_binary().string(),
                 "--check",
                 "--docker-host",
                 p.dockerd.host(),
                 "--state-dir",
                 (work / "state").string()});
    auto r = ts::run(std::move(args), 60s);
    INFO("stdout: ", r.out, "\nstderr: ", r.err);
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
        if (line.find(" rest: ") != std::string::npos)
            return {r.status.describe(), line};
    FAIL("no rest line in --check's output");
    return {};
}

TEST_CASE_FIXTURE(
    scene,
    "tls rest: --check uses the CA file and the client certificate: OK with them, FAIL naming "
    "the reason without")
{
    if (!p)
        return;
    const auto pki = make_pki(work);
    if (!pki)
        return;
    ts::http_sink sink(sink_tls(*pki, true));
    const std::vector<std::string> url{"--rest-url", sink.url()};
    const auto ca = std::vector<std::string>{"--rest-ca-file", pki->ca_cert.string()};
    const auto garbage = work / "garbage.pem";
    std::ofstream(garbage) << "not a certificate\n";

    // The server sends its CA along (OpenSSL builds its chain from the client CA store), so the
    // reason OpenSSL gives is "self-signed certificate in certificate chain": any reason will do.
    const std::string verify_failed = "certificate verify failed (SSL routines): ";
    struct check_case {
        std::string what;
        std::vector<std::string> args;
        std::string status;
        std::string says;
    };
    const check_case cases[] = {
        {"CA and client certificate",
         plus(plus(url, ca), client_cert_args(*pki)),
         "exit 0",
         "OK   rest: "},
        {"no CA file", plus(url, client_cert_args(*pki)), "exit 1", verify_failed},
        {"another CA",
         plus(plus(url, {"--rest-ca-file", pki->other_ca_cert.string()}), client_cert_args(*pki)),
         "exit 1",
         verify_failed},
        {"no client certificate", plus(url, ca), "exit 1", "certificate required"},
        {"a CA file that holds no certificate",
         plus(url, {"--rest-ca-file", garbage.string()}),
         "exit 1",
         "--rest-ca-file: cannot use '" + garbage.string() + "'"},
    };
    for (const auto& c : cases) {
        INFO("case: ", c.what);
        const auto [status, line] = check_rest(*p, work, c.args);
        INFO("rest line: ", line);
        CHECK(status == c.status);
        CHECK(line.starts_with(c.status == "exit 0" ? "OK" : "FAIL"));
        CHECK(contains_nocase(line, c.says));
    }
    // OPTIONS only, and only the run with a client certificate got as far as HTTP.
    for (const auto& r : sink.requests()) {
        CHECK(r.method == "OPTIONS");
        CHECK(r.client_subject == "CN=core_interceptor test client");
    }
}

TEST_CASE("tls rest: a file OpenSSL cannot use stops the daemon at start: exit 2, one line naming "
          "the option, the file and the reason, never the key")
{
    ts::temp_dir work("ci-tls-e-");
    const auto pki = make_pki(work);
    if (!pki)
        return;
    const auto garbage = work / "garbage.pem";
    std::ofstream(garbage) << "not a certificate\n";
    const auto garbage_key = work / "garbage.key";
    std::ofstream(garbage_key) << "not a key\n";
    fs::permissions(garbage_key, fs::perms::owner_read | fs::perms::owner_write);
    const std::string key_text = ts::read_file(pki->client_key);
    const std::string url = "https://127.0.0.1:9/notify";  // never reached

    struct start_case {
        std::vector<std::string> args;
        std::string option;
        fs::path file;
    };
    const start_case cases[] = {
        {{"--rest-ca-file", garbage.string()}, "--rest-ca-file", garbage},
        {{"--rest-client-cert",
          pki->client_key.string(),
          "--rest-client-key",
          pki->client_key.string()},
         "--rest-client-cert",
         pki->client_key},
        {{"--rest-client-cert",
          pki->client_cert.string(),
          "--rest-client-key",
          pki->server_key.string()},
         "--rest-client-key",
         pki->server_key},
        {{"--rest-client-cert",
          pki->client_cert.string(),
          "--rest-client-key",
          garbage_key.string()},
         "--rest-client-key",
         garbage_key},
    };
    for (const auto& c : cases) {
        auto args = plus(
            {daemon_binary().string(), "--rest-url", url, "--state-dir", (work / "state").string()},
            c.args);
        auto r = ts::run(
            args, 20s, {{"DOCKER_HOST", "unix:///nonexistent/core_interceptor-test/docker.sock"}});
        INFO("option ", c.option, "; stderr: ", r.err);
        CHECK(r.status.describe() == "exit 2");
        CHECK(r.err.starts_with("core_interceptor: " + c.option + ": cannot use '" +
                                c.file.string() + "': "));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.err.find("PRIVATE KEY") == std::string::npos);
        CHECK(r.err.find(key_text.substr(28, 40)) == std::string::npos);
    }
}

}  // namespace
}  // namespace core_interceptor::integration
