// SPDX-License-Identifier: MIT
#include "domain/notification.hpp"

#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace core_interceptor::domain;
namespace json = boost::json;

namespace {

std::chrono::system_clock::time_point at_ms(std::int64_t ms)
{
    return std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}};
}

notification sample()
{
    notification n;
    n.id = "c2d8407a80a3f00d-1795556211143489487";
    // 2026-11-24T20:21:10.123Z
    n.timestamp = at_ms(1795551670123) + std::chrono::microseconds{456};
    n.pushed = true;
    n.name = "testimg_1.0";
    n.tag = "c2d8407a80a3";
    n.hostname = "node-17";
    n.image = "127.0.0.1:5000/testimg_1.0:c2d8407a80a3";
    n.registry = "127.0.0.1:5000";
    n.digest = "sha256:" + std::string(64, 'b');
    n.container = {"c2d8407a80a3f00d", "zealous_boyd", "testimg:1.0", "sha256:abc", 134, false};
    n.dumps = {{"/tmp/core", 393216, dump_type::core}, {"/tmp/heap.hprof", 42, dump_type::hprof}};
    return n;
}

}  // namespace

TEST_CASE("notification: the JSON body carries every field of SPEC section 5")
{
    const auto n = sample();
    boost::system::error_code ec;
    auto v = json::parse(to_json(n), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    const auto& o = v.get_object();
    CHECK(o.at("version") == "1.0");
    CHECK(o.at("timestamp") == "2026-11-24T20:21:10.123Z");
    CHECK(o.at("pushed") == true);
    CHECK(o.at("name") == "testimg_1.0");
    CHECK(o.at("tag") == "c2d8407a80a3");
    CHECK(o.at("hostname") == "node-17");
    CHECK(o.at("object") == "core");
    CHECK(o.at("id") == "c2d8407a80a3f00d-1795556211143489487");
    CHECK(o.at("image") == "127.0.0.1:5000/testimg_1.0:c2d8407a80a3");
    CHECK(o.at("registry") == "127.0.0.1:5000");
    CHECK(o.at("digest") == n.digest.c_str());

    const auto& c = o.at("container").as_object();
    CHECK(c.at("id") == "c2d8407a80a3f00d");
    CHECK(c.at("name") == "zealous_boyd");
    CHECK(c.at("image") == "testimg:1.0");
    CHECK(c.at("exit_code").to_number<int>() == 134);

    const auto& dumps = o.at("dumps").as_array();
    REQUIRE(dumps.size() == 2);
    CHECK(dumps[0].at("path") == "/tmp/core");
    CHECK(dumps[0].at("size").to_number<std::int64_t>() == 393216);
    CHECK(dumps[0].at("type") == "core");
    CHECK(dumps[1].at("path") == "/tmp/heap.hprof");
    CHECK(dumps[1].at("size").to_number<std::int64_t>() == 42);
    CHECK(dumps[1].at("type") == "hprof");
}

TEST_CASE("notification: an unpushed hprof-only death says pushed false and object hprof")
{
    auto n = sample();
    n.pushed = false;
    n.registry.clear();
    n.digest.clear();
    n.image = "testimg_1.0:c2d8407a80a3";
    n.dumps = {{"/heap.hprof", 7, dump_type::hprof}};
    auto v = json::parse(to_json(n));
    CHECK(v.at("pushed") == false);
    CHECK(v.at("object") == "hprof");
    CHECK(v.at("registry") == "");
    CHECK(v.at("digest") == "");
}

TEST_CASE("notification: strings are escaped, never spliced")
{
    auto n = sample();
    n.container.name = "quote\"back\\slash\nnewline";
    n.dumps = {{"/tmp/core \"x\"", 1, dump_type::core}};
    auto v = json::parse(to_json(n));
    CHECK(v.at("container").at("name") == "quote\"back\\slash\nnewline");
    CHECK(v.at("dumps").at(0).at("path") == "/tmp/core \"x\"");
}

TEST_CASE("notification: object is core when any dump is a core")
{
    CHECK(object_of({{"/a.hprof", 1, dump_type::hprof}, {"/core", 1, dump_type::core}}) == "core");
    CHECK(object_of({{"/a.hprof", 1, dump_type::hprof}}) == "hprof");
}

TEST_CASE("notification: timestamps are RFC 3339 UTC with milliseconds")
{
    CHECK(rfc3339_utc(at_ms(0)) == "1970-01-01T00:00:00.000Z");
    CHECK(rfc3339_utc(at_ms(1795551670123)) == "2026-11-24T20:21:10.123Z");
    CHECK(rfc3339_utc(at_ms(951782400999)) == "2000-02-29T00:00:00.999Z");
    CHECK(rfc3339_utc(at_ms(1795551670123) + std::chrono::microseconds{999}) ==
          "2026-11-24T20:21:10.123Z");
}

TEST_CASE("notification: the Kafka key is IMAGE_NAME:TAG")
{
    CHECK(kafka_key(sample()) == "testimg_1.0:c2d8407a80a3");
}

TEST_CASE("notification: a dump from a mount gives its path in the image and where it came from")
{
    auto n = sample();
    n.dumps = {{"/tmp/core", 10, dump_type::core},
               {"/core_interceptor/dumps/dumps/core", 393216, dump_type::core, "/dumps/core", true},
               {"/dumps/heap.hprof", 1 << 30, dump_type::hprof, "/dumps/heap.hprof", false}};
    auto v = json::parse(to_json(n));
    const auto& d = v.at("dumps").as_array();
    REQUIRE(d.size() == 3);
    CHECK_FALSE(d[0].as_object().contains("original_path"));
    CHECK_FALSE(d[0].as_object().contains("copied"));
    CHECK(d[1].at("path") == "/core_interceptor/dumps/dumps/core");
    CHECK(d[1].at("original_path") == "/dumps/core");
    CHECK(d[1].at("copied") == true);
    CHECK(d[2].at("path") == "/dumps/heap.hprof");
    CHECK(d[2].at("copied") == false);
}

TEST_CASE("notification: a core's crash and an hprof's heap object, per dump and at the top level")
{
    auto n = sample();
    crash_info c;
    c.signal = 11;
    c.executable = "/usr/bin/app";
    c.signature = "0123456789abcdef";
    n.dumps[0].crash = c;
    heap_info h;
    h.format = "JAVA PROFILE 1.0.2";
    h.id_size = 8;
    n.dumps[1].heap = h;
    auto v = json::parse(to_json(n)).as_object();
    REQUIRE(v.contains("crash"));
    CHECK(v.at("crash") == json::value(to_json(c)));
    CHECK(v.at("dumps").as_array()[0].at("crash") == v.at("crash"));
    CHECK_FALSE(v.at("dumps").as_array()[0].as_object().contains("heap"));
    CHECK(v.at("heap") == json::value(to_json(h)));
    CHECK(v.at("dumps").as_array()[1].at("heap") == v.at("heap"));
    CHECK_FALSE(v.contains("duplicate_of"));
    // The seed's fields stay exactly as they are.
    for (const char* k : {"version", "timestamp", "pushed", "name", "tag", "hostname", "object"})
        CHECK(v.contains(k));
    CHECK(v.at("object").as_string() == "core");

    n.duplicate_of = "127.0.0.1:5000/testimg_1.0:aaaaaaaaaaaa";
    n.pushed = false;
    auto d = json::parse(to_json(n)).as_object();
    CHECK(d.at("duplicate_of").as_string() == "127.0.0.1:5000/testimg_1.0:aaaaaaaaaaaa");
    CHECK_FALSE(d.at("pushed").as_bool());
}

TEST_CASE("notification: a dump whose notes could not be read has no crash object")
{
    auto v = json::parse(to_json(sample())).as_object();
    CHECK_FALSE(v.contains("crash"));
    CHECK_FALSE(v.contains("heap"));
    CHECK_FALSE(v.at("dumps").as_array()[0].as_object().contains("crash"));
}

TEST_CASE("notification: the announcement carries the id, the Kafka key and the JSON body")
{
    const auto n = sample();
    const auto a = announce(n);
    CHECK(a.id == n.id);
    CHECK(a.key == "testimg_1.0:c2d8407a80a3");
    CHECK(a.body == to_json(n));
}

TEST_CASE("notification: a push made later is announced as the same document, pushed, new digest")
{
    auto n = sample();
    n.pushed = false;
    n.digest.clear();
    const auto later = at_ms(1795551999000);
    const auto a = announce_pushed(to_json(n), "sha256:" + std::string(64, 'c'), later);
    REQUIRE(a);
    n.pushed = true;
    n.digest = "sha256:" + std::string(64, 'c');
    n.timestamp = later;
    CHECK(a->body == to_json(n));  // every field in its place, only these three changed
    CHECK(a->id == n.id);
    CHECK(a->key == "testimg_1.0:c2d8407a80a3");
    CHECK_FALSE(announce_pushed("not json", "sha256:c", later));
    CHECK_FALSE(announce_pushed("[1]", "sha256:c", later));
}
