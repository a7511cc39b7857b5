// SPDX-License-Identifier: MIT
// core_interceptor: commits and pushes containers that died leaving a core or heap dump.
#include "app/app.hpp"
#include "check/check.hpp"
#include "config/options.hpp"
#include "log/log.hpp"

#include <csignal>
#include <iostream>
#include <variant>

int main(int argc, char* argv[])
{
    using namespace core_interceptor;
    // A closed stdout (`--process … | head`) or peer is an EPIPE error to handle, not a death.
    std::signal(SIGPIPE, SIG_IGN);
    auto parsed = config::parse(argc, argv, std::cout, std::cerr);
    if (auto* status = std::get_if<int>(&parsed))
        return *status;
    const auto& cfg = std::get<config::app_config>(parsed);
    log::init(cfg.logging);
    if (cfg.check)
        return check::run(cfg, std::cout);
    return app::run(cfg);
}
