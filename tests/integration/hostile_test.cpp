// SPDX-License-Identifier: MIT
// Issue 10, "nothing lost when the host turns hostile": a state directory that fills up, a
// notification a sink refuses for ever, a sink asking to slow down, a second instance on the
// same state directory, a volume holding thousands of dumps. Real parts, loopback only.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/net.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <librdkafka/rdkafka.h>

#include <sys/mount.h>
#include <unistd.h>

#include <fstream>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::size_t json_files(const fs::path& d)
{
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec))
        n += e.path().extension() == ".json";
    return n;
}

std::size_t images_left(shared_parts& p, const std::vector<container>& cs)
{
    std::size_t n = 0;
    for (const auto& c : cs)
        n += local_images_tagged(p, c.tag()).size();
    return n;
}

/// A tmpfs of `size` mounted on `dir` for the life of the object (root only).
struct small_fs {
    fs::path dir;
    bool mounted = false;
    small_fs(fs::path d, const char* size) : dir(std::move(d))
    {
        fs::create_directories(dir);
        const std::string opts = std::string("size=") + size + ",mode=0700";
        mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
    }
    ~small_fs()
    {
        if (mounted)
            ::umount2(dir.c_str(), MNT_DETACH);
    }
};

/// Fills the file system of `dir` with one file until a write fails; its path.
fs::path fill_up(const fs::path& dir)
{
    const fs::path f = dir / "ballast";
    std::ofstream out(f, std::ios::binary);
    const std::string block(4096, 'x');
    while (out.write(block.data(), static_cast<std::streamsize>(block.size())) && out.flush()) {
    }
    return f;
}

std::optional<ts::http_reply> healthz(unsigned short port)
{
    return ts::http_get(port, "/healthz", 3s);
}

}  // namespace

TEST_CASE_FIXTURE(
    scene,
    "hostile: a second instance on the same state directory exits 2 naming the PID; the first "
    "still handles a crash")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    const auto state = work / "state";
    daemon_under_test first(work.path(), fault_daemon_args(*p, kafka.bootstraps(), "", state));
    INFO("first daemon log:\n", first.log_tail(40));
    start_watching(first);

    const auto start = std::chrono::steady_clock::now();
    fs::create_directories(work / "second");
    daemon_under_test second(work / "second", fault_daemon_args(*p, kafka.bootstraps(), "", state));
    auto st = second.proc().wait_for(15s);
    REQUIRE_MESSAGE(st.has_value(), "the second instance is still running:\n", second.log_tail());
    CHECK(st->exited);
    CHECK(st->code == 2);
    const auto log = second.log();
    MESSAGE("second instance: ", log);
    CHECK(log.find(std::to_string(first.pid())) != std::string::npos);
    CHECK(log.find("state") != std::string::npos);
    CHECK(std::count(log.begin(), log.end(), '\n') == 1);

    // A --process run on the same directory too.
    fs::create_directories(work / "third");
    auto args = fault_daemon_args(*p, kafka.bootstraps(), "", state);
    args.insert(args.end(), {"--process", "nothing-here"});
    daemon_under_test third(work / "third", args);
    auto st3 = third.proc().wait_for(15s);
    REQUIRE(st3.has_value());
    CHECK(st3->code == 2);
    CHECK(third.log().find(std::to_string(first.pid())) != std::string::npos);

    // The first is unharmed: it still handles a death end to end.
    REQUIRE(first.running());
    std::vector<container> cs{
        start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("h6"))};
    wait_exited(*p, cs);
    const auto waited = wait_all(
        {{"Kafka", [&] { return sink_complete(kafka_record(kafka), ids_of(cs), true); }}}, 90s);
    CHECK(waited.converged);
    MESSAGE("fault: second instance; deaths 1, notifications ",
            kafka_record(kafka).ids().size(),
            ", ",
            waited.describe(),
            ", total ",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
            " s");
    stop_cleanly(first);
    MESSAGE("images left behind: ", images_left(*p, cs));
    CHECK(images_left(*p, cs) == 0);
    clean_up(*p, cs);
}

