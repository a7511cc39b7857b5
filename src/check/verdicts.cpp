// SPDX-License-Identifier: MIT
#include "check/verdicts.hpp"

#include "domain/core_pattern.hpp"
#include "domain/engine_answers.hpp"
#include "domain/json_member.hpp"
#include "domain/registry_auth.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace json = boost::json;

namespace core_interceptor::check {
namespace {

outcome make(std::string name, verdict v, std::string reason)
{
    return outcome{std::move(name), v, std::move(reason)};
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(
        out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

/// The decoded JSON object of an X-Registry-Auth value; nullopt when it is not one.
std::optional<json::object> decode_auth(std::string_view registry_auth)
{
    auto text = domain::base64_decode(registry_auth);
    if (!text)
        return std::nullopt;
    error_code ec;
    auto v = json::parse(*text, ec);
    if (ec || !v.is_object())
        return std::nullopt;
    return std::move(v.as_object());
}

std::string seconds(std::chrono::seconds s)
{
    return std::to_string(s.count()) + " s";
}

}  // namespace

outcome failed(std::string name, std::string reason)
{
    return outcome{std::move(name), verdict::fail, std::move(reason)};
}

std::string format(const outcome& o)
{
    const char* tag = o.v == verdict::ok ? "OK  " : o.v == verdict::warn ? "WARN" : "FAIL";
    std::string line = std::string(tag) + " " + o.name + ": " + o.reason;
    std::replace_if(
        line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    while (!line.empty() && line.back() == ' ')
        line.pop_back();
    return line;
}

int exit_status(std::span<const outcome> outcomes)
{
    return std::any_of(outcomes.begin(),
                       outcomes.end(),
                       [](const outcome& o) { return o.v == verdict::fail; })
               ? 1
               : 0;
}

outcome
docker_outcome(std::string_view endpoint, const engine_version& v, std::string_view image_store)
{
    using domain::to_string;
    const auto use = domain::negotiate(domain::our_api_version, v.api, v.min_api);
    std::string versions =
        "ours " + to_string(domain::our_api_version) + ", daemon " + to_string(v.api);
    if (v.min_api)
        versions += ", minimum " + to_string(*v.min_api);
    std::string engine = v.name() + (v.version.empty() ? " (version not given)" : " " + v.version);
    const std::string store =
        image_store.empty() ? std::string() : ", image store " + std::string(image_store);
    if (v.api < oldest_api_version)
        return make("docker",
                    verdict::fail,
                    std::string(endpoint) + ", " + engine + " speaks API " + to_string(v.api) +
                        ", older than " + to_string(oldest_api_version) +
                        ", the oldest supported (" + versions + ")");
    if (v.min_api && *v.min_api > domain::our_api_version)
        return make(
            "docker",
            verdict::warn,
            std::string(endpoint) + ", " + engine + ", API " + to_string(use) + store +
                ": the daemon's minimum is newer than the API this build knows; its answers may "
                "have changed (" +
                versions + ")");
    return make("docker",
                verdict::ok,
                std::string(endpoint) + ", " + engine + ", API " + to_string(use) + store + " (" +
                    versions + ")");
}

std::string describe_failure(const failure& f, std::string_view where, std::chrono::seconds timeout)
{
    namespace sys = boost::system;
    const std::string w(where);
    if (f.code == sys::errc::connection_refused)
        return w + " refused the connection: nothing listens there";
    if (f.code == sys::errc::no_such_file_or_directory)
        return w + " does not exist";
    if (f.code == sys::errc::permission_denied)
        return "permission denied on " + w;
    if (f.code == sys::errc::connection_reset)
        return w + " reset the connection";
    if (f.code == make_error_code(errc::connect_timeout) || f.code == sys::errc::timed_out)
        return w + " did not accept a connection within " + seconds(timeout);
    if (f.code == make_error_code(errc::request_timeout))
        return w + " did not answer within " + seconds(timeout);
    const std::string category = f.code.category().name();
    if (category == "asio.netdb" || category == "asio.addrinfo")
        return "cannot resolve the host of " + w + ": " + f.code.message();
    if (category == "asio.ssl" || category == "asio.ssl.stream") {
        // A certificate that was not accepted: the exchange puts OpenSSL's reason after the
        // endpoint ("https://host:port: unable to get local issuer certificate").
        std::string out = "TLS with " + w + " failed: " + f.code.message();
        if (auto at = f.message.rfind(": "); at != std::string::npos)
            out += ": " + f.message.substr(at + 2);
        return out;
    }
    std::string out = w + ": " + f.code.message();
    if (f.status != 0)
        out += " (HTTP " + std::to_string(f.status) + ")";
    if (!f.message.empty() && f.message != w && w.find(f.message) == std::string::npos)
        out += ": " + f.message;
    return out;
}

std::string socket_access_reason(std::string_view socket_path,
                                 std::string_view owner,
                                 std::string_view group,
                                 unsigned mode,
                                 std::string_view user)
{
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", mode & 07777);
    std::string out = "permission denied on " + std::string(socket_path) + " (" +
                      std::string(owner) + ":" + std::string(group) + ", mode " + octal +
                      "): user '" + std::string(user) + "' needs access to the socket";
    if (!group.empty() && group != "root")
        out +=
            ", e.g. as a member of group '" + std::string(group) + "' (usermod -aG " +
            std::string(group) + " " + std::string(user) +
            ", then log in again; the service unit has SupplementaryGroups=" + std::string(group) +
            ")";
    return out;
}

outcome core_pattern_outcome(const std::optional<std::string>& pattern, std::string_view why)
{
    if (!pattern)
        return make("core_pattern",
                    verdict::warn,
                    "cannot read /proc/sys/kernel/core_pattern" +
                        (why.empty() ? std::string() : ": " + std::string(why)) +
                        "; whether cores land inside containers is unknown");
    if (auto w = domain::core_pattern_warning(*pattern))
        return make("core_pattern", verdict::warn, *w);
    std::string p = *pattern;
    while (!p.empty() && (p.back() == '\n' || p.back() == ' '))
        p.pop_back();
    return make("core_pattern",
                verdict::ok,
                "kernel.core_pattern is '" + p +
                    "': cores are written inside the "
                    "crashing container");
}

bool is_loopback_registry(std::string_view host)
{
    std::string h = lower(host);
    if (h.starts_with('[')) {
        auto end = h.find(']');
        h = end == std::string::npos ? h : h.substr(1, end - 1);
    } else if (auto colon = h.rfind(':'); colon != std::string::npos && h.find(':') == colon) {
        h = h.substr(0, colon);  // host:port (one colon; a bare IPv6 address has several)
    }
    const bool ipv4 = !h.empty() && h.find_first_not_of("0123456789.") == std::string::npos;
    return h == "localhost" || h == "::1" || (ipv4 && h.starts_with("127."));
}

std::string registry_probe_url(const domain::registry_target& r)
{
    return (is_loopback_registry(r.host) ? "http://" : "https://") + r.host + "/v2/";
}

outcome registry_outcome(std::string_view url,
                         unsigned status,
                         const std::string* www_authenticate,
                         bool have_credentials)
{
    const std::string u(url);
    if (status == 200)
        return make("registry",
                    verdict::ok,
                    u + " answered 200" +
                        (have_credentials ? " to the credentials of --registry-auth" : ""));
    if (status == 401) {
        const std::string scheme =
            www_authenticate ? lower(www_authenticate->substr(0, www_authenticate->find(' ')))
                             : std::string();
        if (!have_credentials)
            return make("registry",
                        verdict::fail,
                        u + " asks for a login (401" + (scheme.empty() ? "" : ", " + scheme) +
                            ") and --registry-auth is not given");
        if (scheme == "bearer")
            return make("registry",
                        verdict::ok,
                        u + " answered 401 asking for a token login: reachable; the credentials "
                            "are checked "
                            "through the Docker daemon (registry-dockerd)");
        return make(
            "registry", verdict::fail, u + " refused the credentials of --registry-auth (401)");
    }
    return make("registry",
                verdict::fail,
                u + " answered HTTP " + std::to_string(status) +
                    ": not a registry (GET /v2/ of a registry answers 200 or 401)");
}

outcome registry_dockerd_outcome(std::string_view host,
                                 unsigned status,
                                 std::string_view body,
                                 bool have_credentials)
{
    const std::string h(host);
    if (status == 200)
        return make("registry-dockerd",
                    verdict::ok,
                    "the Docker daemon reached " + h +
                        (have_credentials ? " and logged in with the credentials of --registry-auth"
                                          : " (no credentials given, none asked for)"));
    std::string msg = domain::daemon_message(body);
    return make("registry-dockerd",
                verdict::fail,
                "the Docker daemon cannot log in to " + h + " (POST /auth: HTTP " +
                    std::to_string(status) + ")" + (msg.empty() ? "" : ": " + msg));
}

outcome podman_login_outcome(outcome o, std::string_view host)
{
    if (o.v != verdict::fail ||
        o.reason.find("server gave HTTP response to HTTPS client") == std::string::npos)
        return o;
    return make("registry-dockerd",
                verdict::warn,
                "Podman's POST /auth tries " + std::string(host) +
                    " over HTTPS only, and it speaks plain HTTP: the login is not confirmed; "
                    "pushes work when registries.conf marks it insecure (" +
                    o.reason + ")");
}

result<std::string> auth_request_body(std::string_view registry_auth, std::string_view host)
{
    auto o = decode_auth(registry_auth);
    if (!o)
        return failure(make_error_code(errc::malformed_response),
                       0,
                       "X-Registry-Auth is not base64 of a JSON object");
    (*o)["serveraddress"] = host;
    return json::serialize(*o);
}

std::optional<std::string> basic_authorization(std::string_view registry_auth)
{
    auto o = decode_auth(registry_auth);
    if (!o || !o->contains("username"))
        return std::nullopt;
    return "Basic " + domain::base64_encode(domain::string_member(*o, "username") + ":" +
                                            domain::string_member(*o, "password"));
}

outcome
kafka_outcome(std::string_view brokers, std::string_view topic, const result<kafka_answer>& r)
{
    const std::string b(brokers), t(topic);
    if (!r)
        return make("kafka",
                    verdict::fail,
                    "no broker of " + b + " answered: " +
                        (r.error().message.empty() ? r.error().describe() : r.error().message));
    std::string cluster = std::to_string(r->brokers.size()) + " broker(s)";
    if (!r->brokers.empty()) {
        cluster += " (";
        for (std::size_t i = 0; i < r->brokers.size(); ++i)
            cluster += (i ? ", " : "") + r->brokers[i];
        cluster += ")";
    }
    if (!r->topic_found)
        return make("kafka",
                    verdict::fail,
                    b + " answered with " + cluster + ", but topic '" + t +
                        "' does not exist: create it (or set --kafka-topic)");
    if (!r->topic_error.empty())
        return make("kafka",
                    verdict::fail,
                    b + " answered with " + cluster + ", but topic '" + t +
                        "' reports: " + r->topic_error);
    return make("kafka",
                verdict::ok,
                b + " answered with " + cluster + "; topic '" + t + "' has " +
                    std::to_string(r->partitions) + " partition(s)");
}

std::string redact_url(std::string_view url)
{
    auto parsed = boost::urls::parse_uri_reference(url);
    if (!parsed)
        return "(the --rest-url value)";
    boost::urls::url u(*parsed);
    if (u.has_userinfo())
        u.set_encoded_userinfo("***");
    if (u.has_query())
        u.set_encoded_query("***");
    if (u.has_fragment())
        u.set_encoded_fragment("***");
    return std::string(u.buffer());
}

outcome rest_outcome(std::string_view url, const result<unsigned>& status)
{
    if (!status)
        return make("rest", verdict::fail, status.error().message);
    return make("rest",
                verdict::ok,
                std::string(url) + " is reachable: it answered OPTIONS with HTTP " +
                    std::to_string(*status) + " (no notification sent)");
}

}  // namespace core_interceptor::check
