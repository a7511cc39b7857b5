// SPDX-License-Identifier: MIT
#include "state/store.hpp"
#include "toolbox.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace core_interceptor;
namespace fs = std::filesystem;

namespace {

domain::die_event ev(std::string id, std::int64_t t)
{
    return {std::move(id), "name", "img:1", t};
}

}  // namespace

TEST_CASE("state: last event time, unfinished jobs and reported dumps survive a restart")
{
    test::temp_dir t("ci-state");
    {
        state::store s(t.dir);
        CHECK(s.last_event_nano() == 0);
        s.set_last_event_nano(200);
        s.set_last_event_nano(100);  // older: ignored
        s.job_started(ev("bbbb", 20));
        s.job_started(ev("aaaa", 10));
        s.job_started(ev("cccc", 30));
        s.job_finished(ev("cccc", 30));
        s.mark_reported("aaaa", "/tmp/core", 42, "2026-11-24T21:36:42Z");
    }
    state::store s(t.dir);
    CHECK(s.last_event_nano() == 200);
    auto jobs = s.unfinished_jobs();
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[0].id == "aaaa");  // oldest first
    CHECK(jobs[1].id == "bbbb");
    CHECK(jobs[1].name == "name");
    CHECK(s.reported("aaaa", "/tmp/core", 42, "2026-11-24T21:36:42Z"));
    CHECK_FALSE(s.reported("aaaa", "/tmp/core", 43, "2026-11-24T21:36:42Z"));  // a new dump
    CHECK_FALSE(s.reported("aaaa", "/tmp/core", 42, "2026-11-24T21:40:00Z"));  // rewritten
    CHECK_FALSE(s.reported("bbbb", "/tmp/core", 42, "2026-11-24T21:36:42Z"));
}

TEST_CASE("state: a torn or corrupt file is set aside, never a reason to refuse to start")
{
    test::temp_dir t("ci-state");
    {
        state::store s(t.dir);
        s.set_last_event_nano(5);
        s.job_started(ev("aaaa", 1));
    }
    std::ofstream(t.dir / "state.json", std::ios::trunc) << "{\"last_event_nano\": 12";  // torn
    fs::remove(t.dir / "last_event");
    std::ofstream(t.dir / "jobs" / "zzzz-9.json") << "\x01\x02 not json";
    state::store s(t.dir);
    CHECK(s.last_event_nano() == 0);
    CHECK(fs::exists(t.dir / "state.json.corrupt"));
    auto jobs = s.unfinished_jobs();
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].id == "aaaa");
    CHECK(fs::exists(t.dir / "jobs" / "zzzz-9.json.corrupt"));
    // And it keeps working.
    s.set_last_event_nano(7);
    s.flush();  // the event time is written by the store's writer thread
    CHECK(state::store(t.dir).last_event_nano() == 7);
}

TEST_CASE("state: the spool keeps order per sink across restarts")
{
    test::temp_dir t("ci-state");
    {
        state::store s(t.dir);
        s.spool("rest", "id-1", "k:1", "{\"n\":1}");
        s.spool("kafka", "id-1", "k:1", "{\"n\":1}");
        s.spool("rest", "id-2", "k:2", "{\"n\":2}");
    }
    state::store s(t.dir);
    s.spool("rest", "id-3", "k:3", "{\"n\":3}");
    auto rest = s.spooled_for("rest");
    REQUIRE(rest.size() == 3);
    CHECK(rest[0].id == "id-1");
    CHECK(rest[1].id == "id-2");
    CHECK(rest[2].id == "id-3");
    CHECK(rest[2].key == "k:3");
    CHECK(rest[2].body == "{\"n\":3}");
    s.unspool(rest[0]);
    CHECK(s.spool_size("rest") == 2);
    CHECK(s.spool_size("kafka") == 1);
    CHECK(s.spooled_for("kafka")[0].id == "id-1");
}

TEST_CASE("state: failed pushes are remembered until pushed")
{
    test::temp_dir t("ci-state");
    state::store s(t.dir);
    s.add_pending_push("127.0.0.1:5000/app_1", "3bb1f33bb805", "{\"pushed\":false}");
    auto p = s.pending_pushes();
    REQUIRE(p.size() == 1);
    CHECK(p[0].repository == "127.0.0.1:5000/app_1");
    CHECK(p[0].tag == "3bb1f33bb805");
    s.remove_pending_push(p[0]);
    CHECK(state::store(t.dir).pending_pushes().empty());
}

TEST_CASE("state: writes are atomic: no temporary file is left behind")
{
    test::temp_dir t("ci-state");
    state::write_file_atomically(t.dir / "x.json", "{}");
    state::write_file_atomically(t.dir / "x.json", "{\"a\":1}");
    std::ifstream in(t.dir / "x.json");
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(content == "{\"a\":1}");
    CHECK_FALSE(fs::exists(t.dir / "x.json.tmp"));
}

TEST_CASE(
    "state: the event time is written unsynced on its own; lost, the synced state.json's counts")
{
    test::temp_dir t("ci-state");
    {
        state::store s(t.dir);
        s.mark_reported("aaaa", "/tmp/core", 42, "2026-11-24T21:36:42Z");  // state.json, synced
        s.set_last_event_nano(500);
    }
    CHECK(state::store(t.dir).last_event_nano() == 500);
    // A crash left the unsynced file empty: the time falls back to state.json's (0 here), which
    // only widens the next catch-up; the reported dumps are intact.
    std::ofstream(t.dir / "last_event", std::ios::trunc).flush();
    state::store s(t.dir);
    CHECK(s.last_event_nano() == 0);
    CHECK(s.reported("aaaa", "/tmp/core", 42, "2026-11-24T21:36:42Z"));
    s.set_last_event_nano(600);
    s.flush();  // the write is queued to the store's writer thread
    CHECK(state::store(t.dir).last_event_nano() == 600);
}

TEST_CASE("state: deaths handled before their record was written leave nothing; the rest is on "
          "disk in order")
{
    test::temp_dir t("ci-state");
    {
        state::store s(t.dir);
        for (int i = 0; i < 500; ++i) {
            const auto e = ev("c" + std::to_string(i), 1000 + i);
            s.job_started(e);
            s.set_last_event_nano(1000 + i);
            if (i % 100 != 7)
                s.job_finished(e);
        }
        s.flush();
        std::size_t files = 0;
        for ([[maybe_unused]] const auto& f : fs::directory_iterator(t.dir / "jobs"))
            ++files;
        CHECK(files == 5);
    }
    state::store s(t.dir);
    CHECK(s.last_event_nano() == 1499);
    auto jobs = s.unfinished_jobs();
    REQUIRE(jobs.size() == 5);
    CHECK(jobs.front().id == "c7");
    CHECK(jobs.back().id == "c407");
}
