// SPDX-License-Identifier: MIT
#include "app/app.hpp"

#include "app/daemon.hpp"
#include "docker/engine.hpp"
#include "domain/core_pattern.hpp"
#include "log/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

namespace asio = boost::asio;

namespace core_interceptor::app {
namespace {

/// Logs domain::core_pattern_warning() for this machine's kernel.core_pattern, if any.
void check_core_pattern()
{
    if (std::ifstream in("/proc/sys/kernel/core_pattern"); in) {
        std::string pattern((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (auto w = domain::core_pattern_warning(pattern))
            log::warning({{"CORE_PATTERN", pattern}}) << *w;
    }
}

/// Builds the daemon, or says why it cannot start: exit status 2 for a refused setting, 1 for
/// anything else (in `status`).
std::unique_ptr<daemon>
make_daemon(asio::io_context& io, const config::app_config& cfg, int& status)
{
    try {
        return std::make_unique<daemon>(io, cfg);
    }
#if CORE_INTERCEPTOR_HAVE_KAFKA
    catch (const kafka::property_error& e) {
        std::cerr << "core_interceptor: --kafka-property: " << e.property << ": " << e.what()
                  << '\n';
        status = 2;
    }
#endif
    catch (const std::invalid_argument& e) {
        std::cerr << "core_interceptor: " << e.what() << '\n';
        status = 2;
    } catch (const state::directory_in_use& e) {
        std::cerr << "core_interceptor: --state-dir: " << e.what() << '\n';
        status = 2;
    } catch (const std::filesystem::filesystem_error& e) {
        log::error() << "cannot use the state directory " << cfg.state_dir.string() << ": "
                     << e.code().message();
        status = 1;
    } catch (const std::exception& e) {
        log::error() << "cannot start: " << e.what();
        status = 1;
    }
    return nullptr;
}

}  // namespace

int run(const config::app_config& cfg)
{
    check_core_pattern();
    if (auto e = docker::engine_connection_of(cfg.docker))
        if (auto w = docker::clear_text_warning(e->ep))
            log::warning() << *w;
    asio::io_context io(1);
    int status = 0;
    auto d = make_daemon(io, cfg, status);
    if (!d)
        return status;
    if (auto ec = d->listen_metrics()) {
        log::error() << "cannot serve metrics on --metrics-address " << cfg.metrics->host << ":"
                     << cfg.metrics->port << ": " << ec.message();
        return 1;
    }
    // The run's one top-level coroutine, owned here: the loop runs until it and all it
    // started have ended.
    auto top = cfg.process.empty() ? d->serve() : d->process(cfg.process);
    asio::co_spawn(io, std::move(top), [&d](std::exception_ptr e) {
        if (e)
            d->fail(e, "the run");
    });
    io.run();
    return d->exit_status();
}

}  // namespace core_interceptor::app
