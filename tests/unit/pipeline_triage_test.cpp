// SPDX-License-Identifier: MIT
// Issue 12: the probe reads a core's notes in its own archive GET and no further; the crash
// and heap objects of the notification; labels of the commit; the per-signature limit.
#include "domain/crash.hpp"
#include "fake_engines.hpp"
#include "pipeline/job.hpp"
#include "pipeline/triage.hpp"
#include "run_coro.hpp"
#include "sinks/outbox.hpp"
#include "state/store.hpp"
#include "support/core_file.hpp"
#include "toolbox.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <doctest/doctest.h>
#include <filesystem>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

using namespace core_interceptor;
namespace asio = boost::asio;
namespace json = boost::json;
namespace ts = core_interceptor::test_support;

namespace {

using test::streaming_docker;

class recording_sink final : public sinks::sink {
public:
    std::vector<json::object> bodies;
    std::string_view name() const noexcept override { return "recording"; }
    asio::awaitable<result<void>> deliver(const sinks::message& m) override
    {
        bodies.push_back(json::parse(m.body).as_object());
        co_return result<void>{};
    }
};

pipeline::config make_config()
{
    pipeline::config cfg;
    cfg.dump_patterns = domain::default_dump_patterns();
    cfg.registry = domain::parse_registry("127.0.0.1:5000");
    cfg.registry_auth = "e30=";
    cfg.hostname = "node-17";
    cfg.push_retry_window = std::chrono::seconds(0);
    return cfg;
}

struct harness {
    asio::io_context io;
    sinks::outbox box;
    pipeline::job_runner runner;
    harness(streaming_docker& d,
            recording_sink& s,
            pipeline::config cfg,
            state::store* st = nullptr)
        : box(io.get_executor(), {&s}, nullptr, sinks::delivery_config{1}),
          runner(d, box, st, std::move(cfg))
    {
    }
};

domain::die_event die(char c)
{
    return {std::string(64, c), "crashy", "team/app:1.0", 1795556211143489487};
}

std::string label(const docker::commit_request& r, const std::string& key)
{
    for (const auto& [k, v] : r.labels)
        if (k == key)
            return v;
    return "<missing>";
}

const auto big = ts::make_core(ts::big_core(200, 8, 5));

}  // namespace

TEST_CASE("triage: the probe reads a core on to the end of its notes in one request, no further")
{
    streaming_docker docker;
    docker.files["/tmp/core"] = {std::int64_t{1} << 30, big};
    recording_sink sink;
    harness h(docker, sink, make_config());
    CHECK(test::run_coro(h.runner.run(die('a'))) == pipeline::outcome::pushed);

    CHECK(std::count(docker.calls.begin(), docker.calls.end(), "read_head") == 1);
    CHECK(std::count(docker.calls.begin(), docker.calls.end(), "read_prefix") == 0);
    // At most one 512-byte piece past the note segment, whatever the core's size.
    CHECK(docker.bytes_served >= big.size());
    CHECK(docker.bytes_served < big.size() + 512);

    REQUIRE(sink.bodies.size() == 1);
    const auto& n = sink.bodies[0];
    REQUIRE(n.contains("crash"));
    const auto& c = n.at("crash").as_object();
    CHECK(c.at("signal").as_int64() == 11);
    CHECK(c.at("signal_name").as_string() == "SIGSEGV");
    CHECK(c.at("executable").as_string() == "/usr/bin/app");
    CHECK(c.at("command").as_string() == "app");
    CHECK(c.at("threads").as_int64() == 8);
    CHECK(c.at("frame").at("module").as_string() == "/usr/lib/x86_64-linux-gnu/lib0005.so.1");
    CHECK(c.at("frame").at("offset").as_string() == "0x1a2b");
    CHECK(c.at("signature").as_string().size() > 0);
    // The same object in the core's dumps entry; the seed's fields unchanged.
    CHECK(n.at("dumps").as_array()[0].at("crash") == n.at("crash"));
    CHECK(n.at("pushed").as_bool());
    CHECK(n.at("object").as_string() == "core");

    REQUIRE(docker.commits.size() == 1);
    CHECK(label(docker.commits[0], "core_interceptor.signal") == "SIGSEGV");
    CHECK(label(docker.commits[0], "core_interceptor.executable") == "/usr/bin/app");
    CHECK(label(docker.commits[0], "core_interceptor.signature") ==
          std::string(c.at("signature").as_string()));
    CHECK(h.runner.counters().crashes_by_signal.at("SIGSEGV") == 1);
}

TEST_CASE(
    "triage: notes beyond --max-notes-size stop the read at the cap; the core is still a dump")
{
    streaming_docker docker;
    docker.files["/tmp/core"] = {std::int64_t{1} << 30, big};
    recording_sink sink;
    auto cfg = make_config();
    cfg.max_notes_size = 4096;
    harness h(docker, sink, cfg);
    CHECK(test::run_coro(h.runner.run(die('b'))) == pipeline::outcome::pushed);
    CHECK(docker.bytes_served <= 4096 + 512);
    REQUIRE(sink.bodies.size() == 1);
    CHECK(sink.bodies[0].at("object").as_string() == "core");
}

TEST_CASE("triage: a file that is not a core is read no further than its magic")
{
    streaming_docker docker;
    docker.files["/tmp/core.js"] = {std::int64_t{1} << 20, std::string(4096, 'x')};
    recording_sink sink;
    harness h(docker, sink, make_config());
    CHECK(test::run_coro(h.runner.run(die('c'))) == pipeline::outcome::no_dump);
    CHECK(docker.bytes_served == 512);
}

