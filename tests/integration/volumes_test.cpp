// SPDX-License-Identifier: MIT
// Dumps in volumes and bind mounts (--dump-path): not in the writable layer, so copied into it
// before the commit; the pushed image holds them. An empty volume produces nothing; a dump over
// --max-dump-size is announced, not copied.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;
namespace fs = std::filesystem;
namespace json = boost::json;

using namespace std::chrono_literals;

constexpr auto notification_timeout = 60s;
// After the expected notifications, a pause long enough for a wrong one to show up.
constexpr auto quiet_period = 5s;

std::string read_file(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Whether `bytes` start like an ELF file of type ET_CORE (either byte order).
bool is_elf_core(const std::string& bytes)
{
    if (bytes.size() < 18 || bytes.compare(0,
                                           4,
                                           "\x7f"
                                           "ELF") != 0)
        return false;
    const auto lo = static_cast<unsigned char>(bytes[16]),
               hi = static_cast<unsigned char>(bytes[17]);
    return bytes[5] == 1 ? (lo == 4 && hi == 0) : (lo == 0 && hi == 4);
}

/// Copies `path` out of container `name` (through the archive endpoint) into `dir`; the
/// file's bytes, or nothing when docker cannot.
std::optional<std::string> copy_out(ts::temp_dir& dir,
                                    shared_parts& p,
                                    const std::string& name,
                                    const std::string& path,
                                    const std::string& as)
{
    auto r = p.dockerd.docker({"cp", name + ":" + path, (dir / as).string()}, 120s);
    if (!r.ok()) {
        MESSAGE("docker cp ", name, ":", path, ": ", r.err);
        return std::nullopt;
    }
    return read_file(dir / as);
}

/// The notification (from Kafka) of each tag.
std::map<std::string, json::object> by_tag(const ts::mock_kafka& kafka)
{
    std::map<std::string, json::object> out;
    for (const auto& m : kafka.messages())
        if (auto n = parse_notification(m.value))
            out[string_field(*n, "tag")] = *n;
    return out;
}

/// The one entry of `dumps` of a notification, or nothing (the check fails).
std::optional<json::object> only_dump(const json::object& n)
{
    const auto* d = n.if_contains("dumps");
    if (!d || !d->is_array() || d->as_array().size() != 1 || !d->as_array()[0].is_object()) {
        FAIL_CHECK("expected exactly one dump in ", json::serialize(n));
        return std::nullopt;
    }
    return d->as_array()[0].as_object();
}

TEST_CASE_FIXTURE(
    scene, "volume dumps: cores in a named volume and a bind mount end up in the pushed image")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    const auto started = std::chrono::system_clock::now();

    ts::temp_dir out("ci-volout-");
    const fs::path bind_dir = work / "bind";
    fs::create_directories(bind_dir);

    const std::string volume = unique_name("vol");
    const std::string empty_volume = unique_name("volempty");
    for (const auto& v : {volume, empty_volume})
        REQUIRE_MESSAGE(p->dockerd.docker({"volume", "create", v}, 60s).ok(), "volume create ", v);

    auto args = usual_args();
    args.insert(args.end(), {"--dump-path", "/dumps", "--state-dir", (work / "state").string()});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail());

    // Each crashes with its working directory in /dumps: the kernel (core_pattern "core")
    // writes the core there, into the mount.
    const std::vector<std::string> in_dumps = {"-w", "/dumps"};
    auto with = [&](std::vector<std::string> mount) {
        mount.insert(mount.end(), in_dumps.begin(), in_dumps.end());
        return mount;
    };
    const std::vector<container_spec> specs{
        {"core in a named volume",
         crash_with_core(),
         139,
         "core",
         with({"-v", volume + ":/dumps"})},
        {"core in a bind mount",
         crash_with_core(),
         139,
         "core",
         with({"-v", bind_dir.string() + ":/dumps"})},
        {"clean exit, empty volume",
         shell("ls /dumps; exit 0"),
         0,
         std::nullopt,
         with({"-v", empty_volume + ":/dumps"})},
    };
    std::vector<container> cs;
    for (std::size_t i = 0; i < specs.size(); ++i)
        cs.push_back(start_container(*p, specs[i], unique_name("vol" + std::to_string(i))));
    wait_exited(*p, cs);
    // The scenario is real: the cores are in the mounts, not in the writable layers.
    REQUIRE_MESSAGE(fs::is_regular_file(bind_dir / "core"), "no core in the bind mount ", bind_dir);
    CHECK_FALSE(has_file(*p, cs[0].name, "/dumps/core"));
    CHECK_FALSE(has_file(*p, cs[1].name, "/dumps/core"));

    CHECK_MESSAGE(
        kafka.wait_for(2, notification_timeout), "Kafka got ", kafka.messages().size(), " of 2");
    CHECK_MESSAGE(
        rest.wait_for(2, notification_timeout), "REST got ", rest.requests().size(), " of 2");
    std::this_thread::sleep_for(quiet_period);
    CHECK(kafka.messages().size() == 2);
    CHECK(rest.requests().size() == 2);
    auto notes = by_tag(kafka);
    // The empty volume was probed, and held nothing.
    CHECK(wait_for_log(daemon, "no dump in /dumps of container " + cs[2].name, 10s));
    CHECK_FALSE(notes.count(cs[2].tag()));
    CHECK(local_images_tagged(*p, cs[2].tag()).empty());

    const std::string registry = p->registry.address();
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& c = cs[i];
        INFO("container ", c.name, " (", c.spec.role, ") tag ", c.tag());
        if (!notes.count(c.tag())) {
            FAIL_CHECK("no notification");
            continue;
        }
        const auto& n = notes.at(c.tag());
        const std::string ref = registry + "/" + test_repo + ":" + c.tag();
        check_notification(n, {test_repo, c.tag(), "testhost", "core", true, ref}, started);
        auto d = only_dump(n);
        if (!d)
            continue;
        CHECK(string_field(*d, "path") == "/core_interceptor/dumps/dumps/core");
        CHECK(string_field(*d, "original_path") == "/dumps/core");
        CHECK(d->contains("copied"));
        CHECK((d->contains("copied") && d->at("copied") == true));
        CHECK(string_field(*d, "type") == "core");

        // The original, read through the archive endpoint of the dead container (which
        // resolves the mount) or, for the bind mount, on the host.
        auto original =
            i == 1 ? std::optional<std::string>(read_file(bind_dir / "core"))
                   : copy_out(out, *p, c.name, "/dumps/core", "original" + std::to_string(i));
        REQUIRE(original);
        REQUIRE(is_elf_core(*original));
        CHECK(d->at("size").to_number<std::int64_t>() ==
              static_cast<std::int64_t>(original->size()));

        // The pushed image holds the dump: pull it, create a container, read it back.
        auto pull = p->dockerd.docker({"pull", ref}, 120s);
        REQUIRE_MESSAGE(pull.ok(), "docker pull ", ref, ": ", pull.err);
        const std::string probe = unique_name("volcheck");
        auto created = p->dockerd.docker(ts::create_isolated({"--name", probe, ref, "true"}), 60s);
        REQUIRE_MESSAGE(created.ok(), "creating a container from ", ref, ": ", created.err);
        auto copied = copy_out(
            out, *p, probe, "/core_interceptor/dumps/dumps/core", "copied" + std::to_string(i));
        REQUIRE_MESSAGE(
            copied, "the pushed image ", ref, " holds no /core_interceptor/dumps/dumps/core");
        CHECK(is_elf_core(*copied));
        CHECK(copied->size() == original->size());
        CHECK_MESSAGE(*copied == *original, "the copy in the image differs from the dump");
        p->dockerd.docker({"rm", "-f", probe}, 60s);
        p->dockerd.docker({"rmi", ref}, 60s);
    }

    stop_cleanly(daemon);
    remove_all_containers(*p);
    for (const auto& v : {volume, empty_volume})
        p->dockerd.docker({"volume", "rm", "-f", v}, 60s);
}

