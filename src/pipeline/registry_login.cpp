// SPDX-License-Identifier: MIT
#include "pipeline/registry_login.hpp"

#include "docker/credential_helper.hpp"

namespace core_interceptor::pipeline {

boost::asio::awaitable<result<std::string>> push_registry_auth(const config& cfg)
{
    if (cfg.credential_helper.empty() || !cfg.registry)
        co_return cfg.registry_auth;
    auto auth = co_await docker::helper_registry_auth(
        cfg.credential_helper, cfg.registry->host, cfg.credential_helper_timeout);
    co_return auth;
}

boost::asio::awaitable<result<std::string>> push_with_login(docker::api& docker,
                                                            const config& cfg,
                                                            std::string_view repository,
                                                            std::string_view tag)
{
    auto auth = co_await push_registry_auth(cfg);
    if (!auth)
        co_return auth.error();
    auto pushed = co_await docker.push(repository, tag, *auth);
    co_return pushed;
}

}  // namespace core_interceptor::pipeline
