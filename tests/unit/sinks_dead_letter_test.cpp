// SPDX-License-Identifier: MIT
// Which sink failures are for good (dead letter) and which are retried, Retry-After honoured.
#include "domain/retry_after.hpp"
#include "run_coro.hpp"
#include "sinks/outbox.hpp"
#include "state/store.hpp"
#include "toolbox.hpp"

#if CORE_INTERCEPTOR_TEST_KAFKA
#include "kafka/errors.hpp"

#include <librdkafka/rdkafka.h>
#endif

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <set>

using namespace core_interceptor;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// Refuses the ids in `refuse` with `code`/`status`, answers the rest.
class picky_sink final : public sinks::sink {
public:
    std::map<std::string, failure> refuse;
    std::vector<std::string> delivered;
    int attempts = 0;
    std::string_view name() const noexcept override { return "picky"; }
    asio::awaitable<result<void>> deliver(const sinks::message& m) override
    {
        ++attempts;
        if (auto it = refuse.find(m.id); it != refuse.end())
            co_return it->second;
        delivered.push_back(m.id);
        co_return result<void>{};
    }
};

sinks::delivery_config fast()
{
    sinks::delivery_config c;
    c.attempts = 2;
    c.backoff_initial = 1ms;
    c.backoff_max = 5ms;
    return c;
}

}  // namespace

TEST_CASE("sinks: which failures are retried and which are for good")
{
    const auto http = [](unsigned status) {
        return failure(make_error_code(errc::delivery_failed), status, "");
    };
    CHECK(sinks::retryable(failure(make_error_code(errc::connect_timeout))));
    CHECK(sinks::retryable(http(500)));
    CHECK(sinks::retryable(http(503)));
    CHECK(sinks::retryable(http(408)));
    CHECK(sinks::retryable(http(429)));
    CHECK_FALSE(sinks::retryable(http(400)));
    CHECK_FALSE(sinks::retryable(http(401)));
    CHECK_FALSE(sinks::retryable(http(404)));
    CHECK_FALSE(sinks::retryable(http(413)));
    CHECK_FALSE(sinks::retryable(failure(make_error_code(errc::delivery_refused))));
    CHECK(sinks::retryable(failure(make_error_code(errc::delivery_failed))));  // Kafka: broker away
}

#if CORE_INTERCEPTOR_TEST_KAFKA
TEST_CASE("sinks: Kafka errors no retry cures are permanent")
{
    for (auto e : {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
                   RD_KAFKA_RESP_ERR_INVALID_MSG,
                   RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                   RD_KAFKA_RESP_ERR_INVALID_RECORD,
                   RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
                   RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED}) {
        CAPTURE(rd_kafka_err2name(e));
        CHECK(kafka::permanent_error(e));
    }
    for (auto e : {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
                   RD_KAFKA_RESP_ERR__TRANSPORT,
                   RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
                   RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                   RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                   RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                   RD_KAFKA_RESP_ERR__QUEUE_FULL}) {
        CAPTURE(rd_kafka_err2name(e));
        CHECK_FALSE(kafka::permanent_error(e));
    }
}
#endif

TEST_CASE("sinks: Retry-After in seconds or as an HTTP date")
{
    // 2026-11-29T12:00:00Z
    const auto now = std::chrono::system_clock::from_time_t(1795953600);
    using domain::parse_retry_after;
    CHECK(parse_retry_after("1", now) == 1s);
    CHECK(parse_retry_after(" 120 ", now) == 120s);
    CHECK(parse_retry_after("0", now) == 0s);
    CHECK(parse_retry_after("Sun, 29 Nov 2026 12:00:30 GMT", now) == 30s);
    CHECK(parse_retry_after("Sunday, 29-Nov-26 12:01:00 GMT", now) == 60s);
    CHECK(parse_retry_after("Sun Nov 29 12:00:05 2026", now) == 5s);
    CHECK(parse_retry_after("Sun, 29 Nov 2026 11:00:00 GMT", now) == 0s);  // past: now
    CHECK(parse_retry_after("99999999999999", now) ==
          std::chrono::seconds(999'999'999));  // capped by the caller
    CHECK_FALSE(parse_retry_after("", now));
    CHECK_FALSE(parse_retry_after("-1", now));
    CHECK_FALSE(parse_retry_after("soon", now));
    CHECK_FALSE(parse_retry_after("Sun, 29 Nov 2026 12:00:30", now));
}

