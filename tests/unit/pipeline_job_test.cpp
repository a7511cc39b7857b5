// SPDX-License-Identifier: MIT
#include "pipeline/job.hpp"

#include "fake_engines.hpp"
#include "log/log.hpp"
#include "run_coro.hpp"
#include "sinks/outbox.hpp"
#include "state/store.hpp"
#include "toolbox.hpp"

#include <boost/json/parse.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

using namespace core_interceptor;
namespace asio = boost::asio;

namespace {

using test::fake_docker;

const std::string container_id = "3bb1f33bb805b0772a8853936356bc140c31b90388197737e540fab67c60aca5";

std::string elf_core()
{
    std::string s(32, '\0');
    s[0] = 0x7f, s[1] = 'E', s[2] = 'L', s[3] = 'F', s[4] = 2, s[5] = 1;
    s[16] = 4;  // ET_CORE, little endian
    return s;
}

std::string
tar_member(const std::string& name, const std::string& content, std::int64_t mtime = 1795556211)
{
    std::string out = domain::tar_file_header(name, content.size(), 0600, mtime) + content;
    out.resize((out.size() + 511) / 512 * 512, '\0');
    return out;
}

std::string tar_end()
{
    return std::string(1024, '\0');
}

class recording_sink final : public sinks::sink {
public:
    std::vector<std::string> bodies;
    bool fail = false;
    std::string_view name() const noexcept override { return "recording"; }
    asio::awaitable<result<void>> deliver(const sinks::message& m) override
    {
        bodies.emplace_back(m.body);
        if (fail)
            co_return failure(make_error_code(errc::delivery_failed), 500, "boom");
        co_return result<void>{};
    }
};

pipeline::config make_config(bool with_registry)
{
    pipeline::config cfg;
    cfg.dump_patterns = domain::default_dump_patterns();
    if (with_registry)
        cfg.registry = domain::parse_registry("127.0.0.1:5000");
    cfg.registry_auth = "e30=";
    cfg.hostname = "node-17";
    cfg.push_retry_window = std::chrono::seconds(0);
    return cfg;
}

/// A job runner over a fake Engine and recording sinks, one attempt per sink, no state dir.
struct harness {
    asio::io_context io;
    sinks::outbox box;
    pipeline::job_runner runner;
    harness(fake_docker& d, std::vector<sinks::sink*> s, pipeline::config cfg)
        : box(io.get_executor(), std::move(s), nullptr, sinks::delivery_config{1}),
          runner(d, box, nullptr, std::move(cfg))
    {
    }
};

domain::die_event die()
{
    return {container_id, "crashy", "Team/App:2.5-RC1", 1795556211143489487};
}

}  // namespace

TEST_CASE("pipeline: a clean exit costs one Engine call and produces nothing")
{
    fake_docker docker;
    docker.files["/tmp/out.log"] = {10, "hello"};
    recording_sink sink;
    harness h(docker, {&sink}, make_config(true));
    auto& runner = h.runner;
    CHECK(test::run_coro(runner.run(die())) == pipeline::outcome::no_dump);
    CHECK(docker.calls == std::vector<std::string>{"changes"});
    CHECK(sink.bodies.empty());
}

TEST_CASE("pipeline: a clean exit that changed nothing costs one Engine call too")
{
    fake_docker docker;  // no file changed: /changes answers an empty list
    recording_sink sink;
    harness h(docker, {&sink}, make_config(true));
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::no_dump);
    CHECK(docker.calls == std::vector<std::string>{"changes"});
    CHECK(sink.bodies.empty());
}

