// SPDX-License-Identifier: MIT
#include "support/registry.hpp"

#include "support/missing_part.hpp"
#include "support/net.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdlib>
#include <fstream>
#include <thread>

namespace core_interceptor::test_support {
namespace {

using namespace std::chrono_literals;

constexpr auto start_timeout = 20s;

}  // namespace

registry::registry() : registry(registry_options{}) {}

registry::registry(registry_options options) : options_(std::move(options))
{
    if (find_program("docker-registry").empty())
        throw missing_part("no docker-registry binary (Debian package docker-registry)");
    port_ = options_.port ? options_.port : free_port();
    std::ofstream cfg(dir_ / "config.yml");
    cfg << "version: 0.1\n"
           "log:\n"
           "  level: info\n"
           "storage:\n"
           "  filesystem:\n"
           "    rootdirectory: "
        << (dir_ / "storage").string()
        << "\n"
           "  delete:\n"
           "    enabled: true\n"
           "http:\n"
           "  addr: 127.0.0.1:"
        << port_ << "\n";
    if (!options_.tls_cert.empty())
        cfg << "  tls:\n    certificate: " << options_.tls_cert.string()
            << "\n    key: " << options_.tls_key.string() << "\n";
    if (!options_.user.empty()) {
        if (find_program("htpasswd").empty() || find_program("curl").empty())
            throw missing_part("no htpasswd or curl (Debian packages apache2-utils, curl)");
        auto h = run({"htpasswd",
                      "-B",
                      "-b",
                      "-c",
                      (dir_ / "htpasswd").string(),
                      options_.user,
                      options_.password},
                     60s);
        if (!h.status.success())
            throw std::runtime_error("htpasswd -B failed: " + h.err);
        cfg << "auth:\n  htpasswd:\n    realm: ci\n    path: " << (dir_ / "htpasswd").string()
            << "\n";
    }
    cfg.close();
    start();
}

registry::~registry()
{
    stop();
}

std::string registry::address() const
{
    return "127.0.0.1:" + std::to_string(port_);
}

bool registry::running()
{
    return proc_ && proc_->running();
}

std::string registry::log_tail(std::size_t lines) const
{
    return tail_lines(read_file(dir_ / ("registry." + std::to_string(starts_) + ".log")), lines);
}

void registry::start()
{
    if (running())
        return;
    ++starts_;
    process_options o;
    o.argv = {"docker-registry", "serve", (dir_ / "config.yml").string()};
    o.stdout_path = dir_ / ("registry." + std::to_string(starts_) + ".out");
    o.stderr_path = dir_ / ("registry." + std::to_string(starts_) + ".log");
    proc_.emplace(std::move(o));

    const auto deadline = std::chrono::steady_clock::now() + start_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!proc_->running())
            throw missing_part("docker-registry exited at start (" + proc_->status()->describe() +
                               "):\n" + log_tail());
        const auto [status, body] = get("/v2/", 2s);
        if (status == 200)
            return;
        std::this_thread::sleep_for(100ms);
    }
    proc_->stop();
    throw missing_part("docker-registry did not answer on " + address() + ":\n" + log_tail());
}

void registry::stop()
{
    if (proc_)
        proc_->stop(10s);
    proc_.reset();
}

std::vector<std::string> registry::tags(const std::string& repo) const
{
    const auto [status, body] = get("/v2/" + repo + "/tags/list", 10s);
    if (status == 0)
        throw std::runtime_error("registry " + address() + " did not answer");
    if (status == 404)
        return {};
    if (status != 200)
        throw std::runtime_error("registry tags/list of " + repo + ": HTTP " +
                                 std::to_string(status) + " " + body);
    std::vector<std::string> out;
    auto v = boost::json::parse(body);
    if (const auto* t = v.as_object().if_contains("tags"); t && t->is_array())
        for (const auto& tag : t->as_array())
            out.emplace_back(tag.as_string());
    return out;
}

std::pair<unsigned, std::string> registry::get(const std::string& target,
                                               std::chrono::milliseconds timeout) const
{
    if (options_.tls_cert.empty() && options_.user.empty()) {
        auto r = http_get(port_, target, timeout);
        return r ? std::pair{r->status, r->body} : std::pair{0u, std::string()};
    }
    // HTTPS and/or a login: curl, with the registry's CA and the user's password.
    std::vector<std::string> a{"curl", "-s", "-o", "-", "-w", "\n%{http_code}"};
    if (!options_.tls_ca.empty())
        a.insert(a.end(), {"--cacert", options_.tls_ca.string()});
    if (!options_.user.empty())
        a.insert(a.end(), {"-u", options_.user + ":" + options_.password});
    a.push_back((options_.tls_cert.empty() ? "http://" : "https://") + address() + target);
    auto r = run(a, timeout + 5s);
    const auto nl = r.out.rfind('\n');
    if (nl == std::string::npos)
        return {0u, {}};
    const auto code = static_cast<unsigned>(std::atoi(r.out.c_str() + nl + 1));
    return {code, r.out.substr(0, nl)};
}

}  // namespace core_interceptor::test_support