TEST_CASE_FIXTURE(scene, "volume dumps: a dump over --max-dump-size is announced as not copied")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    const std::string volume = unique_name("volmax");
    REQUIRE_MESSAGE(
        p->dockerd.docker({"volume", "create", volume}, 60s).ok(), "volume create ", volume);

    auto args = daemon_args(*p, kafka.bootstraps(), "");
    args.insert(args.end(),
                {"--dump-path",
                 "/dumps",
                 "--max-dump-size",
                 "64K",
                 "--state-dir",
                 (work / "state").string()});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail());

    const container_spec spec{"core over the limit",
                              crash_with_core(),
                              139,
                              "core",
                              {"-v", volume + ":/dumps", "-w", "/dumps"}};
    auto c = start_container(*p, spec, unique_name("volmax"));
    wait_exited(*p, {c});
    const auto original = [&] {
        ts::temp_dir out("ci-volmaxout-");
        auto r = p->dockerd.docker({"cp", c.name + ":/dumps/core", (out / "core").string()}, 120s);
        REQUIRE_MESSAGE(r.ok(), "docker cp: ", r.err);
        return read_file(out / "core");
    }();
    REQUIRE(is_elf_core(original));
    REQUIRE_MESSAGE(original.size() > 64 * 1024, "the core is only ", original.size(), " bytes");

    REQUIRE_MESSAGE(kafka.wait_for(1, notification_timeout), "no notification");
    auto notes = by_tag(kafka);
    REQUIRE(notes.count(c.tag()));
    const auto& n = notes.at(c.tag());
    CHECK(string_field(n, "object") == "core");
    auto d = only_dump(n);
    REQUIRE(d);
    CHECK(string_field(*d, "path") == "/dumps/core");
    CHECK(string_field(*d, "original_path") == "/dumps/core");
    CHECK((d->contains("copied") && d->at("copied") == false));
    CHECK(d->at("size").to_number<std::int64_t>() == static_cast<std::int64_t>(original.size()));

    // The warning names the container, the path and the size.
    CHECK(wait_for_log(daemon, "--max-dump-size", 10s));
    const auto log = daemon.log();
    const auto line_start = log.rfind('\n', log.find("--max-dump-size"));
    const auto line =
        log.substr(line_start + 1, log.find('\n', log.find("--max-dump-size")) - line_start - 1);
    INFO("warning: ", line);
    CHECK(line.find("warning") != std::string::npos);
    CHECK(line.find(c.name) != std::string::npos);
    CHECK(line.find("/dumps/core") != std::string::npos);
    CHECK(line.find(std::to_string(original.size())) != std::string::npos);

    // Nothing was copied: the container's layer has no /core_interceptor.
    CHECK_FALSE(has_file(*p, c.name, "/core_interceptor"));

    stop_cleanly(daemon);
    remove_all_containers(*p);
    p->dockerd.docker({"volume", "rm", "-f", volume}, 60s);
    remove_local_images_tagged(*p, c.tag());
}

}  // namespace
}  // namespace core_interceptor::integration
