// SPDX-License-Identifier: MIT
// The Kafka producer's lifecycle against the mock cluster: no librdkafka handle (and so no
// librdkafka thread) until the first notification, closed once idle, made again for the next
// one, every delivery confirmed by its report.
#include "kafka/producer.hpp"
#include "support/mock_kafka.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

#include <dirent.h>

#include <chrono>
#include <string>

namespace core_interceptor::integration {
namespace {

namespace asio = boost::asio;
namespace ts = core_interceptor::test_support;
using namespace std::chrono_literals;

/// Threads of this process whose name starts with "rdk:" (librdkafka's own).
int librdkafka_threads()
{
    int n = 0;
    DIR* d = ::opendir("/proc/self/task");
    REQUIRE(d != nullptr);
    while (auto* e = ::readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        std::FILE* f =
            std::fopen(("/proc/self/task/" + std::string(e->d_name) + "/comm").c_str(), "r");
        if (!f)
            continue;
        char name[32] = {};
        if (std::fgets(name, sizeof name, f) && std::string(name).starts_with("rdk:"))
            ++n;
        std::fclose(f);
    }
    ::closedir(d);
    return n;
}

/// Runs the loop until `op` has completed (and whatever else is pending has run out).
result<void> produce(asio::io_context& io, kafka::producer& p, std::string key)
{
    // produce() takes views and starts only when the loop runs: the value must outlive it.
    const std::string value = "{\"k\":\"" + key + "\"}";
    auto f = asio::co_spawn(io, p.produce("cores", key, value), asio::use_future);
    io.restart();
    while (f.wait_for(0s) != std::future_status::ready && io.run_one_for(30s) > 0) {
    }
    REQUIRE(f.wait_for(0s) == std::future_status::ready);
    return f.get();
}

TEST_CASE(
    "kafka producer: opened by the first notification, closed when idle, opened again by the next")
{
    ts::mock_kafka kafka("cores");
    const int threads_before = librdkafka_threads();  // the mock cluster's and its consumer's
    asio::io_context io(1);
    kafka::producer p(io.get_executor(), {{"bootstrap.servers", kafka.bootstraps()}}, 300ms);
    CHECK_FALSE(p.is_open());
    CHECK(librdkafka_threads() == threads_before);

    auto first = produce(io, p, "first");
    CHECK(first.has_value());
    CHECK(p.is_open());
    const int threads_open = librdkafka_threads();
    CHECK(threads_open > threads_before);

    // Nothing outstanding: the loop runs out of work once the idle close has happened. The
    // producer's own threads (its main thread and at least one broker thread) are gone; the
    // mock cluster in this process may have started a thread of its own for the connection
    // meanwhile, so the count is compared with the open producer's, not the first one.
    io.restart();
    io.run_for(30s);
    CHECK_FALSE(p.is_open());
    const int threads_closed = librdkafka_threads();
    INFO("rdk: threads before ",
         threads_before,
         ", open ",
         threads_open,
         ", closed ",
         threads_closed);
    CHECK(threads_closed <= threads_open - 2);

    auto second = produce(io, p, "second");
    CHECK(second.has_value());
    REQUIRE(kafka.wait_for(2, 30s));
    const auto got = kafka.messages();
    REQUIRE(got.size() == 2);
    CHECK(got[0].key == "first");
    CHECK(got[1].key == "second");

    CHECK(p.flush(1s) == 0);
    p.close();
}

TEST_CASE("kafka producer: a property librdkafka refuses is reported at construction, naming it")
{
    asio::io_context io(1);
    try {
        kafka::producer p(io.get_executor(),
                          {{"bootstrap.servers", "127.0.0.1:9"}, {"no.such.property", "1"}});
        FAIL("the producer accepted an unknown property");
    } catch (const kafka::property_error& e) {
        CHECK(e.property == "no.such.property");
    }
}

}  // namespace
}  // namespace core_interceptor::integration
