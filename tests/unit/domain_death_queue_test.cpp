// SPDX-License-Identifier: MIT
#include "domain/death_queue.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <set>
#include <string>
#include <vector>

using namespace core_interceptor;
using namespace std::chrono_literals;
using domain::death_class;
using domain::death_queue;

namespace {

const death_queue::clock::time_point t0{std::chrono::seconds(1000)};

domain::die_event death(std::string id, std::string exit_code)
{
    domain::die_event ev;
    ev.id = std::move(id);
    ev.name = ev.id;
    ev.attributes = {{"image", "img"}, {"exitCode", std::move(exit_code)}, {"name", ev.name}};
    return ev;
}

/// The IDs in the order pop() gives them at `now`.
std::vector<std::string> drain(death_queue& q, death_queue::clock::time_point now)
{
    std::vector<std::string> out;
    while (auto e = q.pop(now))
        out.push_back(e->ev.id);
    return out;
}

}  // namespace

TEST_CASE("death queue: the exit codes of the core-dumping signals, and no others, are crashes")
{
    // signal(7): the signals whose default action is "Core", with their x86/arm Linux numbers.
    const std::set<int> core{3, 4, 5, 6, 7, 8, 11, 24, 25, 31};
    for (int sig = 1; sig <= 64; ++sig) {
        INFO("signal ", sig);
        CHECK(domain::core_dumping_signal(sig) == core.contains(sig));
        const auto c = domain::classify_exit_code(std::to_string(128 + sig));
        CHECK(c == (core.contains(sig) ? death_class::core_signal : death_class::failure));
    }
    CHECK(domain::classify_exit_code("139") == death_class::core_signal);  // SIGSEGV
    CHECK(domain::classify_exit_code("134") == death_class::core_signal);  // SIGABRT
    CHECK(domain::classify_exit_code("137") == death_class::failure);      // SIGKILL: no core
    CHECK(domain::classify_exit_code("143") == death_class::failure);      // SIGTERM
    CHECK(domain::classify_exit_code("0") == death_class::clean);
    CHECK(domain::classify_exit_code("1") == death_class::failure);
    CHECK(domain::classify_exit_code("11") == death_class::failure);  // exit(11), no signal
    CHECK(domain::classify_exit_code("255") == death_class::failure);
    // Nothing readable says the exit was clean: a failure.
    for (const char* odd : {"", "x", "13 9", "139x", "-1", "99999999999999999999"}) {
        INFO("exit code '", odd, "'");
        CHECK(domain::classify_exit_code(odd) == death_class::failure);
    }
}

TEST_CASE("death queue: a death is classed by its exitCode attribute, a failure without one")
{
    CHECK(domain::classify(death("a", "139")) == death_class::core_signal);
    CHECK(domain::classify(death("a", "0")) == death_class::clean);
    domain::die_event none;
    none.attributes = {{"name", "n"}, {"image", "img"}};
    CHECK(domain::classify(none) == death_class::failure);
}

TEST_CASE("death queue: crashes first, then failures, then clean exits; FIFO within a class")
{
    death_queue q(10s);
    CHECK(q.empty());
    CHECK_FALSE(q.pop(t0));
    q.push(death("clean1", "0"), t0);
    q.push(death("fail1", "1"), t0 + 1ms);
    q.push(death("segv", "139"), t0 + 2ms);
    q.push(death("clean2", "0"), t0 + 3ms);
    q.push(death("abrt", "134"), t0 + 4ms);
    q.push(death("fail2", "137"), t0 + 5ms);
    CHECK(q.size() == 6);
    CHECK(drain(q, t0 + 1s) ==
          std::vector<std::string>{"segv", "abrt", "fail1", "fail2", "clean1", "clean2"});
    CHECK(q.empty());
}

TEST_CASE("death queue: an entry keeps its event, class and the time it was queued")
{
    death_queue q(10s);
    q.push(death("segv", "139"), t0);
    auto e = q.pop(t0 + 2s);
    REQUIRE(e);
    CHECK(e->ev.id == "segv");
    CHECK(e->kind == death_class::core_signal);
    CHECK(e->since == t0);
    CHECK(e->ev.attributes.size() == 3);
}