TEST_CASE_FIXTURE(
    scene,
    "hostile: the state directory fills up mid-burst: the daemon stays up, every death is pushed "
    "and announced, /healthz says why; freed, the state is written again")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    if (::geteuid() != 0) {
        MESSAGE("skipped: mounting a tmpfs needs root");
        return;
    }
    small_fs tiny(work / "state", "256k");
    REQUIRE_MESSAGE(tiny.mounted, "cannot mount a tmpfs on ", (work / "state").string());
    const auto port = ts::free_port();
    auto args = fault_args();
    args.insert(args.end(), {"--metrics-address", "127.0.0.1:" + std::to_string(port)});
    daemon_under_test daemon(work.path(), args);
    INFO("daemon log:\n", daemon.log_tail(60));
    start_watching(daemon);

    // Kafka down: its notifications must go to the spool, which cannot be written.
    kafka.set_down();
    std::vector<container_spec> specs;
    std::vector<std::string> names;
    for (int i = 0; i < 6; ++i) {
        specs.push_back({"core", crash_with_core(), 139, "core"});
        names.push_back(unique_name("h1"));
    }
    const auto ballast = fill_up(work / "state");
    const auto start = std::chrono::steady_clock::now();
    auto cs = start_containers_at_once(*p, specs, names, work.path());
    wait_exited(*p, cs);
    const auto expected = ids_of(cs);

    // REST gets everything at once; the registry has every image.
    auto waited = wait_all(
        {{"REST", [&] { return sink_complete(rest_record(rest), expected, true); }}}, 120s);
    CHECK_MESSAGE(waited.converged, "REST: ", describe(rest_record(rest)));
    std::this_thread::sleep_for(5s);  // Kafka deliveries time out (3 s) into the unwritable spool
    REQUIRE_MESSAGE(daemon.running(), "the daemon died on a full state directory");
    auto h = healthz(port);
    REQUIRE(h.has_value());
    CHECK(h->status == 503);
    CHECK(h->body.find("not writable") != std::string::npos);
    MESSAGE("/healthz while full: ", h->status, " ", h->body);
    auto m = ts::http_get(port, "/metrics", 3s);
    REQUIRE(m.has_value());
    CHECK(m->body.find("core_interceptor_state_write_errors_total ") != std::string::npos);
    CHECK(m->body.find("core_interceptor_state_write_errors_total 0\n") == std::string::npos);
    CHECK(wait_for_log(daemon, "held in memory", 5s));

    // Space freed and Kafka back: the held notifications are spooled, delivered, the state
    // caught up and /healthz healthy again.
    fs::remove(ballast);
    kafka.set_up();
    const auto freed = std::chrono::steady_clock::now();
    auto after = wait_all(
        {{"Kafka", [&] { return sink_complete(kafka_record(kafka), expected, true); }},
         {"healthz",
          [&] {
              auto r = healthz(port);
              return r && r->status == 200;
          }},
         {"state.json", [&] { return fs::exists(work / "state" / "state.json"); }},
         {"spool drained", [&] { return json_files(work / "state" / "spool" / "kafka") == 0; }}},
        120s);
    CHECK_MESSAGE(after.converged, after.describe());
    CHECK(wait_for_log(daemon, "caught up", 10s));
    REQUIRE(daemon.running());
    const auto k = kafka_record(kafka);
    const auto r = rest_record(rest);
    check_sink("Kafka", k, expected, true);
    check_sink("REST", r, expected, true);
    stop_cleanly(daemon);
    MESSAGE("fault: state directory full; deaths ",
            cs.size(),
            ", notifications delivered Kafka ",
            k.ids().size(),
            " REST ",
            r.ids().size(),
            ", images left behind ",
            images_left(*p, cs),
            ", REST converged in ",
            waited.describe(),
            ", after space was freed ",
            after.describe(),
            " (",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - freed).count(),
            " s), total ",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
            " s");
    CHECK(images_left(*p, cs) == 0);
    clean_up(*p, cs);
}

