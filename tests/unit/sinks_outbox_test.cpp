// SPDX-License-Identifier: MIT
#include "sinks/outbox.hpp"

#include "run_coro.hpp"
#include "state/store.hpp"
#include "toolbox.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <filesystem>

using namespace core_interceptor;
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

/// Fails the first `fail_first` deliveries with `status` (0: a transport error).
class flaky_sink final : public sinks::sink {
public:
    int fail_first = 0;
    unsigned status = 500;
    std::vector<std::string> delivered;  // ids, in order
    int attempts = 0;
    std::string_view name() const noexcept override { return "flaky"; }
    asio::awaitable<result<void>> deliver(const sinks::message& m) override
    {
        ++attempts;
        if (fail_first > 0) {
            --fail_first;
            co_return failure(
                make_error_code(status ? errc::delivery_failed : errc::connect_timeout),
                status,
                "nope");
        }
        delivered.push_back(m.id);
        co_return result<void>{};
    }
};

sinks::delivery_config fast(unsigned attempts)
{
    sinks::delivery_config c;
    c.attempts = attempts;
    c.backoff_initial = std::chrono::milliseconds(1);
    c.backoff_max = std::chrono::milliseconds(5);
    return c;
}

}  // namespace

TEST_CASE("outbox: 5xx and transport errors are retried, a 4xx is not")
{
    asio::io_context io;
    SUBCASE("5xx")
    {
        flaky_sink s;
        s.fail_first = 2;
        sinks::outbox box(io.get_executor(), {&s}, nullptr, fast(3));
        CHECK(test::run_coro(box.send({"id-1", "k", "{}"})) == 1);
        CHECK(s.attempts == 3);
    }
    SUBCASE("transport")
    {
        flaky_sink s;
        s.fail_first = 1;
        s.status = 0;
        sinks::outbox box(io.get_executor(), {&s}, nullptr, fast(3));
        CHECK(test::run_coro(box.send({"id-1", "k", "{}"})) == 1);
    }
    SUBCASE("4xx")
    {
        flaky_sink s;
        s.fail_first = 5;
        s.status = 400;
        sinks::outbox box(io.get_executor(), {&s}, nullptr, fast(3));
        CHECK(test::run_coro(box.send({"id-1", "k", "{}"})) == 0);
        CHECK(s.attempts == 1);
        CHECK(box.stats()[0].rejected == 1);
        CHECK(box.spool_size(0) == 0);  // no store: nothing is ever spooled
    }
}

TEST_CASE("outbox: what cannot be delivered is spooled and redelivered oldest first")
{
    test::temp_dir t("ci-outbox");
    state::store store(t.dir);
    flaky_sink s;
    s.fail_first = 3;       // two attempts for the first notification, one more in redelivery
    asio::io_context loop;  // runs the redelivery loop
    sinks::outbox box(loop.get_executor(), {&s}, &store, fast(2));

    auto scenario = [&]() -> asio::awaitable<bool> {
        // Named messages: g++ 12 mishandles temporaries inside co_await expressions.
        const sinks::message m1{"id-1", "k", "{\"n\":1}"}, m2{"id-2", "k", "{\"n\":2}"},
            m3{"id-3", "k", "{}"};
        auto d1 = co_await box.send(m1);
        auto d2 = co_await box.send(m2);
        CHECK(d1 == 0);
        CHECK(d2 == 0);  // queued behind the spool without an attempt, keeping the order
        CHECK(store.spool_size("flaky") == 2);
        CHECK(box.spool_size(0) ==
              2);  // what /metrics shows as core_interceptor_spool_notifications
        auto d3 = co_await box.send(m3);
        CHECK(d3 == 0);
        co_return true;
    };
    REQUIRE(test::run_coro(scenario()));
    CHECK(store.spool_size("flaky") == 3);

    CHECK(s.attempts == 2);
    // The redelivery loop fails once more, backs off, then drains the spool in order.
    asio::cancellation_signal stop;
    asio::co_spawn(
        loop, box.run_redelivery(), asio::bind_cancellation_slot(stop.slot(), asio::detached));
    for (int i = 0; i < 200 && s.delivered.size() < 3; ++i) {
        loop.restart();
        loop.run_for(std::chrono::milliseconds(10));
    }
    stop.emit(asio::cancellation_type::total);
    loop.run_for(std::chrono::milliseconds(100));
    CHECK(s.delivered == std::vector<std::string>{"id-1", "id-2", "id-3"});
    CHECK(store.spool_size("flaky") == 0);
    CHECK(box.spool_size(0) == 0);
}