TEST_CASE("pipeline: decoys are probed but never committed")
{
    fake_docker docker;
    docker.files["/tmp/core.js"] = {20, "console.log('core')"};
    docker.files["/app/core"] = {0, ""};                         // empty
    docker.files["/var/core"] = {4096, "", 0x80000000u | 0755};  // a directory
    recording_sink sink;
    harness h(docker, {&sink}, make_config(true));
    auto& runner = h.runner;
    CHECK(test::run_coro(runner.run(die())) == pipeline::outcome::no_dump);
    CHECK(std::find(docker.calls.begin(), docker.calls.end(), "read /tmp/core.js") !=
          docker.calls.end());
    // Neither the empty file nor the directory is read: the stat header rules them out.
    CHECK(std::find(docker.calls.begin(), docker.calls.end(), "read /app/core") ==
          docker.calls.end());
    CHECK(std::find(docker.calls.begin(), docker.calls.end(), "read /var/core") ==
          docker.calls.end());
    CHECK(docker.images.empty());
    CHECK(sink.bodies.empty());
}

TEST_CASE("pipeline: a core is committed, pushed, deleted locally and announced once")
{
    fake_docker docker;
    docker.files["/tmp/core"] = {1 << 30, elf_core()};
    recording_sink sink;
    harness h(docker, {&sink}, make_config(true));
    auto& runner = h.runner;
    CHECK(test::run_coro(runner.run(die())) == pipeline::outcome::pushed);

    const std::string ref = "127.0.0.1:5000/team/app_2.5-rc1:3bb1f33bb805";
    CHECK(docker.calls ==
          std::vector<std::string>{"changes",
                                   "stat /tmp/core",
                                   "read /tmp/core",
                                   "inspect",
                                   "commit 127.0.0.1:5000/team/app_2.5-rc1:3bb1f33bb805",
                                   "push " + ref + " auth=e30=",
                                   "delete " + ref});
    CHECK(docker.images.empty());
    REQUIRE(sink.bodies.size() == 1);
    auto v = boost::json::parse(sink.bodies[0]).as_object();
    CHECK(v.at("pushed").as_bool());
    CHECK(v.at("name").as_string() == "team/app_2.5-rc1");
    CHECK(v.at("tag").as_string() == "3bb1f33bb805");
    CHECK(v.at("hostname").as_string() == "node-17");
    CHECK(v.at("object").as_string() == "core");
    CHECK(v.at("image").as_string() == ref);
    CHECK(v.at("id").as_string() == container_id + "-1795556211143489487");
    CHECK(v.at("container").as_object().at("exit_code").as_int64() == 139);
    CHECK(v.at("dumps").as_array().at(0).as_object().at("size").as_int64() == (1 << 30));
}

TEST_CASE("pipeline: a capture says its Engine work is over after the delete, before the "
          "announcement")
{
    // The dispatcher gives the capture slot back then: the next dump does not wait for a slow
    // sink.
    fake_docker docker;
    docker.files["/tmp/core"] = {1 << 20, elf_core()};
    recording_sink sink;
    harness h(docker, {&sink}, make_config(true));
    int called = 0;
    std::vector<std::string> calls_then;
    std::size_t announced_then = 0;
    auto job = [&]() -> asio::awaitable<pipeline::outcome> {
        auto p = co_await h.runner.probe(die());
        const auto o = co_await h.runner.capture(std::move(p), [&] {
            ++called;
            calls_then = docker.calls;
            announced_then = sink.bodies.size();
        });
        co_return o;
    };
    CHECK(test::run_coro(job()) == pipeline::outcome::pushed);
    CHECK(called == 1);
    REQUIRE_FALSE(calls_then.empty());
    CHECK(calls_then.back() == "delete 127.0.0.1:5000/team/app_2.5-rc1:3bb1f33bb805");
    CHECK(announced_then == 0);
    CHECK(sink.bodies.size() == 1);
}

