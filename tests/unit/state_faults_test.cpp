// SPDX-License-Identifier: MIT
// The state directory when writes fail (issue 10): nothing throws, nothing is lost while the
// process runs, the problem is reported until the state has caught up; one process per
// directory.
#include "state/lock.hpp"
#include "state/store.hpp"
#include "toolbox.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace core_interceptor;
namespace fs = std::filesystem;

TEST_CASE("state faults: a spool that cannot be written holds the notification in memory, then "
          "catches up")
{
    test::temp_dir t("ci-state-faults");
    state::store s(t.dir);
    // A file where the sink's spool directory should be: every write there fails (ENOTDIR),
    // as a full or read-only file system would, without needing root.
    std::ofstream(t.dir / "spool" / "rest") << "in the way";
    CHECK(s.spool("rest", "id-1", "k:1", "{\"n\":1}"));  // the error, as a value
    CHECK(s.spool("rest", "id-2", "k:2", "{\"n\":2}"));
    CHECK(s.problem().has_value());
    CHECK(s.problem()->find("not writable") != std::string::npos);
    CHECK(s.write_errors() >= 2);
    CHECK(s.spool_size("rest") == 2);
    auto held = s.spooled_for("rest");
    REQUIRE(held.size() == 2);
    CHECK(held[0].id == "id-1");
    CHECK(held[0].file.empty());  // in memory

    // Space is back: the held notifications are written, in order, and the problem is gone.
    s.catch_up();
    CHECK(s.problem().has_value());  // still in the way
    fs::remove(t.dir / "spool" / "rest");
    s.catch_up();
    CHECK_FALSE(s.problem().has_value());
    CHECK(test::json_files_in(t.dir / "spool" / "rest") == 2);
    auto on_disk = s.spooled_for("rest");
    REQUIRE(on_disk.size() == 2);
    CHECK(on_disk[0].id == "id-1");
    CHECK_FALSE(on_disk[0].file.empty());
    s.unspool(on_disk[0]);
    CHECK(s.spool_size("rest") == 1);
}

TEST_CASE("state faults: a held notification delivered before catch-up is simply forgotten")
{
    test::temp_dir t("ci-state-faults");
    state::store s(t.dir);
    std::ofstream(t.dir / "spool" / "kafka") << "in the way";
    s.spool("kafka", "id-1", "k", "{}");
    auto held = s.spooled_for("kafka");
    REQUIRE(held.size() == 1);
    s.unspool(held[0]);
    CHECK(s.spool_size("kafka") == 0);
    fs::remove(t.dir / "spool" / "kafka");
    s.catch_up();
    CHECK_FALSE(s.problem().has_value());
    CHECK(test::json_files_in(t.dir / "spool" / "kafka") == 0);
}

TEST_CASE("state faults: state.json that cannot be written is written again once it can")
{
    test::temp_dir t("ci-state-faults");
    {
        state::store s(t.dir);
        fs::create_directories(t.dir / "state.json" / "x");  // rename over a directory fails
        s.mark_reported("aaaa", "/tmp/core", 42, "2026-11-24T21:36:42Z");
        CHECK(s.save_reported());
        CHECK(s.problem().has_value());
        CHECK(s.reported("aaaa", "/tmp/core", 42, "2026-11-24T21:36:42Z"));  // in memory meanwhile
        fs::remove_all(t.dir / "state.json");
        s.catch_up();
        CHECK_FALSE(s.problem().has_value());
    }
    CHECK(state::store(t.dir).reported("aaaa", "/tmp/core", 42, "2026-11-24T21:36:42Z"));
}

TEST_CASE("state faults: a start on an unwritable directory is reported, not fatal")
{
    test::temp_dir t("ci-state-faults");
    fs::create_directories(t.dir / ".writable.tmp" / "x");  // the start-up probe cannot be made
    state::store s(t.dir);
    CHECK(s.problem().has_value());
    fs::remove_all(t.dir / ".writable.tmp");
    s.catch_up();  // nothing was left to write
    CHECK_FALSE(s.problem().has_value());
}

TEST_CASE("state faults: spool files never replace one another")
{
    test::temp_dir t("ci-state-faults");
    state::store s(t.dir);
    s.spool("rest", "id-1", "k", "{}");
    // A file appears with the number the next spool takes (a leftover, another writer): kept.
    std::ofstream(t.dir / "spool" / "rest" / "00000000000000000002.json")
        << R"({"id":"other","body":"{}"})";
    CHECK_FALSE(s.spool("rest", "id-2", "k", "{}"));
    CHECK_FALSE(s.spool("rest", "id-3", "k", "{}"));
    CHECK(test::json_files_in(t.dir / "spool" / "rest") == 4);
    auto all = s.spooled_for("rest");
    REQUIRE(all.size() == 4);
    CHECK(all[0].id == "id-1");
    CHECK(all[1].id == "other");
    CHECK(all[2].id == "id-2");
    CHECK(all[3].id == "id-3");
}

