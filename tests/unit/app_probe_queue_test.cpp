// SPDX-License-Identifier: MIT
#include "app/probe_queue.hpp"

#include "run_coro.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace core_interceptor;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

domain::die_event death(std::string id, std::string exit_code)
{
    domain::die_event ev;
    ev.id = std::move(id);
    ev.attributes = {{"exitCode", std::move(exit_code)}};
    return ev;
}

struct record {
    std::vector<std::string> popped;  // by both lanes, in the order popped
    std::vector<std::string> suspect;
    std::vector<std::string> clean;
    std::size_t most_queued = 0;  // the largest size seen right after a push
};

asio::awaitable<void> take(app::probe_queue& q, domain::probe_lane lane, std::size_t n, record& r)
{
    for (std::size_t i = 0; i < n; ++i) {
        auto e = co_await q.pop(lane);
        if (!e)
            co_return;
        r.popped.push_back(e->ev.id);
        (lane == domain::probe_lane::clean ? r.clean : r.suspect).push_back(e->ev.id);
    }
}

asio::awaitable<void> give(app::probe_queue& q, std::vector<domain::die_event> evs, record& r)
{
    for (auto& ev : evs) {
        const bool room = co_await q.wait_for_room();
        if (!room)
            co_return;
        q.push(std::move(ev));
        r.most_queued = std::max(r.most_queued, q.size());
    }
}

asio::awaitable<record> burst()
{
    using namespace asio::experimental::awaitable_operators;
    app::probe_queue q(co_await asio::this_coro::executor, 2, 10s);
    record r;
    std::vector<domain::die_event> evs{
        death("clean", "0"), death("segv", "139"), death("fail", "1"), death("abrt", "134")};
    co_await (take(q, domain::probe_lane::suspect, 3, r) &&
              take(q, domain::probe_lane::clean, 1, r) && give(q, std::move(evs), r));
    co_return r;
}

/// Two lanes waiting on an empty queue: each is woken by a death of its own lane only, and a
/// crash is taken while the clean exits' lane still waits.
asio::awaitable<record> lanes()
{
    using namespace asio::experimental::awaitable_operators;
    app::probe_queue q(co_await asio::this_coro::executor, 8, 10s);
    record r;
    std::vector<domain::die_event> evs{
        death("segv", "139"), death("fail", "1"), death("clean", "0")};
    co_await (take(q, domain::probe_lane::clean, 1, r) &&
              take(q, domain::probe_lane::suspect, 2, r) && give(q, std::move(evs), r));
    co_return r;
}

}  // namespace

TEST_CASE("probe queue: a waiting pop is woken, the bound holds, a crash goes first")
{
    const auto r = test::run_coro(burst());
    CHECK(r.most_queued == 2);  // the producer waited for room
    REQUIRE(r.popped.size() == 4);
    // The failures' lane found the crash and the failure queued: the crash went first.
    REQUIRE(r.suspect.size() == 3);
    CHECK(r.suspect.front() == "segv");
    CHECK(r.clean == std::vector<std::string>{"clean"});
    auto sorted = r.popped;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<std::string>{"abrt", "clean", "fail", "segv"});
}

TEST_CASE("probe queue: each lane takes its own deaths; a crash never waits for clean exits")
{
    const auto r = test::run_coro(lanes());
    CHECK(r.suspect == std::vector<std::string>{"segv", "fail"});
    CHECK(r.clean == std::vector<std::string>{"clean"});
    // The crash's lane was woken by the crash itself, before the clean exit came.
    REQUIRE(r.popped.size() == 3);
    CHECK(r.popped.front() == "segv");
}