TEST_CASE("death queue: a death waiting max_wait goes before later crashes: no starvation")
{
    death_queue q(10s);
    q.push(death("clean", "0"), t0);
    // A steady stream of crashes: each pop finds a new one waiting.
    std::vector<std::string> order;
    auto now = t0;
    for (int i = 0; i < 30; ++i) {
        q.push(death("segv" + std::to_string(i), "139"), now);
        now += 1s;
        order.push_back(q.pop(now)->ev.id);
    }
    // Crashes go first while the clean exit waits less than 10 s; then it has its turn.
    const auto at = std::find(order.begin(), order.end(), "clean");
    REQUIRE(at != order.end());
    CHECK(at - order.begin() == 9);  // popped at t0 + 10 s
    CHECK(order[0] == "segv0");
    CHECK(order[10] == "segv9");  // the crashes then keep their FIFO order
}

TEST_CASE("death queue: among deaths waiting too long the oldest goes first, whatever its class")
{
    death_queue q(10s);
    q.push(death("clean", "0"), t0);
    q.push(death("fail", "1"), t0 + 1s);
    q.push(death("segv", "139"), t0 + 2s);
    // All three waited 10 s or more: arrival order.
    CHECK(drain(q, t0 + 20s) == std::vector<std::string>{"clean", "fail", "segv"});

    // One aged death among fresh ones goes first; the fresh ones then by class.
    q.push(death("old-clean", "0"), t0);
    q.push(death("new-clean", "0"), t0 + 15s);
    q.push(death("new-segv", "139"), t0 + 16s);
    CHECK(drain(q, t0 + 17s) == std::vector<std::string>{"old-clean", "new-segv", "new-clean"});
}

TEST_CASE("death queue: every death pushed is popped exactly once")
{
    death_queue q(10s);
    const char* codes[] = {"0", "1", "139", "134", "0", "143", "", "0", "136", "2"};
    std::multiset<std::string> in;
    for (int i = 0; i < 100; ++i) {
        const std::string id = "c" + std::to_string(i);
        in.insert(id);
        q.push(death(id, codes[i % 10]), t0 + std::chrono::milliseconds(i * 300));
    }
    std::multiset<std::string> out;
    auto now = t0;
    while (auto e = q.pop(now)) {
        out.insert(e->ev.id);
        now += 200ms;
    }
    CHECK(out == in);
    CHECK(q.empty());
}

TEST_CASE("death queue: two probe lanes, failures (crashes first) and clean exits")
{
    using domain::probe_lane;
    CHECK(domain::lane_of(death_class::core_signal) == probe_lane::suspect);
    CHECK(domain::lane_of(death_class::failure) == probe_lane::suspect);
    CHECK(domain::lane_of(death_class::clean) == probe_lane::clean);

    death_queue q(10s);
    CHECK(q.empty(probe_lane::suspect));
    CHECK(q.empty(probe_lane::clean));
    q.push(death("clean1", "0"), t0);
    q.push(death("fail", "1"), t0 + 1ms);
    q.push(death("clean2", "0"), t0 + 2ms);
    q.push(death("segv", "139"), t0 + 3ms);
    CHECK_FALSE(q.empty(probe_lane::clean));

    // Each lane pops only its own deaths, in its order; the other lane's stay.
    auto e = q.pop(t0 + 1s, probe_lane::clean);
    REQUIRE(e);
    CHECK(e->ev.id == "clean1");
    e = q.pop(t0 + 1s, probe_lane::suspect);
    REQUIRE(e);
    CHECK(e->ev.id == "segv");
    e = q.pop(t0 + 1s, probe_lane::suspect);
    REQUIRE(e);
    CHECK(e->ev.id == "fail");
    CHECK(q.empty(probe_lane::suspect));
    CHECK_FALSE(q.pop(t0 + 1s, probe_lane::suspect));
    CHECK(q.size() == 1);
    e = q.pop(t0 + 1s, probe_lane::clean);
    REQUIRE(e);
    CHECK(e->ev.id == "clean2");
    CHECK(q.empty());
}

TEST_CASE("death queue: in the failures' lane a failure waiting max_wait goes before crashes")
{
    using domain::probe_lane;
    death_queue q(10s);
    q.push(death("fail", "1"), t0);
    q.push(death("clean", "0"), t0);
    q.push(death("segv", "139"), t0 + 9s);
    // Aged: the failure goes first; the clean exit, older still, is not this lane's.
    CHECK(q.pop(t0 + 10s, probe_lane::suspect)->ev.id == "fail");
    CHECK(q.pop(t0 + 10s, probe_lane::suspect)->ev.id == "segv");
    CHECK(q.pop(t0 + 10s, probe_lane::clean)->ev.id == "clean");
}
