// SPDX-License-Identifier: MIT
#include "support/registry.hpp"

#include "support/missing_part.hpp"
#include "support/net.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <thread>

namespace core_interceptor::test_support {
namespace {

using namespace std::chrono_literals;

constexpr auto start_timeout = 20s;

}  // namespace

registry::registry()
{
    if (find_program("docker-registry").empty())
        throw missing_part("no docker-registry binary (Debian package docker-registry)");
    port_ = free_port();
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
        auto r = http_get(port_, "/v2/", 2s);
        if (r && r->status == 200)
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
    auto r = http_get(port_, "/v2/" + repo + "/tags/list", 10s);
    if (!r)
        throw std::runtime_error("registry " + address() + " did not answer");
    if (r->status == 404)
        return {};
    if (r->status != 200)
        throw std::runtime_error("registry tags/list of " + repo + ": HTTP " +
                                 std::to_string(r->status) + " " + r->body);
    std::vector<std::string> out;
    auto v = boost::json::parse(r->body);
    if (const auto* t = v.as_object().if_contains("tags"); t && t->is_array())
        for (const auto& tag : t->as_array())
            out.emplace_back(tag.as_string());
    return out;
}

}  // namespace core_interceptor::test_support