TEST_CASE("pipeline: a fresh death skips the look for an earlier try's commit; any other looks")
{
    // A death read live and tried for the first time: the images of the death are listed once,
    // after the announcement (a late commit of a killed try would be removed then).
    fake_docker fresh_docker;
    fresh_docker.files["/tmp/core"] = {1 << 20, elf_core()};
    recording_sink fresh_sink;
    harness fresh(fresh_docker, {&fresh_sink}, make_config(true));
    auto ev = die();
    ev.fresh = true;
    CHECK(test::run_coro(fresh.runner.run(ev)) == pipeline::outcome::pushed);
    CHECK(fresh_docker.image_lists == 1);
    REQUIRE(fresh_sink.bodies.size() == 1);
    CHECK(fresh_docker.image_lists_at == std::vector<std::size_t>{fresh_docker.calls.size()});

    // Resumed, caught up or queued again: the list before the commit too.
    fake_docker again_docker;
    again_docker.files["/tmp/core"] = {1 << 20, elf_core()};
    recording_sink again_sink;
    harness again(again_docker, {&again_sink}, make_config(true));
    CHECK(test::run_coro(again.runner.run(die())) == pipeline::outcome::pushed);
    CHECK(again_docker.image_lists == 2);
    const auto commit_at = static_cast<std::size_t>(
        std::find_if(again_docker.calls.begin(),
                     again_docker.calls.end(),
                     [](const std::string& c) { return c.starts_with("commit "); }) -
        again_docker.calls.begin());
    CHECK(again_docker.image_lists_at.front() == commit_at);
}

TEST_CASE("pipeline: a failed push keeps the image locally and announces pushed false")
{
    fake_docker docker;
    docker.files["/tmp/heap.hprof"] = {100, "JAVA PROFILE 1.0.2"};
    docker.push_failures = 100;
    recording_sink sink;
    std::vector<std::string> logged;
    test::log_capture capturing(logged);
    harness h(docker, {&sink}, make_config(true));
    auto& runner = h.runner;
    CHECK(test::run_coro(runner.run(die())) == pipeline::outcome::committed);
    capturing.stop();

    CHECK(docker.images ==
          std::vector<std::string>{"127.0.0.1:5000/team/app_2.5-rc1:3bb1f33bb805"});
    CHECK(std::none_of(
        docker.calls.begin(), docker.calls.end(), [](auto& c) { return c.starts_with("delete"); }));
    REQUIRE(sink.bodies.size() == 1);
    auto v = boost::json::parse(sink.bodies[0]).as_object();
    CHECK_FALSE(v.at("pushed").as_bool());
    CHECK(v.at("object").as_string() == "hprof");
    CHECK(std::any_of(logged.begin(), logged.end(), [](const std::string& l) {
        return l.starts_with("error") && l.find("connection refused") != std::string::npos &&
               l.find("kept locally") != std::string::npos;
    }));
}

TEST_CASE("pipeline: a push that fails once is retried within the window")
{
    fake_docker docker;
    docker.files["/tmp/core"] = {4096, elf_core()};
    docker.push_failures = 1;
    recording_sink sink;
    auto cfg = make_config(true);
    cfg.push_retry_window = std::chrono::seconds(5);
    cfg.push_retry_initial = std::chrono::milliseconds(10);
    harness h(docker, {&sink}, cfg);
    auto& runner = h.runner;
    CHECK(test::run_coro(runner.run(die())) == pipeline::outcome::pushed);
    CHECK(std::count_if(docker.calls.begin(), docker.calls.end(), [](auto& c) {
              return c.starts_with("push");
          }) == 2);
    CHECK(docker.images.empty());
}

TEST_CASE("pipeline: without a registry the image is committed locally and kept")
{
    fake_docker docker;
    docker.files["/tmp/core"] = {4096, elf_core()};
    recording_sink sink;
    harness h(docker, {&sink}, make_config(false));
    auto& runner = h.runner;
    CHECK(test::run_coro(runner.run(die())) == pipeline::outcome::committed);
    CHECK(docker.images == std::vector<std::string>{"team/app_2.5-rc1:3bb1f33bb805"});
    REQUIRE(sink.bodies.size() == 1);
    CHECK_FALSE(boost::json::parse(sink.bodies[0]).as_object().at("pushed").as_bool());
}