TEST_CASE("triage: an hprof is announced with its heap object")
{
    std::string hprof = std::string("JAVA PROFILE 1.0.2") + '\0';
    for (unsigned char b : {0, 0, 0, 8, 0, 0, 1, 0x8e, 0x1a, 0x2b, 0x3c, 0x4d})
        hprof += static_cast<char>(b);
    streaming_docker docker;
    docker.files["/tmp/java.hprof"] = {1 << 20, hprof};
    recording_sink sink;
    harness h(docker, sink, make_config());
    CHECK(test::run_coro(h.runner.run(die('d'))) == pipeline::outcome::pushed);
    REQUIRE(sink.bodies.size() == 1);
    const auto& n = sink.bodies[0];
    CHECK_FALSE(n.contains("crash"));
    REQUIRE(n.contains("heap"));
    CHECK(n.at("heap").at("format").as_string() == "JAVA PROFILE 1.0.2");
    CHECK(n.at("heap").at("id_size").as_int64() == 8);
    CHECK(n.at("dumps").as_array()[0].at("heap") == n.at("heap"));
}

TEST_CASE(
    "triage: past --max-per-signature the same crash is announced as a duplicate, not committed")
{
    streaming_docker docker;
    docker.files["/tmp/core"] = {1 << 20, big};
    recording_sink sink;
    auto cfg = make_config();
    cfg.max_per_signature = 2;
    harness h(docker, sink, cfg);
    CHECK(test::run_coro(h.runner.run(die('1'))) == pipeline::outcome::pushed);
    CHECK(test::run_coro(h.runner.run(die('2'))) == pipeline::outcome::pushed);
    docker.calls.clear();
    CHECK(test::run_coro(h.runner.run(die('3'))) == pipeline::outcome::duplicate);
    CHECK(std::count(docker.calls.begin(), docker.calls.end(), "commit") == 0);
    CHECK(std::count(docker.calls.begin(), docker.calls.end(), "push") == 0);
    CHECK(h.runner.counters().duplicates == 1);

    REQUIRE(sink.bodies.size() == 3);
    const auto& dup = sink.bodies[2];
    CHECK_FALSE(dup.at("pushed").as_bool());
    CHECK(dup.at("duplicate_of").as_string() ==
          "127.0.0.1:5000/team/app_1.0:" + std::string(12, '2'));
    CHECK(dup.at("tag").as_string() == std::string(12, '3'));
    CHECK(dup.at("crash") == sink.bodies[0].at("crash"));
    CHECK_FALSE(sink.bodies[0].contains("duplicate_of"));

    // Another crash is counted apart.
    docker.files["/tmp/core"].head = ts::make_core(ts::big_core(200, 8, 6));
    CHECK(test::run_coro(h.runner.run(die('4'))) == pipeline::outcome::pushed);
}

TEST_CASE("triage: --max-per-signature 0 commits every death")
{
    streaming_docker docker;
    docker.files["/tmp/core"] = {1 << 20, big};
    recording_sink sink;
    auto cfg = make_config();
    cfg.max_per_signature = 0;
    harness h(docker, sink, cfg);
    for (char c : {'1', '2', '3', '4', '5'})
        CHECK(test::run_coro(h.runner.run(die(c))) == pipeline::outcome::pushed);
}

TEST_CASE("triage: the per-signature counts survive a restart through the state directory")
{
    test::temp_dir scratch("ci-triage");
    const auto dir = scratch.dir;
    streaming_docker docker;
    docker.files["/tmp/core"] = {1 << 20, big};
    recording_sink sink;
    auto cfg = make_config();
    cfg.max_per_signature = 2;
    {
        state::store st(dir);
        harness h(docker, sink, cfg, &st);
        CHECK(test::run_coro(h.runner.run(die('1'))) == pipeline::outcome::pushed);
        CHECK(test::run_coro(h.runner.run(die('2'))) == pipeline::outcome::pushed);
    }
    CHECK(std::filesystem::exists(dir / "signatures.json"));
    {
        state::store st(dir);
        harness h(docker, sink, cfg, &st);
        CHECK(test::run_coro(h.runner.run(die('3'))) == pipeline::outcome::duplicate);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("triage: journal fields, labels and the log line of a crash leave out what is unknown")
{
    domain::crash_info c;
    CHECK(pipeline::crash_fields(c).empty());
    CHECK(pipeline::crash_labels(c).empty());
    CHECK(pipeline::died_of(&c).empty());
    CHECK(pipeline::died_of(nullptr).empty());

    c.signal = 11;
    c.executable = "/usr/bin/app";
    c.command_line = "app --serve";
    c.frame = domain::crash_frame{"/usr/lib/libfoo.so.1", 0x1a2b};
    c.signature = "0123456789abcdef";
    CHECK(pipeline::crash_fields(c) ==
          std::vector<log::field>{{"COREDUMP_SIGNAL", "11"},
                                  {"COREDUMP_SIGNAL_NAME", "SIGSEGV"},
                                  {"COREDUMP_EXE", "/usr/bin/app"},
                                  {"COREDUMP_CMDLINE", "app --serve"},
                                  {"COREDUMP_SIGNATURE", "0123456789abcdef"}});
    CHECK(pipeline::crash_labels(c) == std::vector<std::pair<std::string, std::string>>{
                                           {"core_interceptor.signal", "SIGSEGV"},
                                           {"core_interceptor.signature", "0123456789abcdef"},
                                           {"core_interceptor.executable", "/usr/bin/app"}});
    CHECK(pipeline::died_of(&c) == ", which died of SIGSEGV in /usr/bin/app (libfoo.so.1+0x1a2b),");
    c.signal = 77;  // no name: the number stands for it
    CHECK(pipeline::signal_label(c) == "77");
}
