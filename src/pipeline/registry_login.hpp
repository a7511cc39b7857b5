// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "docker/api.hpp"
#include "pipeline/config.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace core_interceptor::pipeline {

/// The X-Registry-Auth value of the next push: `cfg.registry_auth`, or what the credential
/// helper answers now (a helper's credentials may change: they are not kept). A helper that
/// fails is a failed push, its message naming the helper and the registry.
boost::asio::awaitable<result<std::string>> push_registry_auth(const config& cfg);

/// Pushes `repository:tag` with the credentials push_registry_auth gives now: the image's
/// digest, or the failure of the helper or of the push.
boost::asio::awaitable<result<std::string>> push_with_login(docker::api& docker,
                                                            const config& cfg,
                                                            std::string_view repository,
                                                            std::string_view tag);

}  // namespace core_interceptor::pipeline