TEST_CASE("pipeline: --keep-image keeps the pushed image")
{
    fake_docker docker;
    docker.files["/tmp/core"] = {4096, elf_core()};
    auto cfg = make_config(true);
    cfg.keep_image = true;
    harness h(docker, {}, cfg);
    auto& runner = h.runner;
    CHECK(test::run_coro(runner.run(die())) == pipeline::outcome::pushed);
    CHECK(docker.images.size() == 1);
}

TEST_CASE("pipeline: an auto-removed container is a warning naming it, never silent")
{
    fake_docker docker;
    docker.gone = true;
    std::vector<std::string> logged;
    test::log_capture capturing(logged);
    harness h(docker, {}, make_config(true));
    auto& runner = h.runner;
    CHECK(test::run_coro(runner.run(die())) == pipeline::outcome::gone);
    capturing.stop();
    CHECK(runner.counters().auto_removed == 1);
    CHECK(std::any_of(logged.begin(), logged.end(), [](const std::string& l) {
        return l.starts_with("warning") && l.find("crashy") != std::string::npos &&
               l.find("Team/App:2.5-RC1") != std::string::npos;
    }));
}

TEST_CASE("pipeline: a failing sink is logged and does not stop the others")
{
    fake_docker docker;
    docker.files["/tmp/core"] = {4096, elf_core()};
    recording_sink bad, good;
    bad.fail = true;
    harness h(docker, {&bad, &good}, make_config(true));
    auto& runner = h.runner;
    CHECK(test::run_coro(runner.run(die())) == pipeline::outcome::pushed);
    CHECK(bad.bodies.size() == 1);
    CHECK(good.bodies.size() == 1);
    CHECK(runner.counters().notified == 1);
    CHECK(runner.counters().notify_failed == 1);
}

TEST_CASE(
    "pipeline: --dry-run logs what would be done and commits, pushes, deletes and notifies nothing")
{
    fake_docker docker;
    docker.files["/tmp/core"] = {1 << 20, elf_core()};
    recording_sink sink;
    auto cfg = make_config(true);
    cfg.dry_run = true;
    test::temp_dir scratch("ci-dry-run");
    const auto dir = scratch.dir;
    std::vector<std::string> logged;
    {
        state::store store(dir);
        asio::io_context io;
        sinks::outbox box(io.get_executor(), {&sink}, &store, sinks::delivery_config{1});
        pipeline::job_runner runner(docker, box, &store, cfg);
        test::log_capture capturing(logged);
        CHECK(test::run_coro(runner.run(die())) == pipeline::outcome::dry_run);
        capturing.stop();
        // Only the probe and the inspect that names the image: no commit, push or delete.
        CHECK(docker.calls ==
              std::vector<std::string>{"changes", "stat /tmp/core", "read /tmp/core", "inspect"});
        CHECK(docker.images.empty());
        CHECK(sink.bodies.empty());
        CHECK(store.spool_size(sink.name()) == 0);
        CHECK(store.pending_pushes().empty());
        // The dump is not remembered: a later real run still handles it.
        CHECK_FALSE(store.reported(container_id, "/tmp/core", 1 << 20, ""));
        // Still a dry run at the next death: the rate limit counted nothing either.
        CHECK(test::run_coro(runner.run(die())) == pipeline::outcome::dry_run);
    }
    CHECK_FALSE(state::store(dir).reported(container_id, "/tmp/core", 1 << 20, ""));
    std::filesystem::remove_all(dir);

    const std::string ref = "127.0.0.1:5000/team/app_2.5-rc1:3bb1f33bb805";
    auto line = [&](const std::string& needle) {
        return std::any_of(logged.begin(), logged.end(), [&](const std::string& l) {
            return l.starts_with("info dry run: would ") && l.find(needle) != std::string::npos;
        });
    };
    CHECK(line("would commit container crashy (3bb1f33bb805) with core dump /tmp/core as image " +
               ref));
    CHECK(line("would push " + ref + " and then delete it locally"));
    CHECK(line("would notify 1 sink(s) with {"));
    auto it = std::find_if(logged.begin(), logged.end(), [](const std::string& l) {
        return l.find("would notify") != std::string::npos;
    });
    REQUIRE(it != logged.end());
    auto body = boost::json::parse(it->substr(it->find('{'))).as_object();
    CHECK(body.at("name") == "team/app_2.5-rc1");
    CHECK(body.at("tag") == "3bb1f33bb805");
    CHECK(body.at("image").as_string() == ref);
    CHECK(body.at("pushed") == true);
    CHECK(body.at("object") == "core");
    CHECK(body.at("id").as_string() == container_id + "-1795556211143489487");
}

