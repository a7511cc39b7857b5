// SPDX-License-Identifier: MIT
// A die event with a dump ends as an image in the registry and one notification per sink;
// containers without a real dump produce nothing.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;
namespace json = boost::json;

// Notifications of a handful of containers arrive within seconds; a minute covers a loaded
// CI machine. After the expected count, a quiet period shows nothing else is coming.
constexpr auto notification_timeout = 60s;
constexpr auto quiet_period = 5s;

std::set<std::string> to_set(const std::vector<std::string>& v)
{
    return {v.begin(), v.end()};
}

TEST_CASE_FIXTURE(
    scene,
    "end to end: dumps are committed, pushed, deleted locally and notified once per sink" *
        doctest::test_suite("engines"))
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    const auto started = std::chrono::system_clock::now();

    const auto tags_before = to_set(p->registry.tags(test_repo));

    auto& daemon = watch(usual_args());
    INFO("daemon log:\n", daemon.log_tail());

    // --- The containers: three leave a dump, the others must be ignored -------------------
    const std::vector<container_spec> specs{
        {"core", crash_with_core(), 139, "core"},
        {"hprof", write_hprof("/tmp/heap.hprof", 3), 3, "hprof"},
        {"hprof and core",
         shell("printf 'JAVA PROFILE 1.0.2\\000\\000\\000\\000\\010' > "
               "/tmp/java_pid1.hprof; sh -c \"kill -SEGV \\$\\$\"; exit $?"),
         139,
         "core"},
        {"clean exit", shell("echo fine"), 0, std::nullopt},
        {"decoy: core.js",
         shell("echo 'module.exports = 1;' > /tmp/core.js; exit 1"),
         1,
         std::nullopt},
        {"decoy: directory core", shell("mkdir /tmp/core; exit 1"), 1, std::nullopt},
        {"decoy: empty core", shell(": > /tmp/core; exit 1"), 1, std::nullopt},
        {"decoy: text core", shell("echo 'not a core dump' > /tmp/core; exit 1"), 1, std::nullopt},
        {"decoy: ELF executable named core",
         shell("cat /bin/busybox > /tmp/core; exit 1"),
         1,
         std::nullopt},
    };
    std::vector<container> cs;
    for (std::size_t i = 0; i < specs.size(); ++i)
        cs.push_back(start_container(*p, specs[i], unique_name("e2e" + std::to_string(i))));
    wait_exited(*p, cs);

    std::map<std::string, const container*> dumping;  // by tag
    std::set<std::string> dumping_tags, quiet_tags;
    for (const auto& c : cs) {
        if (c.spec.object) {
            dumping[c.tag()] = &c;
            dumping_tags.insert(c.tag());
        } else {
            quiet_tags.insert(c.tag());
        }
    }

    // --- Notifications: exactly one per dumping container on each sink --------------------
    const auto deadline = std::chrono::steady_clock::now() + notification_timeout;
    const bool kafka_complete = kafka.wait_for(dumping.size(), notification_timeout);
    const bool rest_complete = rest.wait_for(
        dumping.size(),
        std::chrono::duration_cast<std::chrono::milliseconds>(std::max(
            deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration(1s))));
    std::this_thread::sleep_for(quiet_period);
    const auto messages = kafka.messages();
    const auto requests = rest.requests();
    CHECK_MESSAGE(kafka_complete, "Kafka got ", messages.size(), " of ", dumping.size());
    CHECK_MESSAGE(rest_complete, "REST got ", requests.size(), " of ", dumping.size());
    CHECK(messages.size() == dumping.size());
    CHECK(requests.size() == dumping.size());

    const std::string registry = p->registry.address();
    auto expected_for = [&](const std::string& tag) {
        const auto& c = *dumping.at(tag);
        return expected_notification{test_repo,
                                     tag,
                                     "testhost",
                                     *c.spec.object,
                                     true,
                                     registry + "/" + test_repo + ":" + tag};
    };

    std::map<std::string, json::object> kafka_by_tag, rest_by_tag;
    std::multiset<std::string> kafka_tags, rest_tags;
    for (const auto& m : messages) {
        INFO("Kafka message key=", m.key, " value=", m.value);
        CHECK(m.topic == "cores");
        auto n = parse_notification(m.value);
        if (!n)
            continue;
        const auto tag = string_field(*n, "tag");
        kafka_tags.insert(tag);
        CHECK(m.key == std::string(test_repo) + ":" + tag);
        if (dumping.count(tag)) {
            check_notification(*n, expected_for(tag), started);
            kafka_by_tag[tag] = *n;
        }
    }
    for (const auto& r : requests) {
        INFO("REST ", r.method, " ", r.target, " body=", r.body);
        CHECK(r.method == "POST");
        CHECK(r.target == "/notify");
        CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
        auto n = parse_notification(r.body);
        if (!n)
            continue;
        const auto tag = string_field(*n, "tag");
        rest_tags.insert(tag);
        if (dumping.count(tag)) {
            check_notification(*n, expected_for(tag), started);
            rest_by_tag[tag] = *n;
        }
    }
    for (const auto& c : cs) {
        INFO("container ", c.name, " (", c.spec.role, ") tag ", c.tag());
        const std::size_t want = c.spec.object ? 1 : 0;
        CHECK(kafka_tags.count(c.tag()) == want);
        CHECK(rest_tags.count(c.tag()) == want);
    }
    CHECK_MESSAGE(kafka_tags.size() == dumping.size(), "Kafka got notifications of other tags");
    CHECK_MESSAGE(rest_tags.size() == dumping.size(), "REST got notifications of other tags");
    // SPEC §5: the same body on every sink.
    for (const auto& [tag, n] : kafka_by_tag) {
        if (rest_by_tag.count(tag)) {
            const auto& other = rest_by_tag.at(tag);
            CHECK_MESSAGE(n == other,
                          "tag ",
                          tag,
                          ": Kafka ",
                          json::serialize(n),
                          " vs REST ",
                          json::serialize(other));
        }
    }

    // --- The registry holds exactly the dumping containers' images ------------------------
    std::set<std::string> new_tags;
    for (const auto& t : p->registry.tags(test_repo))
        if (!tags_before.count(t))
            new_tags.insert(t);
    CHECK(joined(new_tags) == joined(dumping_tags));

    // --- ... and they are gone from the node; nothing was committed for the others --------
    for (const auto& tag : dumping_tags) {
        INFO("tag ", tag, " (", dumping.at(tag)->spec.role, ")");
        std::vector<std::string> left;
        const auto until = std::chrono::steady_clock::now() + 15s;
        do {
            left = local_images_tagged(*p, tag);
            if (left.empty())
                break;
            std::this_thread::sleep_for(200ms);
        } while (std::chrono::steady_clock::now() < until);
        CHECK_MESSAGE(left.empty(), "still on the node: ", left.empty() ? "" : left.front());
        auto inspect =
            p->dockerd.docker({"image", "inspect", registry + "/" + test_repo + ":" + tag}, 60s);
        CHECK_FALSE(inspect.ok());
    }
    for (const auto& tag : quiet_tags) {
        INFO("tag ", tag);
        CHECK(local_images_tagged(*p, tag).empty());
    }

    // --- The pushed image is the dead container, dump included -----------------------------
    const auto& core_tag = cs.front().tag();
    if (new_tags.count(core_tag)) {
        const auto ref = registry + "/" + test_repo + ":" + core_tag;
        auto pull = p->dockerd.docker({"pull", ref}, 120s);
        CHECK_MESSAGE(pull.ok(), "docker pull ", ref, ": ", pull.err);
        if (pull.ok()) {
            auto ls = p->dockerd.docker(
                ts::run_isolated({"--rm", ref, "sh", "-c", "test -s /tmp/core"}), 60s);
            CHECK_MESSAGE(ls.ok(), "the pushed image holds no /tmp/core: ", ls.err);
            p->dockerd.docker({"rmi", ref}, 60s);
        }
    }

    // --- Still running; a clean stop ----------------------------------------------------
    REQUIRE(daemon.running());
    daemon.proc().signal(SIGTERM);
    auto st = daemon.proc().wait_for(5s);
    REQUIRE_MESSAGE(st.has_value(), "the daemon did not exit within 5 s of SIGTERM");
    CHECK(st->describe() == "exit 0");
    remove_all_containers(*p);
}