TEST_CASE(
    "state faults: the spool is read a batch at a time, oldest first, and counted without a scan")
{
    test::temp_dir t("ci-state-faults");
    state::store s(t.dir);
    for (int i = 0; i < 50; ++i)
        s.spool("rest", "id-" + std::to_string(i), "k", "{}");
    auto first = s.spooled_for("rest", 8);
    REQUIRE(first.size() == 8);
    CHECK(first[0].id == "id-0");
    CHECK(first[7].id == "id-7");
    CHECK(s.spool_size("rest") == 50);
    CHECK(state::store(t.dir).spool_size("rest") == 50);  // counted once at start
}

TEST_CASE("state faults: a dead letter is kept with its sink, reason and body")
{
    test::temp_dir t("ci-state-faults");
    state::store s(t.dir);
    state::spooled item{{}, 0, "id-9", "k:9", "{\"big\":true}"};
    CHECK_FALSE(s.dead_letter("kafka", item, "Broker: Message size too large"));
    CHECK(s.dead_letters() == 1);
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(t.dir / "dead-letter")) {
        ++n;
        std::ifstream in(e.path());
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CHECK(text.find("\"reason\":\"Broker: Message size too large\"") != std::string::npos);
        CHECK(text.find("\"sink\":\"kafka\"") != std::string::npos);
        CHECK(text.find("id-9") != std::string::npos);
        CHECK(e.path().filename().string().rfind("kafka-", 0) == 0);
    }
    CHECK(n == 1);
}

TEST_CASE("state faults: reported dumps are saved once per job and old marks expire")
{
    test::temp_dir t("ci-state-faults");
    {
        state::store s(t.dir);
        for (int i = 0; i < 100; ++i)
            s.mark_reported("aaaa", "/dumps/core." + std::to_string(i), 1, "1");
        CHECK_FALSE(fs::exists(t.dir / "state.json"));  // nothing written per dump
        CHECK_FALSE(s.save_reported());
        CHECK(fs::exists(t.dir / "state.json"));
    }
    // Age the marks of "aaaa" beyond the time to live.
    {
        std::ifstream in(t.dir / "state.json");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto at = text.find("\"reported_at\":{\"aaaa\":");
        REQUIRE(at != std::string::npos);
        const auto start = at + std::string("\"reported_at\":{\"aaaa\":").size();
        const auto end = text.find('}', start);
        text.replace(start, end - start, "1000");
        std::ofstream(t.dir / "state.json", std::ios::trunc) << text;
    }
    state::store s(t.dir);
    CHECK(s.reported("aaaa", "/dumps/core.5", 1, "1"));  // loaded as they are
    s.mark_reported("bbbb", "/core", 1, "1");
    CHECK_FALSE(s.save_reported());
    CHECK_FALSE(state::store(t.dir).reported("aaaa", "/dumps/core.5", 1, "1"));  // expired
    CHECK(state::store(t.dir).reported("bbbb", "/core", 1, "1"));
}

TEST_CASE("state lock: a second holder is refused with the first one's PID; released when it ends")
{
    test::temp_dir t("ci-state-faults");
    {
        state::directory_lock first(t.dir);
        // Another process: flock locks belong to the open file, so a child opening the file
        // again contends like a second daemon would.
        pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            int code = 0;
            try {
                state::directory_lock second(t.dir);
                code = 3;  // taken twice: wrong
            } catch (const state::directory_in_use& e) {
                code = e.holder == ::getppid() &&
                               std::string(e.what()).find(std::to_string(::getppid())) !=
                                   std::string::npos
                           ? 0
                           : 4;
            } catch (...) {
                code = 5;
            }
            ::_exit(code);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    // Released: the next one takes it.
    state::directory_lock again(t.dir);
    std::ifstream in(t.dir / "lock");
    long pid = 0;
    in >> pid;
    CHECK(pid == ::getpid());
}

TEST_CASE("state faults: a spool above its threshold is flagged and nothing is dropped")
{
    test::temp_dir t("ci-state-faults");
    state::store s(t.dir);
    s.set_spool_warning(3);
    for (int i = 0; i < 5; ++i)
        s.spool("kafka", "id-" + std::to_string(i), "k", "{}");
    CHECK(s.spool_size("kafka") == 5);
    CHECK(s.spool_sizes().at("kafka") > s.spool_warning());
    CHECK(test::json_files_in(t.dir / "spool" / "kafka") == 5);
}

TEST_CASE("state faults: a failed per-event record is retried, and never over a newer one")
{
    test::temp_dir t("ci-state-faults");
    state::store s(t.dir);
    fs::create_directories(t.dir / "last_event.tmp" / "x");  // the event time cannot be written
    s.set_last_event_nano(100);
    s.flush();
    CHECK(s.problem().has_value());
    fs::remove_all(t.dir / "last_event.tmp");
    s.set_last_event_nano(200);  // written: the failed 100 must not come back over it
    s.flush();
    s.catch_up();
    s.flush();
    CHECK_FALSE(s.problem().has_value());
    std::ifstream in(t.dir / "last_event");
    long long v = 0;
    in >> v;
    CHECK(v == 200);
}