TEST_CASE("pipeline: --dry-run without a dump logs nothing to do")
{
    fake_docker docker;
    docker.files["/tmp/out.log"] = {10, "hello"};
    recording_sink sink;
    auto cfg = make_config(true);
    cfg.dry_run = true;
    std::vector<std::string> logged;
    test::log_capture capturing(logged);
    harness h(docker, {&sink}, cfg);
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::no_dump);
    capturing.stop();
    CHECK(docker.calls == std::vector<std::string>{"changes"});
    CHECK(std::none_of(logged.begin(), logged.end(), [](const std::string& l) {
        return l.find("dry run") != std::string::npos;
    }));
}

TEST_CASE("pipeline: --dump-path on a clean exit costs one more call per directory")
{
    fake_docker docker;
    docker.files["/tmp/out.log"] = {10, "hello"};
    docker.archives["/dumps"] = tar_member("dumps/notes.txt", "nothing to see") + tar_end();
    recording_sink sink;
    auto cfg = make_config(true);
    cfg.dump_paths = {"/dumps", "/var/crash"};  // the second does not exist
    harness h(docker, {&sink}, cfg);
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::no_dump);
    CHECK(docker.calls == std::vector<std::string>{"changes", "probe /dumps", "probe /var/crash"});
    CHECK(docker.probe_bytes == 3 * 512);
    CHECK(docker.put.empty());
    CHECK(sink.bodies.empty());
}

TEST_CASE("pipeline: a dump only in a mount is copied into the container, committed and announced")
{
    fake_docker docker;
    const std::string core = elf_core() + std::string(100000, 'c');
    docker.files["/tmp/out.log"] = {10, "hello"};
    docker.archives["/dumps"] =
        tar_member("dumps/a.txt", "x") + tar_member("dumps/core", core) + tar_end();
    recording_sink sink;
    auto cfg = make_config(true);
    cfg.dump_paths = {"/dumps"};
    harness h(docker, {&sink}, cfg);
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::pushed);
    const std::string ref = "127.0.0.1:5000/team/app_2.5-rc1:3bb1f33bb805";
    CHECK(docker.calls ==
          std::vector<std::string>{"changes",
                                   "probe /dumps",
                                   "inspect",
                                   "copy /dumps",
                                   "put /",
                                   "commit 127.0.0.1:5000/team/app_2.5-rc1:3bb1f33bb805",
                                   "push " + ref + " auth=e30=",
                                   "delete " + ref});
    // The probe stopped at the core's first block.
    CHECK(docker.probe_bytes == 4 * 512);
    CHECK(docker.put.find("core_interceptor/dumps/dumps/core") == 0);
    CHECK(docker.put.find(core) != std::string::npos);
    REQUIRE(sink.bodies.size() == 1);
    auto v = boost::json::parse(sink.bodies[0]).as_object();
    CHECK(v.at("object") == "core");
    auto& d = v.at("dumps").as_array().at(0).as_object();
    CHECK(d.at("path") == "/core_interceptor/dumps/dumps/core");
    CHECK(d.at("original_path") == "/dumps/core");
    CHECK(d.at("copied") == true);
    CHECK(d.at("size").to_number<std::int64_t>() == static_cast<std::int64_t>(core.size()));
}

