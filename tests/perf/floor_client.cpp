// SPDX-License-Identifier: MIT
// The floors of the burst benchmark: the least a client can do for the same deaths, with the
// project's Docker client and nothing else (no state, no sinks, no logging). Two modes:
//
// FIFO floor (--deaths N --dumps D): reads the die events and, at the daemon's concurrency,
//   handles every death in one FIFO with the Engine calls the daemon's work needs: GET changes,
//   the head of each candidate file (a `core.txt` is no dump), and, when a dump is among them,
//   POST commit, the push and DELETE of the image. It shares the daemon's bottleneck: every
//   death waits for a slot, clean or not.
// True floor (--truth FILE, the IDs of the containers that hold a dump, one a line): told by
//   the benchmark's ground truth which deaths matter, it probes nobody; at each die event of a
//   listed container it issues commit -> push -> delete at once, at most --concurrency captures
//   at a time, and never makes the event stream wait. The lower bound of notification-after-die
//   for a dumping death on this Engine.
//
// Usage: floor_client --docker-host URL --registry HOST:PORT [--concurrency N] [--deadline S]
//                     (--deaths N --dumps D | --truth FILE)
// Prints "ready" once the event stream is open, then "done <container id> <unix ns>" as each
// dump's image is deleted. Exits 0 once every death (FIFO) or every listed container (true
// floor) is handled and nothing failed; 1 with the reason on stderr when a call failed, the
// dumps found are not the dumps expected, or --deadline seconds (default 300) pass first.
#include "co/limiter.hpp"
#include "co/task_group.hpp"
#include "docker/client.hpp"
#include "domain/dump.hpp"
#include "domain/event.hpp"
#include "domain/ndjson.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

namespace asio = boost::asio;
using namespace core_interceptor;

namespace {

struct floor_state {
    docker::client& docker;
    co::limiter& slots;
    std::string registry;
    std::vector<std::string> patterns = domain::default_dump_patterns();
    bool true_floor = false;
    std::size_t deaths_wanted = 0;  ///< FIFO: deaths to handle
    std::size_t dumps_wanted = 0;   ///< FIFO: dumps expected among them
    std::set<std::string> truth;    ///< true floor: the containers holding a dump
    std::set<std::string> seen;     ///< die events taken (a repeated one is ignored)
    std::set<std::string> running;  ///< being handled now
    std::size_t deaths_done = 0;
    std::size_t dumps_done = 0;
    std::size_t failures = 0;
    std::string first_failure;
    asio::io_context& io;

    void fail(const std::string& what)
    {
        std::cerr << what << '\n';
        if (failures++ == 0)
            first_failure = what;
    }
    /// Every death this mode waits for is handled, well or not.
    bool finished() const
    {
        return true_floor ? deaths_done == truth.size() : deaths_done == deaths_wanted;
    }
    void settle(const std::string& id)
    {
        running.erase(id);
        ++deaths_done;
        if (finished())
            io.stop();
    }
};

std::int64_t now_nano()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Does one of the candidates start like a dump? The daemon's probe reads the same head.
asio::awaitable<result<bool>>
holds_dump(floor_state& s, const std::string& id, const std::vector<std::string>& candidates)
{
    for (const auto& path : candidates) {
        auto head = co_await s.docker.read_prefix(id, path, domain::magic_bytes);
        if (!head)
            co_return head.error();
        if (domain::classify(head->content) != domain::dump_type::none)
            co_return true;
    }
    co_return false;
}

/// commit -> push -> delete, then "done <id> <ns>". Failures are reported and counted.
asio::awaitable<void> capture(floor_state& s, const std::string& id)
{
    const std::string shortid = id.substr(0, 12);
    docker::commit_request req;
    req.container_id = id;
    req.repository = s.registry + "/floor";
    req.tag = shortid;
    auto image = co_await s.docker.commit(req);
    if (!image) {
        s.fail("commit of " + shortid + ": " + image.error().describe());
        co_return;
    }
    auto pushed = co_await s.docker.push(req.repository, req.tag, "e30=");
    if (!pushed)
        s.fail("push of " + shortid + ": " + pushed.error().describe());
    const std::string reference = req.repository + ":" + req.tag;
    auto removed = co_await s.docker.remove_image(reference);
    if (!removed)
        s.fail("delete of " + reference + ": " + removed.error().describe());
    ++s.dumps_done;
    std::printf("done %s %lld\n", id.c_str(), static_cast<long long>(now_nano()));
    std::fflush(stdout);
}

struct slot_release {
    co::limiter& l;
    ~slot_release() { l.release(); }
};

/// FIFO floor: the slot was taken before this death's event let the next one be read.
asio::awaitable<void> handle_fifo(floor_state& s, std::string id)
{
    slot_release guard{s.slots};
    auto changes = co_await s.docker.dump_candidates(id, s.patterns);
    if (!changes)
        s.fail("changes of " + id.substr(0, 12) + ": " + changes.error().describe());
    else if (auto dump = co_await holds_dump(s, id, changes->candidates); !dump)
        s.fail("head of a candidate in " + id.substr(0, 12) + ": " + dump.error().describe());
    else if (*dump)
        co_await capture(s, id);
    s.settle(id);
}

/// True floor: waits for a capture slot of its own; the event stream goes on meanwhile.
asio::awaitable<void> handle_true(floor_state& s, std::string id)
{
    if (auto ec = co_await s.slots.acquire()) {
        s.fail("capture slot of " + id.substr(0, 12) + ": " + ec.message());
        s.settle(id);
        co_return;
    }
    {
        slot_release guard{s.slots};
        co_await capture(s, id);
    }
    s.settle(id);
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
        if (!piece)
            throw std::runtime_error("the event stream failed: " + piece.error().describe());
        if (piece->empty())
            throw std::runtime_error("the event stream ended");
        lines.feed(*piece);
        while (auto line = lines.next()) {
            auto ev = domain::parse_event_line(*line);
            if (!ev || ev->kind != domain::event_kind::die)
                continue;
            const std::string id = ev->event.id;
            if (!s.seen.insert(id).second)
                continue;
            if (s.true_floor) {
                if (!s.truth.count(id))
                    continue;
                s.running.insert(id);
                jobs.spawn(handle_true(s, id));
                continue;
            }
            if (auto ec = co_await s.slots.acquire())
                throw std::runtime_error("a probe slot: " + ec.message());
            s.running.insert(id);
            jobs.spawn(handle_fifo(s, id));
        }
    }
}