TEST_CASE_FIXTURE(scene,
                  "crash first: a core in a container that exited 0 is found among failing and "
                  "crashing deaths, with one probe slot")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    auto args = usual_args();
    args.insert(args.end(), {"--max-probes", "1"});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail());

    // Probed in the order crashes, failures, clean exits: the clean exit whose child dumped
    // core comes last, and must still be captured.
    const container_spec crash{"core", crash_with_core(), 139, "core"};
    const container_spec failure{"failure", shell("exit 1"), 1, std::nullopt};
    const container_spec clean{"clean exit", shell("echo fine"), 0, std::nullopt};
    const container_spec child_core{
        "clean exit, child's core", shell("sh -c \"kill -SEGV \\$\\$\"; exit 0"), 0, "core"};
    const std::vector<container_spec> specs{
        child_core, failure, crash, clean, failure, crash, clean, failure, clean};
    std::vector<std::string> names;
    for (std::size_t i = 0; i < specs.size(); ++i)
        names.push_back(unique_name("first" + std::to_string(i)));
    const auto cs = start_containers_at_once(*p, specs, names, work.path());
    wait_exited(*p, cs);

    std::set<std::string> dumping;
    std::string child_tag;
    for (const auto& c : cs)
        if (c.spec.object) {
            dumping.insert(c.tag());
            if (c.spec.exit_code == 0)
                child_tag = c.tag();
        }
    REQUIRE(dumping.size() == 3);
    CHECK_MESSAGE(kafka.wait_for(dumping.size(), notification_timeout),
                  "Kafka got ",
                  kafka.messages().size(),
                  " of ",
                  dumping.size());
    CHECK_MESSAGE(rest.wait_for(dumping.size(), notification_timeout),
                  "REST got ",
                  rest.requests().size(),
                  " of ",
                  dumping.size());
    std::this_thread::sleep_for(quiet_period);

    std::multiset<std::string> rest_tags;
    for (const auto& r : rest.requests()) {
        INFO("REST body=", r.body);
        auto n = parse_notification(r.body);
        REQUIRE(n);
        const auto tag = string_field(*n, "tag");
        rest_tags.insert(tag);
        CHECK(string_field(*n, "object") == "core");
        CHECK(n->at("pushed").as_bool());
        if (tag == child_tag)
            CHECK(n->at("container").as_object().at("exit_code").as_int64() == 0);
    }
    CHECK(rest_tags == std::multiset<std::string>(dumping.begin(), dumping.end()));
    CHECK(rest_tags.count(child_tag) == 1);
    std::multiset<std::string> kafka_tags;
    for (const auto& m : kafka.messages())
        if (auto n = parse_notification(m.value))
            kafka_tags.insert(string_field(*n, "tag"));
    CHECK(kafka_tags == std::multiset<std::string>(dumping.begin(), dumping.end()));

    stop_cleanly(daemon);
    remove_all_containers(*p);
}