TEST_CASE_FIXTURE(
    scene,
    "hostile: a Kafka message the broker refuses for ever lands in the dead letters; the next ones "
    "are delivered")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    const auto state = work / "state";
    auto& daemon = watch(fault_daemon_args(*p, kafka.bootstraps(), "", state));
    INFO("daemon log:\n", daemon.log_tail(60));

    // The broker refuses the next produce requests as too large, as a lowered
    // message.max.bytes would: librdkafka retries nothing of it.
    kafka.refuse_next_produce(1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    const auto start = std::chrono::steady_clock::now();
    std::vector<container> cs{
        start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("h3a"))};
    wait_exited(*p, cs);
    REQUIRE_MESSAGE(wait_until([&] { return json_files(state / "dead-letter") >= 1; }, 60s),
                    "nothing in the dead letters");
    const auto refused_at = std::chrono::steady_clock::now();
    std::string letter;
    for (const auto& e : fs::directory_iterator(state / "dead-letter")) {
        std::ifstream in(e.path());
        letter.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    MESSAGE("dead letter: ", letter);
    CHECK(letter.find(cs[0].id) != std::string::npos);
    CHECK(letter.find("MSG_SIZE_TOO_LARGE") != std::string::npos);
    CHECK(wait_for_log(daemon, "refused notification", 5s));

    // The next deaths are delivered, nothing waits behind the refused one.
    std::vector<container> more{
        start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("h3b")),
        start_container(
            *p, {"hprof", write_hprof("/tmp/heap.hprof", 3), 3, "hprof"}, unique_name("h3c"))};
    wait_exited(*p, more);
    auto waited = wait_all({{"Kafka",
                             [&] {
                                 return sink_complete(kafka_record(kafka), ids_of(more), true) ||
                                        kafka_record(kafka).ids().size() >= 2;
                             }}},
                           60s);
    CHECK(waited.converged);
    const auto k = kafka_record(kafka);
    for (const auto& c : more)
        CHECK_MESSAGE(!k.ids_of(c.id).empty(), "not delivered: ", c.name);
    CHECK(k.ids_of(cs[0].id).empty());
    CHECK(json_files(state / "spool" / "kafka") == 0);
    stop_cleanly(daemon);
    std::vector<container> all = cs;
    all.insert(all.end(), more.begin(), more.end());
    MESSAGE("fault: Kafka message refused for ever; deaths 3, notifications delivered ",
            k.ids().size(),
            ", dead letters ",
            json_files(state / "dead-letter"),
            ", images left behind ",
            images_left(*p, all),
            ", refused in ",
            std::chrono::duration<double>(refused_at - start).count(),
            " s, the next ones ",
            waited.describe());
    CHECK(images_left(*p, all) == 0);
    clean_up(*p, all);
}

TEST_CASE_FIXTURE(
    scene,
    "hostile: a REST sink answering 429 with Retry-After: 1, then 200: delivered, not dropped")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    rest.fail_next(2, 429, "1");
    auto args = fault_daemon_args(*p, "", rest.url(), work / "state");
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail(60));
    const auto start = std::chrono::steady_clock::now();
    std::vector<container> cs{
        start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("h3r"))};
    wait_exited(*p, cs);
    auto waited = wait_all(
        {{"REST", [&] { return sink_complete(rest_record(rest), ids_of(cs), true); }}}, 60s);
    CHECK(waited.converged);
    const auto reqs = rest.requests();
    REQUIRE(reqs.size() >= 3);
    CHECK(reqs[0].status == 429);
    CHECK(reqs[1].status == 429);
    CHECK(reqs[2].status == 200);
    CHECK(json_files(work / "state" / "dead-letter") == 0);
    stop_cleanly(daemon);
    MESSAGE("fault: REST 429 twice with Retry-After: 1; deaths 1, notifications delivered ",
            rest_record(rest).ids().size(),
            ", attempts ",
            reqs.size(),
            ", images left behind ",
            images_left(*p, cs),
            ", ",
            waited.describe(),
            " (",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
            " s)");
    CHECK(images_left(*p, cs) == 0);
    clean_up(*p, cs);
}