TEST_CASE(
    "pipeline: --dry-run with a dump in a mount lists it and writes nothing into the container")
{
    fake_docker docker;
    const std::string core = elf_core() + std::string(100000, 'c');
    docker.files["/tmp/out.log"] = {10, "hello"};
    docker.archives["/dumps"] = tar_member("dumps/core", core) + tar_end();
    recording_sink sink;
    auto cfg = make_config(true);
    cfg.dump_paths = {"/dumps"};
    cfg.dry_run = true;
    std::vector<std::string> logged;
    test::log_capture capturing(logged);
    harness h(docker, {&sink}, cfg);
    const auto result = test::run_coro(h.runner.run(die()));
    capturing.stop();
    CHECK(result == pipeline::outcome::dry_run);
    // Read to list the dumps; no PUT, no commit, push, delete or notification.
    CHECK(docker.calls ==
          std::vector<std::string>{"changes", "probe /dumps", "inspect", "copy /dumps"});
    CHECK(docker.put.empty());
    CHECK(sink.bodies.empty());
    auto said = [&](const std::string& needle) {
        return std::any_of(logged.begin(), logged.end(), [&](const std::string& l) {
            return l.find(needle) != std::string::npos;
        });
    };
    CHECK(said("dry run: would copy core dump /dumps/core (" + std::to_string(core.size()) +
               " bytes) of container crashy to /core_interceptor/dumps/dumps/core"));
    CHECK(said("dry run: would notify"));
    CHECK(said("/core_interceptor/dumps/dumps/core"));
}

TEST_CASE("pipeline: a mount dump over --max-dump-size is announced, not copied")
{
    fake_docker docker;
    docker.files["/tmp/java.hprof"] = {30, "JAVA PROFILE 1.0.2 and more..."};
    docker.archives["/dumps"] =
        tar_member("dumps/core", elf_core() + std::string(5000, 'c')) + tar_end();
    recording_sink sink;
    auto cfg = make_config(true);
    cfg.dump_paths = {"/dumps"};
    cfg.max_dump_size = 4096;
    harness h(docker, {&sink}, cfg);
    std::vector<std::string> logged;
    test::log_capture capturing(logged);
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::pushed);
    capturing.stop();
    CHECK(docker.put.empty());
    CHECK(std::find(docker.calls.begin(), docker.calls.end(), "put /") == docker.calls.end());
    CHECK(std::any_of(logged.begin(), logged.end(), [](const std::string& l) {
        return l.starts_with("warning") && l.find("/dumps/core") != std::string::npos &&
               l.find("crashy") != std::string::npos && l.find("5032 bytes") != std::string::npos &&
               l.find("--max-dump-size") != std::string::npos;
    }));
    REQUIRE(sink.bodies.size() == 1);
    auto v = boost::json::parse(sink.bodies[0]).as_object();
    CHECK(v.at("object") == "core");
    auto& dumps = v.at("dumps").as_array();
    REQUIRE(dumps.size() == 2);
    CHECK(dumps.at(0).as_object().at("path") == "/tmp/java.hprof");
    CHECK_FALSE(dumps.at(0).as_object().contains("copied"));
    CHECK(dumps.at(1).as_object().at("path") == "/dumps/core");
    CHECK(dumps.at(1).as_object().at("copied") == false);
}

TEST_CASE("pipeline: a --dump-path that is not a mount does not copy layer dumps twice")
{
    fake_docker docker;
    docker.files["/tmp/core"] = {1 << 20, elf_core()};
    docker.archives["/tmp"] = tar_member("tmp/core", elf_core()) + tar_end();
    recording_sink sink;
    auto cfg = make_config(false);
    cfg.dump_paths = {"/tmp"};
    harness h(docker, {&sink}, cfg);
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::committed);
    CHECK(std::find(docker.calls.begin(), docker.calls.end(), "copy /tmp") == docker.calls.end());
    CHECK(docker.put.empty());
    REQUIRE(sink.bodies.size() == 1);
    CHECK(boost::json::parse(sink.bodies[0]).at("dumps").as_array().size() == 1);
}