/// What the client was still waiting for, for the deadline's message.
std::string progress(const floor_state& s)
{
    std::ostringstream o;
    if (s.true_floor) {
        o << s.deaths_done << " of " << s.truth.size() << " dumping deaths handled; no die event "
          << "yet for:";
        for (const auto& id : s.truth)
            if (!s.seen.count(id))
                o << ' ' << id.substr(0, 12);
    } else {
        o << s.deaths_done << " of " << s.deaths_wanted << " deaths handled (" << s.seen.size()
          << " die events received), " << s.dumps_done << " of " << s.dumps_wanted
          << " dumps captured";
    }
    o << "; in progress:";
    for (const auto& id : s.running)
        o << ' ' << id.substr(0, 12);
    if (s.failures)
        o << "; " << s.failures << " failures, the first: " << s.first_failure;
    return o.str();
}

asio::awaitable<void> deadline(floor_state& s, std::chrono::seconds after)
{
    asio::steady_timer t(co_await asio::this_coro::executor, after);
    co_await t.async_wait(asio::use_awaitable);
    throw std::runtime_error("deadline of " + std::to_string(after.count()) +
                             " s passed: " + progress(s));
}

std::set<std::string> read_ids(const std::string& file)
{
    std::ifstream in(file);
    if (!in)
        throw std::runtime_error("cannot read " + file);
    std::set<std::string> ids;
    for (std::string id; in >> id;)
        ids.insert(id);
    return ids;
}

}  // namespace

int main(int argc, char* argv[])
try {
    docker::client_config cfg;
    std::string registry, truth_file;
    std::size_t concurrency = 4, deaths = 0, dumps = 0;
    long deadline_s = 300;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i], v = argv[i + 1];
        if (a == "--docker-host")
            cfg.host = v;
        else if (a == "--registry")
            registry = v;
        else if (a == "--concurrency")
            concurrency = std::stoul(v);
        else if (a == "--deaths")
            deaths = std::stoul(v);
        else if (a == "--dumps")
            dumps = std::stoul(v);
        else if (a == "--truth")
            truth_file = v;
        else if (a == "--deadline")
            deadline_s = std::stol(v);
    }
    if (registry.empty() || (truth_file.empty() && deaths == 0) || concurrency == 0) {
        std::cerr << "usage: floor_client --docker-host URL --registry HOST:PORT [--concurrency N] "
                     "[--deadline S] (--deaths N --dumps D | --truth FILE)\n";
        return 2;
    }
    asio::io_context io(1);
    docker::client docker(cfg);
    co::limiter slots(io.get_executor(), concurrency);
    floor_state s{.docker = docker, .slots = slots, .registry = registry, .io = io};
    s.true_floor = !truth_file.empty();
    s.deaths_wanted = deaths;
    s.dumps_wanted = dumps;
    if (s.true_floor)
        s.truth = read_ids(truth_file);
    if (s.true_floor && s.truth.empty()) {
        std::printf("ready\n");  // nothing to wait for
        return 0;
    }
    std::exception_ptr failed;
    auto stop_on = [&](std::exception_ptr e) {
        if (e && !failed) {
            failed = e;
            io.stop();
        }
    };
    co::task_group jobs(io.get_executor(), stop_on);
    asio::co_spawn(io, watch(s, jobs), stop_on);
    asio::co_spawn(io, deadline(s, std::chrono::seconds(deadline_s)), stop_on);
    io.run();
    std::string error;
    if (failed) {
        try {
            std::rethrow_exception(failed);
        } catch (const std::exception& e) {
            error = e.what();
        }
    } else if (s.failures) {
        error = std::to_string(s.failures) + " Engine calls failed, the first: " + s.first_failure;
    } else if (!s.true_floor && s.dumps_done != s.dumps_wanted) {
        error = "every death handled, but " + std::to_string(s.dumps_done) + " dumps found where " +
                std::to_string(s.dumps_wanted) + " were expected";
    }
    if (error.empty())
        return 0;
    // Jobs may still be suspended in the Engine's calls, holding slots of the limiter: leave
    // without unwinding them.
    std::cerr << "floor_client: " << error << '\n';
    std::fflush(nullptr);
    std::_Exit(1);
} catch (const std::exception& e) {
    std::cerr << "floor_client: " << e.what() << '\n';
    return 1;
}
