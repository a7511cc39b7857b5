// SPDX-License-Identifier: MIT
#include "check/check.hpp"

#include "check/kafka_check.hpp"
#include "check/local.hpp"

#include "build_config.hpp"
#include "docker/client.hpp"
#include "docker/credential_helper.hpp"
#include "docker/engine.hpp"
#include "http/client.hpp"
#include "http/endpoint.hpp"
#include "http/tls.hpp"
#include "sinks/rest_sink.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>

namespace asio = boost::asio;

namespace core_interceptor::check {

using detail::user_name;

namespace {

http::limits limits_of(std::chrono::seconds t)
{
    http::limits lim;
    lim.connect_timeout = t;
    lim.timeout = t;
    lim.max_body = 1024 * 1024;  // version, ping, auth and /v2/ answers are small
    return lim;
}

/// Why the Docker daemon could not be asked: a missing socket and a socket the user may not
/// use get the operator's next step.
std::string docker_reason(const failure& f, const http::endpoint& ep)
{
    if (ep.kind == http::endpoint::transport::unix_socket) {
        if (f.code == boost::system::errc::permission_denied) {
            struct stat st {};
            if (::stat(ep.path.c_str(), &st) != 0)
                return "permission denied on " + ep.path + ": user '" + user_name() +
                       "' cannot reach the socket (a directory on its path is not searchable)";
            const passwd* pw = ::getpwuid(st.st_uid);
            const group* gr = ::getgrgid(st.st_gid);
            return socket_access_reason(ep.path,
                                        pw ? pw->pw_name : std::to_string(st.st_uid),
                                        gr ? gr->gr_name : std::to_string(st.st_gid),
                                        st.st_mode,
                                        user_name());
        }
        if (f.code == boost::system::errc::no_such_file_or_directory)
            return "no socket at " + ep.path + " (is dockerd running? is --docker-host right?)";
        if (f.code == boost::system::errc::connection_refused)
            return "nothing accepts connections on " + ep.path +
                   " (a stale socket: is dockerd running?)";
    }
    auto reason = describe_failure(f, ep.peer(), check_timeout);
    // The exchange marks a new TLS connection dropped at its first request (client.hpp).
    if (f.message.find("after the TLS handshake") != std::string::npos &&
        reason.find("after the TLS handshake") == std::string::npos)
        reason += " right after the TLS handshake: it may refuse the client certificate of "
                  "--docker-cert-path";
    return reason;
}

/// `GET /version` of the Engine at `e`.
asio::awaitable<result<engine_version>> ask_version(const docker::engine_connection& e)
{
    const auto& ep = e.ep;
    http::request req;
    req.target = "/version";  // unversioned: answered by every Engine
    const auto lim = limits_of(check_timeout);
    auto r = co_await http::exchange(ep, req, lim, e.tls.get());
    if (!r)
        co_return failure(r.error().code, 0, docker_reason(r.error(), ep));
    if (r->status != 200)
        co_return failure(make_error_code(errc::http_status),
                          r->status,
                          ep.describe() + ": GET /version answered HTTP " +
                              std::to_string(r->status) + ": " +
                              docker::api_failure(r->status, r->body).message);
    auto v = parse_engine_version(r->body);
    if (!v)
        co_return failure(v.error().code, 0, ep.describe() + ": " + v.error().describe());
    co_return *v;
}

/// The image store of `GET /info` (domain::parse_image_store), or "unknown (why)": the store
/// is information, not a condition of the check.
asio::awaitable<std::string> ask_image_store(const http::endpoint& ep, std::string prefix)
{
    http::request req;
    req.target = prefix + "/info";
    const auto lim = limits_of(check_timeout);
    auto r = co_await http::exchange(ep, req, lim);
    if (!r)
        co_return "unknown (" + docker_reason(r.error(), ep) + ")";
    if (r->status != 200)
        co_return "unknown (GET /info answered HTTP " + std::to_string(r->status) + ")";
    auto store = domain::parse_image_store(r->body);
    if (!store)
        co_return "unknown (" + store.error().describe() + ")";
    co_return *store;
}

std::string api_prefix(const engine_version& v)
{
    return "/v" + domain::to_string(domain::negotiate(domain::our_api_version, v.api, v.min_api));
}

// --- the checks that talk to a peer -----------------------------------------------------------

/// Socket reachable and usable by this user, versions, and the version in use accepted.
asio::awaitable<outcome> check_docker(docker::client_config cfg)
{
    auto e = docker::engine_connection_of(cfg);
    if (!e)
        co_return failed("docker", e.error().describe());
    const auto* ep = &e->ep;
    auto v = co_await ask_version(*e);
    if (!v)
        co_return failed("docker", v.error().message);
    auto o = docker_outcome(ep->describe(), *v);
    if (o.v == verdict::fail)
        co_return o;
    // The daemon must accept the version the jobs will use (SPEC §4a: it refuses versions
    // below its minimum).
    http::request ping;
    ping.target = api_prefix(*v) + "/_ping";
    const auto lim = limits_of(check_timeout);
    auto p = co_await http::exchange(*ep, ping, lim, e->tls.get());
    if (!p)
        co_return failed("docker", docker_reason(p.error(), *ep));
    if (p->status != 200)
        co_return failed("docker",
                         ep->describe() + ": the daemon refuses " + ping.target + " (HTTP " +
                             std::to_string(p->status) +
                             "): " + docker::api_failure(p->status, p->body).message);
    auto store = co_await ask_image_store(*ep, api_prefix(*v));
    co_return docker_outcome(ep->describe(), *v, store);
}

/// The X-Registry-Auth value a push would send now: `registry_auth`, or what the credential
/// helper answers (named in the failure with the registry, never its answer).
asio::awaitable<result<std::string>>
login_auth(std::string registry_auth, std::string helper, std::string registry_host)
{
    if (helper.empty())
        co_return registry_auth;
    auto a = co_await docker::helper_registry_auth(helper, registry_host, check_timeout);
    co_return a;
}

/// `GET /v2/` of the registry at `url` with the credentials when there are some.
asio::awaitable<result<http::response>>
ask_registry(const std::string& url, const std::string& registry_auth, bool verify)
{
    auto ep = http::parse_http_url(url);
    if (!ep)
        co_return failure(ep.error().code, 0, url + ": " + ep.error().describe());
    auto tls =
        ep->kind == http::endpoint::transport::tls ? http::client_tls_context(verify) : nullptr;
    http::request req;
    req.target = ep->target;
    auto basic = basic_authorization(registry_auth);
    if (basic)
        req.headers.push_back({"Authorization", *basic});
    const auto lim = limits_of(check_timeout);
    auto r = co_await http::exchange(*ep, req, lim, tls.get());
    if (!r) {
        std::string reason =
            describe_failure(r.error(), ep->peer(), check_timeout) + " (GET " + url + ")";
        if (std::string_view(r.error().code.category().name()).starts_with("asio.ssl"))
            reason += "; only a loopback registry is asked over plain HTTP here, even when the "
                      "Docker daemon "
                      "has it among its insecure registries (see registry-dockerd)";
        co_return failure(r.error().code, 0, reason);
    }
    co_return std::move(*r);
}

/// `GET /v2/` of the registry, from this host, with the credentials when there are some. A
/// loopback registry that speaks only HTTPS is asked again over HTTPS without verifying its
/// certificate, as the Docker daemon treats it (an insecure registry).
asio::awaitable<outcome> check_registry(domain::registry_target target,
                                        std::string registry_auth,
                                        std::string helper,
                                        bool have_credentials)
{
    auto auth = co_await login_auth(registry_auth, helper, target.host);
    if (!auth)
        co_return failed("registry", auth.error().message);
    auto url = registry_probe_url(target);
    auto r = co_await ask_registry(url, *auth, true);
    if (r && r->status == 400 && url.starts_with("http://") &&
        r->body.find("HTTPS server") != std::string::npos) {
        url = "https://" + url.substr(7);
        auto again = co_await ask_registry(url, *auth, false);
        r = std::move(again);
    }
    if (!r)
        co_return failed("registry", r.error().message);
    co_return registry_outcome(url, r->status, r->header("WWW-Authenticate"), have_credentials);
}

/// The Docker daemon's own login to the registry (`POST /auth`): what a push will do.
asio::awaitable<outcome> check_registry_dockerd(docker::client_config docker_cfg,
                                                std::string registry_host,
                                                std::string registry_auth,
                                                std::string helper,
                                                bool have_credentials)
{
    auto auth = co_await login_auth(registry_auth, helper, registry_host);
    if (!auth)
        co_return failed("registry-dockerd", auth.error().message);
    auto e = docker::engine_connection_of(docker_cfg);
    if (!e)
        co_return failed("registry-dockerd", e.error().describe());
    const auto* ep = &e->ep;
    auto v = co_await ask_version(*e);
    if (!v)
        co_return failed("registry-dockerd", "cannot ask the Docker daemon: " + v.error().message);
    auto body = auth_request_body(*auth, registry_host);
    if (!body)
        co_return failed("registry-dockerd", "--registry-auth: " + body.error().describe());
    http::request req;
    req.method = "POST";
    req.target = api_prefix(*v) + "/auth";
    req.content_type = "application/json";
    req.body = std::move(*body);
    auto lim = limits_of(check_timeout);
    lim.timeout = dockerd_login_timeout;
    auto r = co_await http::exchange(*ep, req, lim, e->tls.get());
    if (!r)
        co_return failed("registry-dockerd",
                         "the Docker daemon did not answer POST /auth for " + registry_host + ": " +
                             describe_failure(r.error(), ep->peer(), dockerd_login_timeout));
    auto o = registry_dockerd_outcome(registry_host, r->status, r->body, have_credentials);
    if (v->family == domain::engine_family::podman)
        co_return podman_login_outcome(std::move(o), registry_host);
    co_return o;
}

/// Connect (and TLS handshake with the daemon's CA file and client certificate, verified unless
/// --rest-insecure) and `OPTIONS` on the URL:
/// any HTTP answer means reachable; nothing is POSTed, so no notification is sent.
asio::awaitable<outcome> check_rest(sinks::rest_config cfg)
{
    const std::string shown = redact_url(cfg.url);
    auto ep = http::parse_http_url(cfg.url);
    if (!ep)
        co_return failed("rest", shown + ": " + ep.error().describe());
    std::unique_ptr<asio::ssl::context> tls;
    if (ep->kind == http::endpoint::transport::tls) {
        try {
            tls = sinks::rest_tls_context(cfg);  // the daemon's own TLS settings
        } catch (const std::invalid_argument& e) {
            co_return failed("rest", e.what());
        }
    }
    http::request req;
    req.method = "OPTIONS";
    req.target = ep->target;
    for (const auto& [k, v] : cfg.headers)
        req.headers.push_back({k, v});
    const auto lim = limits_of(cfg.timeout);
    auto r = co_await http::exchange(*ep, req, lim, tls.get());
    if (!r)
        co_return rest_outcome(
            shown,
            failure(r.error().code,
                    0,
                    describe_failure(r.error(), ep->peer(), cfg.timeout) + " (" + shown + ")"));
    co_return rest_outcome(shown, r->status);
}

/// The longest a run may take: the slowest chain of deadlines, plus a margin.
std::chrono::seconds run_deadline(const config::app_config& cfg)
{
    // The registry login through dockerd: GET /version (connect, answer), then POST /auth.
    std::chrono::seconds longest = 3 * check_timeout + dockerd_login_timeout;
    if (cfg.rest)  // connect, TLS handshake and answer
        longest = std::max(longest, 2 * cfg.rest->timeout);
    return longest + std::chrono::seconds(5);
}

}  // namespace

int run(const config::app_config& cfg, std::ostream& out)
{
    asio::io_context io(1);
    asio::thread_pool pool(1);  // for librdkafka's blocking metadata request
    const auto deadline = run_deadline(cfg);
    const auto unfinished = "did not finish within " + std::to_string(deadline.count()) + " s";
    std::vector<outcome> outcomes;
    outcomes.reserve(8);
    // A check runs as its own coroutine and lands in its slot; slots keep the print order.
    auto spawn = [&](asio::awaitable<outcome> op, const char* name) {
        std::size_t slot = outcomes.size();
        outcomes.push_back(failed(name, unfinished));
        asio::co_spawn(io, std::move(op), [&outcomes, slot](std::exception_ptr e, outcome o) {
            if (!e) {
                outcomes[slot] = std::move(o);
                return;
            }
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                outcomes[slot].reason = std::string("the check itself failed: ") + ex.what();
            } catch (...) {
                outcomes[slot].reason = "the check itself failed";
            }
        });
    };