TEST_CASE("sinks: the wait before a retry honours Retry-After within --retry-max-backoff")
{
    failure f(make_error_code(errc::delivery_failed), 429, "");
    CHECK(sinks::retry_delay(f, 500ms, 60s) == 500ms);
    f.retry_after = 3;
    CHECK(sinks::retry_delay(f, 500ms, 60s) == 3s);
    f.retry_after = 3600;
    CHECK(sinks::retry_delay(f, 500ms, 60s) == 60s);
}

TEST_CASE("outbox: a notification refused for good goes to the dead letters; the next is delivered")
{
    test::temp_dir t("ci-dead-letter");
    state::store store(t.dir);
    picky_sink s;
    s.refuse.emplace("id-big",
                     failure(make_error_code(errc::delivery_refused), 0, "MSG_SIZE_TOO_LARGE"));
    asio::io_context io;
    sinks::outbox box(io.get_executor(), {&s}, &store, fast());
    const sinks::message big{"id-big", "k", "{\"huge\":1}"}, next{"id-next", "k", "{}"};
    CHECK(test::run_coro(box.send(big)) == 0);
    CHECK(s.attempts == 1);  // never retried
    CHECK(test::run_coro(box.send(next)) == 1);
    CHECK(s.delivered == std::vector<std::string>{"id-next"});
    CHECK(box.stats()[0].rejected == 1);
    CHECK(store.dead_letters() == 1);
    CHECK(test::json_files_in(t.dir / "dead-letter") == 1);
    CHECK(store.spool_size("picky") == 0);
}

TEST_CASE("outbox: 429 is retried after Retry-After, not dropped")
{
    picky_sink s;
    failure busy(make_error_code(errc::delivery_failed), 429, "slow down");
    busy.retry_after = 1;
    s.refuse.emplace("id-1", busy);
    asio::io_context io;
    sinks::outbox box(io.get_executor(), {&s}, nullptr, fast());
    const auto start = std::chrono::steady_clock::now();
    // The sink answers 429 to the first attempt only.
    struct once final : sinks::sink {
        picky_sink& inner;
        explicit once(picky_sink& p) : inner(p) {}
        std::string_view name() const noexcept override { return "once"; }
        asio::awaitable<result<void>> deliver(const sinks::message& m) override
        {
            auto r = co_await inner.deliver(m);
            inner.refuse.clear();
            co_return r;
        }
    } wrapper(s);
    sinks::delivery_config c = fast();
    c.backoff_max = 10s;  // the cap is above what the sink asks
    sinks::outbox box2(io.get_executor(), {&wrapper}, nullptr, c);
    const sinks::message m{"id-1", "k", "{}"};
    CHECK(test::run_coro(box2.send(m), 10s) == 1);
    CHECK(s.attempts == 2);
    CHECK(std::chrono::steady_clock::now() - start >= 900ms);
}

TEST_CASE("outbox: redelivery does not retry only the oldest for ever")
{
    test::temp_dir t("ci-dead-letter");
    state::store store(t.dir);
    for (int i = 0; i < 4; ++i)
        store.spool("picky", "id-" + std::to_string(i), "k", "{}");
    picky_sink s;
    // A failure that looks retryable (no status), for id-0 only: the sink is up for the others.
    s.refuse.emplace("id-0", failure(make_error_code(errc::delivery_failed), 0, "unexplained"));
    asio::io_context loop;
    sinks::outbox box(loop.get_executor(), {&s}, &store, fast());
    asio::cancellation_signal stop;
    asio::co_spawn(
        loop, box.run_redelivery(), asio::bind_cancellation_slot(stop.slot(), asio::detached));
    for (int i = 0; i < 500 && s.delivered.size() < 3; ++i) {
        loop.restart();
        loop.run_for(10ms);
    }
    stop.emit(asio::cancellation_type::total);
    loop.restart();
    loop.run_for(100ms);
    CHECK(s.delivered == std::vector<std::string>{"id-1", "id-2", "id-3"});
    CHECK(store.spool_size("picky") == 0);
    CHECK(test::json_files_in(t.dir / "dead-letter") == 1);
}