TEST_CASE_FIXTURE(scene,
                  "one capture slot: the next dump is captured while the last one's announcement "
                  "is still unanswered")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    auto args = usual_args();
    set_option(args, "--max-concurrency", "1");
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail());

    // The REST endpoint takes its time: it answers nothing until the end. A capture slot held
    // through the announcement would keep the second dump waiting until that delivery gave up
    // (its 10 s timeout); the slot goes back once the image is pushed and deleted.
    rest.hold_answers(true);
    const container_spec crash{"core", crash_with_core(), 139, "core"};
    const std::vector<container_spec> specs{crash, crash};
    const std::vector<std::string> names{unique_name("slot0"), unique_name("slot1")};
    const auto cs = start_containers_at_once(*p, specs, names, work.path());
    wait_exited(*p, cs);

    REQUIRE_MESSAGE(rest.wait_for(1, notification_timeout), "no announcement reached REST");
    const auto first = std::chrono::steady_clock::now();
    const bool second = rest.wait_for(2, 8s);
    const auto gap = std::chrono::duration<double>(std::chrono::steady_clock::now() - first);
    CHECK_MESSAGE(second,
                  "the second announcement did not come while the first was unanswered (",
                  gap.count(),
                  " s)");
    rest.hold_answers(false);

    std::set<std::string> tags;
    for (const auto& r : rest.requests()) {
        auto n = parse_notification(r.body);
        REQUIRE(n);
        CHECK(n->at("pushed").as_bool());
        tags.insert(string_field(*n, "tag"));
    }
    CHECK(tags == std::set<std::string>{cs[0].tag(), cs[1].tag()});
    CHECK_MESSAGE(
        kafka.wait_for(2, notification_timeout), "Kafka got ", kafka.messages().size(), " of 2");

    stop_cleanly(daemon);
    remove_all_containers(*p);
}

}  // namespace
}  // namespace core_interceptor::integration