    spawn(check_docker(cfg.docker), "docker");
    if (auto e = docker::engine_connection_of(cfg.docker))
        if (auto w = docker::clear_text_warning(e->ep))
            outcomes.push_back(outcome{"docker-tls", verdict::warn, *w});
    {
        std::ifstream in("/proc/sys/kernel/core_pattern");
        std::optional<std::string> pattern;
        if (in)
            pattern.emplace((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        outcomes.push_back(core_pattern_outcome(pattern, in ? "" : std::strerror(errno)));
    }
    outcomes.push_back(state_dir_outcome(cfg.state_dir));
    if (cfg.pipeline.registry) {
        const bool have_credentials = !cfg.registry_auth_file.empty();
        if (have_credentials)
            outcomes.push_back(
                registry_auth_outcome(cfg.registry_auth_file, cfg.pipeline.registry->host));
        spawn(check_registry(*cfg.pipeline.registry,
                             cfg.pipeline.registry_auth,
                             cfg.pipeline.credential_helper,
                             have_credentials),
              "registry");
        spawn(check_registry_dockerd(cfg.docker,
                                     cfg.pipeline.registry->host,
                                     cfg.pipeline.registry_auth,
                                     cfg.pipeline.credential_helper,
                                     have_credentials),
              "registry-dockerd");
    }
    if (cfg.kafka) {
#if CORE_INTERCEPTOR_HAVE_KAFKA
        spawn(check_kafka(*cfg.kafka, pool.get_executor()), "kafka");
#else
        outcomes.push_back(
            failed("kafka", "this build has no Kafka support: --kafka-brokers would be ignored"));
#endif
    }
    if (cfg.rest)
        spawn(check_rest(*cfg.rest), "rest");

    // Every exchange has its deadlines, but a host name lookup has none of ours (the resolver's
    // own retries can take much longer) and librdkafka's teardown is its own: past the last
    // deadline, a check still running is reported as such and the process ends without it.
    io.run_for(deadline);
    const bool finished = io.stopped();
    if (finished)
        pool.join();
    for (const auto& o : outcomes)
        out << format(o) << '\n';
    out.flush();
    if (!finished) {
        std::fflush(nullptr);
        std::_Exit(1);
    }
    return exit_status(outcomes);
}

}  // namespace core_interceptor::check
