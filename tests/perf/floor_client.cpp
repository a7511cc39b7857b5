// SPDX-License-Identifier: MIT
// The floor of the burst benchmark: the least a client can do for the same deaths. It reads
// the die events and, at the same concurrency as the daemon, issues only the Engine calls the
// daemon's work needs — GET changes for each death and, when a dump is among them, POST
// commit, the push and DELETE of the image — with the project's Docker client and nothing
// else (no probe, no state, no sinks, no logging).
//
// Usage: floor_client --docker-host URL --registry HOST:PORT [--concurrency N] --dumps N
// Prints "ready" once the event stream is open, then "done <unix ns>" as each dump's image is
// deleted, and exits after N of them.
#include "co/limiter.hpp"
#include "co/task_group.hpp"
#include "docker/client.hpp"
#include "domain/dump.hpp"
#include "domain/event.hpp"
#include "domain/ndjson.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

namespace asio = boost::asio;
using namespace core_interceptor;

namespace {

struct floor_state {
    docker::client& docker;
    co::limiter& slots;
    std::string registry;
    std::vector<std::string> patterns = domain::default_dump_patterns();
    std::size_t dumps_wanted = 0;
    std::size_t dumps_done = 0;
    std::size_t failures = 0;
    asio::io_context& io;
};

std::int64_t now_nano()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

asio::awaitable<void> handle(floor_state& s, std::string id)
{
    struct release {
        co::limiter& l;
        ~release() { l.release(); }
    } guard{s.slots};
    auto changes = co_await s.docker.dump_candidates(id, s.patterns);
    if (!changes) {
        ++s.failures;
        std::cerr << "changes of " << id.substr(0, 12) << ": " << changes.error().describe()
                  << '\n';
        co_return;
    }
    if (changes->candidates.empty())
        co_return;
    docker::commit_request req;
    req.container_id = id;
    req.repository = s.registry + "/floor";
    req.tag = id.substr(0, 12);
    auto image = co_await s.docker.commit(req);
    if (!image) {
        ++s.failures;
        std::cerr << "commit of " << id.substr(0, 12) << ": " << image.error().describe() << '\n';
        co_return;
    }
    auto pushed = co_await s.docker.push(req.repository, req.tag, "e30=");
    if (!pushed) {
        ++s.failures;
        std::cerr << "push of " << id.substr(0, 12) << ": " << pushed.error().describe() << '\n';
    }
    const std::string reference = req.repository + ":" + req.tag;
    auto removed = co_await s.docker.remove_image(reference);
    if (!removed) {
        ++s.failures;
        std::cerr << "delete of " << reference << ": " << removed.error().describe() << '\n';
    }
    std::printf("done %lld\n", static_cast<long long>(now_nano()));
    std::fflush(stdout);
    if (++s.dumps_done == s.dumps_wanted)
        s.io.stop();
}

asio::awaitable<void> watch(floor_state& s, co::task_group& jobs)
{
    auto v = co_await s.docker.negotiate();
    if (!v)
        throw std::runtime_error("cannot reach the Docker daemon: " + v.error().describe());
    auto stream = co_await s.docker.events(0);
    if (!stream)
        throw std::runtime_error("cannot open the event stream: " + stream.error().describe());
    std::printf("ready\n");
    std::fflush(stdout);
    domain::line_framer lines;
    for (;;) {
        auto piece = co_await stream->read_some();
        if (!piece || piece->empty())
            throw std::runtime_error("the event stream ended");
        lines.feed(*piece);
        while (auto line = lines.next()) {
            auto ev = domain::parse_event_line(*line);
            if (!ev || ev->kind != domain::event_kind::die)
                continue;
            if (auto ec = co_await s.slots.acquire())
                co_return;
            jobs.spawn(handle(s, ev->event.id));
        }
    }
}

}  // namespace

int main(int argc, char* argv[])
{
    docker::client_config cfg;
    std::string registry;
    std::size_t concurrency = 4, dumps = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i], v = argv[i + 1];
        if (a == "--docker-host")
            cfg.host = v;
        else if (a == "--registry")
            registry = v;
        else if (a == "--concurrency")
            concurrency = std::stoul(v);
        else if (a == "--dumps")
            dumps = std::stoul(v);
    }
    if (registry.empty() || dumps == 0) {
        std::cerr << "usage: floor_client --docker-host URL --registry HOST:PORT [--concurrency N] "
                     "--dumps N\n";
        return 2;
    }
    asio::io_context io(1);
    docker::client docker(cfg);
    co::limiter slots(io.get_executor(), concurrency);
    floor_state s{docker, slots, registry, domain::default_dump_patterns(), dumps, 0, 0, io};
    std::exception_ptr failed;
    co::task_group jobs(io.get_executor(), [&](std::exception_ptr e) {
        failed = e;
        io.stop();
    });
    asio::co_spawn(io, watch(s, jobs), [&](std::exception_ptr e) {
        if (e) {
            failed = e;
            io.stop();
        }
    });
    io.run();
    if (failed) {
        try {
            std::rethrow_exception(failed);
        } catch (const std::exception& e) {
            std::cerr << "floor_client: " << e.what() << '\n';
        }
        return 1;
    }
    return s.failures == 0 ? 0 : 1;
}
