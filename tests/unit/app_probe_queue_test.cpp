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
    std::vector<std::string> popped;
    std::size_t most_queued = 0;  // the largest size seen right after a push
};

asio::awaitable<void> take(app::probe_queue& q, std::size_t n, record& r)
{
    for (std::size_t i = 0; i < n; ++i) {
        auto e = co_await q.pop();
        if (!e)
            co_return;
        r.popped.push_back(e->ev.id);
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
    co_await (take(q, evs.size(), r) && give(q, std::move(evs), r));
    co_return r;
}

}  // namespace

TEST_CASE("probe queue: a waiting pop is woken, the bound holds, a crash goes first")
{
    const auto r = test::run_coro(burst());
    CHECK(r.most_queued == 2);  // the producer waited for room
    REQUIRE(r.popped.size() == 4);
    // The first pop found the clean exit and the crash queued: the crash went first.
    CHECK(r.popped.front() == "segv");
    auto sorted = r.popped;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<std::string>{"abrt", "clean", "fail", "segv"});
}