TEST_CASE("pipeline: a probe out of budget leaves the decision to a full scan")
{
    fake_docker docker;
    std::string tar;
    for (int i = 0; i < 200; ++i)
        tar += tar_member("dumps/log" + std::to_string(i) + ".txt", std::string(400, 'l'));
    tar += tar_member("dumps/zz.core", elf_core()) + tar_end();
    docker.archives["/dumps"] = tar;
    recording_sink sink;
    auto cfg = make_config(false);
    cfg.dump_paths = {"/dumps"};
    cfg.dump_path_probe_bytes = 64 * 1024;
    harness h(docker, {&sink}, cfg);
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::committed);
    CHECK(docker.probe_bytes == 64 * 1024);
    CHECK(docker.put.find("core_interceptor/dumps/dumps/zz.core") == 0);
    REQUIRE(sink.bodies.size() == 1);
}

TEST_CASE("pipeline: a mount dump older than the run that died is another container's")
{
    fake_docker docker;
    docker.files["/tmp/out.log"] = {10, "hello"};
    // Written an hour before this run started (die() is at 1795556211.14 s).
    docker.archives["/dumps"] = tar_member("dumps/core", elf_core(), 1795552000) + tar_end();
    docker.started_nano = 1795556000LL * 1'000'000'000;
    recording_sink sink;
    auto cfg = make_config(true);
    cfg.dump_paths = {"/dumps"};
    harness h(docker, {&sink}, cfg);
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::no_dump);
    CHECK(docker.put.empty());
    CHECK(docker.images.empty());
    CHECK(sink.bodies.empty());

    // The same dump written during the run is its own.
    fake_docker again;
    again.files["/tmp/out.log"] = {10, "hello"};
    again.archives["/dumps"] = tar_member("dumps/core", elf_core(), 1795556100) + tar_end();
    again.started_nano = 1795556000LL * 1'000'000'000;
    harness h2(again, {&sink}, cfg);
    CHECK(test::run_coro(h2.runner.run(die())) == pipeline::outcome::pushed);
    CHECK_FALSE(again.put.empty());
    CHECK(sink.bodies.size() == 1);
}

TEST_CASE("pipeline: a full local disk while copying a mount dump is not an Engine outage")
{
    fake_docker docker;
    docker.files["/tmp/core"] = {32, elf_core()};
    docker.archives["/dumps"] =
        tar_member("dumps/core", elf_core() + std::string(5000, 'c')) + tar_end();
    docker.copy_disk_full = true;
    recording_sink sink;
    auto cfg = make_config(true);
    cfg.dump_paths = {"/dumps"};
    harness h(docker, {&sink}, cfg);
    // Not engine_unavailable: the death is not requeued, the layer's own dump is committed.
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::pushed);
    REQUIRE(sink.bodies.size() == 1);
    auto v = boost::json::parse(sink.bodies[0]).as_object();
    auto& dumps = v.at("dumps").as_array();
    REQUIRE(dumps.size() == 2);
    auto& d = dumps.at(1).as_object();
    CHECK(d.at("original_path") == "/dumps/core");
    CHECK(d.at("copied") == false);
    CHECK(std::string(d.at("reason").as_string()).find("local I/O error") != std::string::npos);
}

TEST_CASE("pipeline: --max-per-container counts commits made, not attempts")
{
    fake_docker docker;
    docker.files["/tmp/core"] = {32, elf_core()};
    docker.commit_failures = 2;
    recording_sink sink;
    auto cfg = make_config(true);
    cfg.max_per_container = 1;
    harness h(docker, {&sink}, cfg);
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::commit_failed);
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::commit_failed);
    CHECK(test::run_coro(h.runner.run(die())) ==
          pipeline::outcome::pushed);  // the first commit made
    CHECK(test::run_coro(h.runner.run(die())) == pipeline::outcome::rate_limited);
    CHECK(h.runner.counters().rate_limited == 1);
}