TEST_CASE_FIXTURE(
    scene,
    "hostile: a volume with 5000 tiny dumps: --max-volume-dumps of them are copied, the loop stays "
    "responsive")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    const std::string volume = unique_name("h7vol");
    REQUIRE(p->dockerd.docker({"volume", "create", volume}, 60s).ok());
    const auto port = ts::free_port();
    auto args = fault_daemon_args(*p, kafka.bootstraps(), "", work / "state");
    args.insert(
        args.end(),
        {"--dump-path", "/dumps", "--metrics-address", "127.0.0.1:" + std::to_string(port)});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail(60));

    // 5000 files that are ELF cores by their first bytes (ET_CORE), 64 bytes each.
    const std::string script =
        "printf "
        "'\\177ELF\\002\\001\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\004\\000\\076\\000'"
        " > /tmp/c"
        " && dd if=/dev/zero bs=1 count=46 2>/dev/null >> /tmp/c"
        " && i=0; while [ $i -lt 5000 ]; do cp /tmp/c /dumps/core.$i; i=$((i+1)); done; exit 7";
    const container_spec spec{"5000 dumps", shell(script), 7, "core", {"-v", volume + ":/dumps"}};
    const auto start = std::chrono::steady_clock::now();
    auto c = start_container(*p, spec, unique_name("h7"));
    wait_exited(*p, {c});
    const auto died = std::chrono::steady_clock::now();

    // The loop answers /healthz quickly while the job runs.
    double slowest = 0;
    bool notified = false;
    while (std::chrono::steady_clock::now() - died < 120s) {
        const auto t0 = std::chrono::steady_clock::now();
        auto h = healthz(port);
        const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        CHECK(h.has_value());
        slowest = std::max(slowest, took);
        if (kafka.wait_for(1, 200ms)) {
            notified = true;
            break;
        }
    }
    REQUIRE_MESSAGE(notified, "no notification");
    const auto k = kafka_record(kafka);
    REQUIRE(k.ids_of(c.id).size() == 1);
    const auto& n = k.last.at(*k.ids_of(c.id).begin());
    REQUIRE(n.contains("dumps"));
    const auto& dumps = n.at("dumps").as_array();
    CHECK(dumps.size() == 16);
    CHECK(wait_for_log(daemon, "--max-volume-dumps", 5s));
    CHECK(slowest < 2.0);
    stop_cleanly(daemon);
    MESSAGE("fault: 5000 dumps in a volume; deaths 1, notifications 1 with ",
            dumps.size(),
            " dumps, slowest /healthz ",
            slowest,
            " s, notified after ",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
            " s, images left behind ",
            images_left(*p, {c}));
    CHECK(images_left(*p, {c}) == 0);
    clean_up(*p, {c});
    p->dockerd.docker({"volume", "rm", "-f", volume}, 60s);
}

TEST_CASE_FIXTURE(
    scene,
    "hostile: a dump copy that would leave less than --state-reserve free is announced not copied, "
    "with the reason, never requeued")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    if (::geteuid() != 0) {
        MESSAGE("skipped: mounting a tmpfs needs root");
        return;
    }
    small_fs tiny(work / "state", "256k");
    REQUIRE(tiny.mounted);
    const std::string volume = unique_name("h1vol");
    REQUIRE(p->dockerd.docker({"volume", "create", volume}, 60s).ok());
    auto args = fault_daemon_args(*p, kafka.bootstraps(), "", work / "state");
    args.insert(args.end(), {"--dump-path", "/dumps", "--state-reserve", "1M"});
    daemon_under_test daemon(work.path(), args);
    INFO("daemon log:\n", daemon.log_tail(60));
    start_watching(daemon);
    const auto start = std::chrono::steady_clock::now();
    const container_spec spec{"core in a volume",
                              crash_with_core(),
                              139,
                              "core",
                              {"-v", volume + ":/dumps", "-w", "/dumps"}};
    auto c = start_container(*p, spec, unique_name("h1v"));
    wait_exited(*p, {c});
    REQUIRE_MESSAGE(kafka.wait_for(1, 90s), "no notification");
    std::this_thread::sleep_for(3s);  // a requeue would announce again
    const auto k = kafka_record(kafka);
    REQUIRE(k.ids_of(c.id).size() == 1);
    CHECK(k.total == 1);
    const auto& n = k.last.at(*k.ids_of(c.id).begin());
    const auto& d = n.at("dumps").as_array().at(0).as_object();
    CHECK(string_field(d, "original_path") == "/dumps/core");
    CHECK((d.contains("copied") && d.at("copied") == false));
    CHECK(string_field(d, "reason").find("free space") != std::string::npos);
    CHECK(daemon.log().find("again in") == std::string::npos);  // not requeued
    CHECK(json_files(work / "state" / "dump-spool") == 0);
    stop_cleanly(daemon);
    MESSAGE(
        "fault: dump copy over the free space of the state directory; deaths 1, notifications 1 (",
        string_field(d, "reason"),
        "), images left behind ",
        images_left(*p, {c}),
        ", announced after ",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
        " s");
    CHECK(images_left(*p, {c}) == 0);
    clean_up(*p, {c});
    p->dockerd.docker({"volume", "rm", "-f", volume}, 60s);
}

}  // namespace core_interceptor::integration
