// SPDX-License-Identifier: MIT
// `--log-format json`: what a log shipper reads from stderr while the daemon handles a real crash.
#include "harness.hpp"
#include "scene.hpp"

#include "support/http_sink.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <sstream>

namespace core_interceptor::integration {
namespace {

namespace json = boost::json;
namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

/// Every line of `text` parsed as a JSON object; a line that is not one fails the test.
std::vector<json::object> json_lines(const std::string& text)
{
    std::vector<json::object> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        INFO("line: ", line);
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        REQUIRE_MESSAGE(!ec, "not JSON: ", ec.message());
        REQUIRE(v.is_object());
        out.push_back(std::move(v.as_object()));
    }
    return out;
}

bool has_string(const json::object& o, const char* key)
{
    auto* v = o.if_contains(key);
    return v && v->is_string() && !v->as_string().empty();
}

TEST_CASE_FIXTURE(
    scene,
    "json logs: with --log-format json a real crash is logged as one JSON object a line, "
    "with PRIORITY, MESSAGE and CONTAINER_ID")
{
    if (!p)
        return;
    auto args = daemon_args(*p, "", rest.url());
    args.insert(args.end(), {"--log-format", "json"});
    daemon_under_test d(work.path(), args);
    INFO("daemon log:\n", d.log_tail(40));
    start_watching(d);

    const auto c =
        start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("json"));
    wait_exited(*p, {c});
    REQUIRE_MESSAGE(rest.wait_for(1, 45s), "the crash was not notified within 45 s");
    CHECK(wait_for_log(d, "\"CONTAINER_ID\":\"" + c.id + "\"", 10s));
    stop_cleanly(d);

    const auto lines = json_lines(ts::read_file(work / "daemon.err"));
    REQUIRE(lines.size() >= 3);
    std::size_t of_container = 0;
    bool watching = false;
    for (const auto& o : lines) {
        INFO("record: ", json::serialize(o));
        CHECK(has_string(o, "PRIORITY"));
        CHECK(has_string(o, "MESSAGE"));
        CHECK(has_string(o, "TIMESTAMP"));
        CHECK(string_field(o, "SYSLOG_IDENTIFIER") == "core_interceptor");
        CHECK(string_field(o, "TIMESTAMP").ends_with("Z"));
        if (contains_nocase(string_field(o, "MESSAGE"), "watching events"))
            watching = string_field(o, "PRIORITY") == "6";
        // The job's records name the container, its name and its image, as in the journal.
        if (string_field(o, "CONTAINER_ID") == c.id &&
            string_field(o, "CONTAINER_NAME") == c.name &&
            string_field(o, "IMAGE") == "testimg:1.0")
            ++of_container;
    }
    CHECK_MESSAGE(watching, "no \"watching events\" record at PRIORITY 6 (info)");
    CHECK_MESSAGE(
        of_container >= 1, "no record with CONTAINER_ID ", c.id, ", CONTAINER_NAME and IMAGE");
    CHECK(ts::read_file(work / "daemon.out").empty());
    remove_local_images_tagged(*p, c.tag());
    remove_all_containers(*p);
}

}  // namespace
}  // namespace core_interceptor::integration
