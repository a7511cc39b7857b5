// SPDX-License-Identifier: MIT
// The launchers themselves, without the daemon: when these fail, the harness or the machine is
// at fault, not core_interceptor.
#include "harness.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/net.hpp"

#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>

#include <csignal>
#include <memory>
#include <stdexcept>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

TEST_CASE("harness: the HTTP sink records requests and answers the chosen status")
{
    ts::http_sink sink;
    REQUIRE(sink.url() == "http://127.0.0.1:" + std::to_string(sink.port()) + "/notify");
    sink.fail_next(1, 503);

    auto first = ts::http_post(sink.port(), "/notify", "application/json", R"({"n":1})", 10s);
    auto second = ts::http_post(sink.port(), "/notify", "application/json", R"({"n":2})", 10s);
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    CHECK(first->status == 503);
    CHECK(second->status == 200);

    REQUIRE(sink.wait_for(2, 10s));
    const auto rs = sink.requests();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].method == "POST");
    CHECK(rs[0].target == "/notify");
    CHECK(rs[0].header("content-type") == "application/json");
    CHECK(rs[0].body == R"({"n":1})");
    CHECK(rs[0].status == 503);
    CHECK(rs[1].body == R"({"n":2})");
    CHECK(rs[1].status == 200);
    CHECK_FALSE(sink.wait_for(3, 100ms));
}

// A plain producer, as the daemon's would be, with its delivery reports counted.
struct producer {
    rd_kafka_t* rk = nullptr;
    explicit producer(const std::string& brokers)
    {
        char err[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
        rd_kafka_conf_set(conf, "message.timeout.ms", "60000", err, sizeof err);
        rd_kafka_conf_set(conf, "reconnect.backoff.max.ms", "500", err, sizeof err);
        // "Disconnected" while the broker is down on purpose is no news.
        rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
        if (!rk) {
            rd_kafka_conf_destroy(conf);
            throw std::runtime_error(err);
        }
    }
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;
    ~producer() { rd_kafka_destroy(rk); }

    rd_kafka_resp_err_t send(const std::string& key, const std::string& value)
    {
        return rd_kafka_producev(rk,
                                 RD_KAFKA_V_TOPIC("cores"),
                                 RD_KAFKA_V_KEY(key.data(), key.size()),
                                 RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END);
    }
};

TEST_CASE("harness: the mock Kafka cluster hands produced records to its consumer")
{
    ts::mock_kafka kafka;
    CHECK(kafka.bootstraps().rfind("127.0.0.1:", 0) == 0);
    producer p(kafka.bootstraps());

    REQUIRE(p.send("k1", "v1") == RD_KAFKA_RESP_ERR_NO_ERROR);
    CHECK(rd_kafka_flush(p.rk, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    REQUIRE(kafka.wait_for(1, 30s));

    // While the broker is down nothing arrives; once it is up again the record does.
    kafka.set_down();
    REQUIRE(p.send("k2", "v2") == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_poll(p.rk, 1000);
    CHECK(kafka.messages().size() == 1);
    kafka.set_up();
    CHECK(rd_kafka_flush(p.rk, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    REQUIRE(kafka.wait_for(2, 30s));

    const auto ms = kafka.messages();
    REQUIRE(ms.size() == 2);
    CHECK(ms[0].topic == "cores");
    CHECK(ms[0].key == "k1");
    CHECK(ms[0].value == "v1");
    CHECK(ms[1].key == "k2");
    CHECK(ms[1].value == "v2");
}

TEST_CASE("harness: processes are waited for with a timeout and stopped on destruction")
{
    auto quick = ts::run({"sh", "-c", "echo out; echo err >&2; exit 3"}, 10s);
    CHECK(quick.status.describe() == "exit 3");
    CHECK(quick.out == "out\n");
    CHECK(quick.err == "err\n");

    auto slow = ts::run({"sleep", "30"}, 200ms);
    CHECK(slow.timed_out);
    CHECK(slow.status.signal == SIGTERM);

    pid_t child = 0;
    {
        ts::process_options o;
        o.argv = {"sh", "-c", "sleep 30 & wait"};
        o.own_process_group = true;
        ts::process sh(std::move(o));
        const auto until = std::chrono::steady_clock::now() + 10s;
        while (ts::children_of(sh.pid()).empty() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(10ms);
        const auto children = ts::children_of(sh.pid());
        REQUIRE(children.size() == 1);
        child = children.front();
        CHECK(ts::process_info(child)->pgid == sh.pid());
        ::kill(child, SIGKILL);  // `sleep` is ours; sh reaps it and ends its `wait`
        auto st = sh.wait_for(10s);
        REQUIRE(st.has_value());
        CHECK(st->exited);
    }
    CHECK_THROWS_AS(ts::process(ts::process_options{{"no-such-program-here"}}), std::system_error);
}

TEST_CASE("harness: private dockerd and registry push, survive restarts and keep their storage")
{
    auto* p = parts();  // also checks that a crash leaves an ELF core in its container
    if (!p)
        return;
    const auto ref = p->registry.address() + "/harness_probe:1";
    REQUIRE(p->dockerd.docker({"tag", ts::private_dockerd::test_image, ref}, 60s).ok());
    auto push = p->dockerd.docker({"push", ref}, 120s);
    REQUIRE_MESSAGE(push.ok(), "docker push: ", push.err, "\nregistry:\n", p->registry.log_tail());
    CHECK(p->registry.tags("harness_probe") == std::vector<std::string>{"1"});
    CHECK(p->registry.tags("no_such_repo").empty());

    p->registry.stop();
    CHECK_THROWS(p->registry.tags("harness_probe"));
    p->registry.start();
    CHECK(p->registry.tags("harness_probe") == std::vector<std::string>{"1"});
    CHECK(p->dockerd.docker({"rmi", ref}, 60s).ok());

    // kill -9 and restart: the daemon comes back on the same socket with its images.
    const pid_t before = p->dockerd.pid();
    p->dockerd.kill9();
    CHECK_FALSE(p->dockerd.running());
    CHECK_FALSE(p->dockerd.docker({"version"}, 30s).ok());
    p->dockerd.restart();
    CHECK(p->dockerd.pid() != before);
    CHECK(p->dockerd.docker({"image", "inspect", ts::private_dockerd::test_image}, 60s).ok());
}

}  // namespace
}  // namespace core_interceptor::integration
