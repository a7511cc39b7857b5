// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>

namespace core_interceptor::docker {

/// Runs `docker-credential-<helper> get` (found on PATH, with the daemon's environment) with
/// `registry_host` on its stdin, as the docker CLI does, and turns its answer into an
/// X-Registry-Auth value (domain::helper_answer_auth). Its stderr goes nowhere, its stdout
/// only to the parser: neither ever reaches a log or an error. Without blocking the loop: the
/// pipes are driven by Asio; past `deadline` the helper is killed. The child is always reaped.
/// Failures name the helper and the registry: not on PATH, killed at the deadline, a non-zero
/// exit, an answer that cannot be used.
boost::asio::awaitable<result<std::string>> helper_registry_auth(
    std::string helper, std::string registry_host, std::chrono::milliseconds deadline);

}  // namespace core_interceptor::docker
