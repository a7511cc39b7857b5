// SPDX-License-Identifier: MIT
#include "integration/scene.hpp"

#include <doctest/doctest.h>

#include <utility>

namespace core_interceptor::integration {

scene::scene() : scene("ci-it-") {}

scene::scene(const std::string& work_prefix) : work(work_prefix)
{
    if (p)
        remove_all_containers(*p);
}

scene::~scene() = default;

convergence scene::wait_delivered(const std::vector<container>& dumping)
{
    using namespace std::chrono_literals;
    const auto ids = ids_of(dumping);
    const auto tags = tags_of(dumping);
    return wait_all({{"registry", [&] { return registry_has_all(*p, test_repo, tags); }},
                     {"Kafka", [&] { return sink_complete(kafka_record(kafka), ids, true); }},
                     {"REST", [&] { return sink_complete(rest_record(rest), ids, true); }}},
                    120s);
}

std::vector<std::string> scene::usual_args() const
{
    return daemon_args(*p, kafka.bootstraps(), rest.url());
}

std::vector<std::string> scene::fault_args() const
{
    return fault_daemon_args(*p, kafka.bootstraps(), rest.url(), work / "state");
}

daemon_under_test& scene::watch(std::vector<std::string> args)
{
    return watch(work.path(), std::move(args));
}

daemon_under_test& scene::watch(const std::filesystem::path& dir, std::vector<std::string> args)
{
    auto& d = daemon_.emplace(dir, std::move(args));
    INFO("daemon log:\n", d.log_tail(60));
    start_watching(d);
    return d;
}

void scene::restore_registry_at_end()
{
    registry_back_.emplace(p->registry);
}

void scene::restore_dockerd_at_end()
{
    dockerd_back_.emplace(p->dockerd);
}

}  // namespace core_interceptor::integration
