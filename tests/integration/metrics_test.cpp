// SPDX-License-Identifier: MIT
// --metrics-address: a container that leaves a core shows up in /metrics as the parts saw it,
// /healthz follows the event stream, and a bad or busy address is refused at start-up. The
// alerting rules and the dashboard the package ships name only what /metrics serves.
#include "harness.hpp"
#include "scene.hpp"
#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/net.hpp"
#include "support/temp_dir.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <csignal>
#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

// A scrape answers within milliseconds; a second covers a loaded machine.
constexpr auto scrape_timeout = 5s;
// The notification of one container arrives within seconds; a minute covers a loaded CI machine.
constexpr auto notification_timeout = 60s;

/// One exposition page: every sample by "name{labels}" as written, and the HELP and TYPE lines.
struct page {
    std::map<std::string, double> samples;
    std::map<std::string, std::string> types;  // family -> counter/gauge/histogram
    std::set<std::string> helped;
    std::vector<std::string> bad_lines;

    std::optional<double> get(const std::string& key) const
    {
        auto it = samples.find(key);
        if (it == samples.end())
            return std::nullopt;
        return it->second;
    }
    double value(const std::string& key) const { return get(key).value_or(-1); }
};

page parse_page(const std::string& text)
{
    page p;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("# HELP ", 0) == 0) {
            auto rest = line.substr(7);
            p.helped.insert(rest.substr(0, rest.find(' ')));
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            std::istringstream t(line.substr(7));
            std::string name, type;
            t >> name >> type;
            // Prometheus refuses a page that describes a family twice.
            if (!p.types.emplace(name, type).second)
                p.bad_lines.push_back(line + "  (a second TYPE line for this family)");
            continue;
        }
        auto space = line.rfind(' ');
        if (line.empty() || line[0] == '#' || space == std::string::npos) {
            p.bad_lines.push_back(line);
            continue;
        }
        try {
            p.samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
        } catch (const std::exception&) {
            p.bad_lines.push_back(line);
        }
    }
    return p;
}

std::optional<page> scrape(unsigned short port)
{
    auto r = ts::http_get(port, "/metrics", scrape_timeout);
    if (!r || r->status != 200)
        return std::nullopt;
    return parse_page(r->body);
}

/// A TCP connection to 127.0.0.1:port that sends nothing: a scraper caught mid-request.
struct idle_client {
    int fd = -1;
    explicit idle_client(unsigned short port)
    {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd);
            fd = -1;
        }
    }
    idle_client(const idle_client&) = delete;
    idle_client& operator=(const idle_client&) = delete;
    ~idle_client()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

/// A fresh folder under `base` for one daemon's output and state.
std::filesystem::path subdir(const std::filesystem::path& base, const char* name)
{
    auto d = base / name;
    std::filesystem::create_directories(d);
    return d;
}

/// The family a sample belongs to: its name without labels and without a histogram suffix.
std::string family_of(const std::string& key, const page& p)
{
    std::string name = key.substr(0, key.find('{'));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s(suffix);
        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
            auto base = name.substr(0, name.size() - s.size());
            if (p.types.count(base) && p.types.at(base) == "histogram")
                return base;
        }
    }
    return name;
}

TEST_CASE_FIXTURE(scene,
                  "metrics: /metrics counts a core end to end, /healthz follows the event stream")
{
    const auto bin = daemon_binary();
    if (!p)
        return;

    const auto port = ts::free_port();
    auto args = usual_args();
    args.insert(args.end(), {"--metrics-address", "127.0.0.1:" + std::to_string(port)});
    daemon_under_test daemon(subdir(work.path(), "one"), args);
    INFO("daemon log:\n", daemon.log_tail());
    start_watching(daemon);

    // --- Healthy once the event stream is open ------------------------------------------
    std::optional<ts::http_reply> health;
    CHECK_MESSAGE(wait_until(
                      [&] {
                          health = ts::http_get(port, "/healthz", scrape_timeout);
                          return health && health->status == 200;
                      },
                      30s),
                  "/healthz: ",
                  health ? std::to_string(health->status) + " " + health->body : "no answer");
    REQUIRE(health);
    CHECK(health->body == "ok\n");

    // --- One container leaves a core --------------------------------------------------
    auto c = start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("metrics"));
    wait_exited(*p, {c});
    CHECK_MESSAGE(kafka.wait_for(1, notification_timeout), "no Kafka notification");
    CHECK_MESSAGE(rest.wait_for(1, notification_timeout), "no REST notification");

    // The sinks saw it; the daemon counts a Kafka delivery once its report is back, which
    // may be a moment after the consumer read it: wait for the page to say so.
    std::optional<page> m;
    const bool settled = wait_until(
        [&] {
            m = scrape(port);
            return m &&
                   m->value("core_interceptor_notifications_delivered_total{sink=\"kafka\"}") >=
                       1 &&
                   m->value("core_interceptor_notifications_delivered_total{sink=\"rest\"}") >= 1 &&
                   m->value("core_interceptor_jobs_in_flight") == 0;
        },
        notification_timeout);
    REQUIRE_MESSAGE(m, "no answer from /metrics");
    CHECK_MESSAGE(settled, "the page never showed both deliveries with no job in flight");

    INFO("page:\n", ts::http_get(port, "/metrics", scrape_timeout).value_or(ts::http_reply{}).body);
    CHECK(m->bad_lines.empty());
    // Every sample belongs to a family with HELP and TYPE; names follow the conventions.
    for (const auto& [key, v] : m->samples) {
        const auto fam = family_of(key, *m);
        INFO("sample ", key);
        CHECK(fam.rfind("core_interceptor_", 0) == 0);
        CHECK(m->helped.count(fam) == 1);
        REQUIRE(m->types.count(fam) == 1);
        if (m->types.at(fam) == "counter")
            CHECK(fam.size() > 6);
        if (m->types.at(fam) == "counter")
            CHECK(fam.compare(fam.size() - 6, 6, "_total") == 0);
    }

    CHECK(m->value("core_interceptor_events_received_total") >= 1);
    CHECK(m->value("core_interceptor_dies_handled_total{outcome=\"pushed\"}") == 1);
    CHECK(m->value("core_interceptor_dumps_found_total{type=\"core\"}") == 1);
    CHECK(m->value("core_interceptor_dumps_found_total{type=\"hprof\"}") == 0);
    CHECK(m->value("core_interceptor_images_pushed_total") == 1);
    CHECK(m->value("core_interceptor_images_push_failed_total") == 0);
    CHECK(m->value("core_interceptor_notifications_delivered_total{sink=\"kafka\"}") == 1);
    CHECK(m->value("core_interceptor_notifications_delivered_total{sink=\"rest\"}") == 1);
    CHECK(m->value("core_interceptor_notifications_spooled_total{sink=\"kafka\"}") == 0);
    CHECK(m->value("core_interceptor_notifications_spooled_total{sink=\"rest\"}") == 0);
    CHECK(m->value("core_interceptor_jobs_in_flight") == 0);
    CHECK(m->value("core_interceptor_docker_event_stream_connected") == 1);
    CHECK(m->value("core_interceptor_docker_read_bytes_total") > 0);
    // Every connection opened to the Engine carries a request (none is kept idle for reuse for
    // now, so as many are opened as requests are sent).
    CHECK(m->value("core_interceptor_engine_requests_total") > 0);
    CHECK(m->value("core_interceptor_engine_connections_total") > 0);
    CHECK(m->value("core_interceptor_engine_connections_total") <=
          m->value("core_interceptor_engine_requests_total"));
    CHECK(m->types["core_interceptor_die_to_notification_seconds"] == "histogram");
    CHECK(m->value("core_interceptor_die_to_notification_seconds_count") == 1);
    CHECK(m->value("core_interceptor_die_to_notification_seconds_bucket{le=\"+Inf\"}") == 1);
    CHECK(m->value("core_interceptor_die_to_notification_seconds_sum") > 0);
    // Buckets are cumulative: never decreasing, up to the count.
    double last = 0;
    for (const auto& [key, v] : m->samples) {
        if (key.rfind("core_interceptor_die_to_notification_seconds_bucket{", 0) != 0)
            continue;
        INFO("bucket ", key);
        CHECK(v <= 1);
    }
    for (const char* le : {"0.5", "1", "2.5", "5", "10", "30", "60", "120", "300", "600", "+Inf"}) {
        auto v = m->get(std::string("core_interceptor_die_to_notification_seconds_bucket{le=\"") +
                        le + "\"}");
        INFO("le ", le);
        REQUIRE(v);
        CHECK(*v >= last);
        last = *v;
    }

    // One histogram per phase; the core's death went through every one of them (the probe
    // of other deaths, e.g. the scene's own, may add to probe_wait and probe).
    CHECK(m->types["core_interceptor_phase_seconds"] == "histogram");
    for (const char* phase : {"probe_wait",
                              "probe",
                              "capture_wait",
                              "commit",
                              "push",
                              "delete",
                              "deliver_kafka",
                              "deliver_rest"}) {
        INFO("phase ", phase);
        const std::string labels = std::string("{phase=\"") + phase + "\"}";
        const auto count = m->get("core_interceptor_phase_seconds_count" + labels);
        REQUIRE(count);
        CHECK(*count >= 1);
        CHECK(m->value("core_interceptor_phase_seconds_sum" + labels) >= 0);
        CHECK(m->value("core_interceptor_phase_seconds_bucket{phase=\"" + std::string(phase) +
                       "\",le=\"+Inf\"}") == *count);
        // Cumulative buckets, from 5 ms up.
        double below = 0;
        for (const char* le : {"0.005", "0.1", "1", "10", "600"}) {
            auto v = m->get("core_interceptor_phase_seconds_bucket{phase=\"" + std::string(phase) +
                            "\",le=\"" + le + "\"}");
            INFO("le ", le);
            REQUIRE(v);
            CHECK(*v >= below);
            below = *v;
        }
    }
    // One commit, one push, one removal, one delivery per sink: this death's alone.
    for (const char* phase :
         {"capture_wait", "commit", "push", "delete", "deliver_kafka", "deliver_rest"}) {
        INFO("phase ", phase);
        CHECK(m->value(std::string("core_interceptor_phase_seconds_count{phase=\"") + phase +
                       "\"}") == 1);
    }

    // --- The HTTP side: content type, other paths and methods ---------------------------
    auto raw = ts::http_get(port, "/metrics", scrape_timeout);
    REQUIRE(raw);
    CHECK(contains_nocase(raw->headers, "content-type: text/plain; version=0.0.4; charset=utf-8"));
    auto missing = ts::http_get(port, "/nope", scrape_timeout);
    REQUIRE(missing);
    CHECK(missing->status == 404);
    auto post = ts::http_post(port, "/metrics", "text/plain", "x", scrape_timeout);
    REQUIRE(post);
    CHECK(post->status == 405);

    // --- A second daemon whose Docker socket does not exist: unhealthy, with the reason --
    const auto port2 = ts::free_port();
    const auto missing_socket = work.path() / "no-such-docker.sock";
    daemon_under_test orphan(subdir(work.path(), "two"),
                             {"--docker-host",
                              "unix://" + missing_socket.string(),
                              "--hostname",
                              "testhost",
                              "--metrics-address",
                              "127.0.0.1:" + std::to_string(port2),
                              "-v",
                              "1"});
    INFO("second daemon log:\n", orphan.log_tail());
    std::optional<ts::http_reply> down;
    CHECK_MESSAGE(wait_until(
                      [&] {
                          down = ts::http_get(port2, "/healthz", scrape_timeout);
                          return down && down->status == 503 &&
                                 down->body.find(missing_socket.string()) != std::string::npos;
                      },
                      30s),
                  "/healthz: ",
                  down ? std::to_string(down->status) + " " + down->body : "no answer");
    REQUIRE(down);
    CHECK(down->status == 503);
    CHECK(down->body.rfind("docker event stream not connected", 0) == 0);
    CHECK(std::count(down->body.begin(), down->body.end(), '\n') == 1);
    auto m2 = scrape(port2);
    REQUIRE(m2);
    CHECK(m2->value("core_interceptor_docker_event_stream_connected") == 0);
    CHECK(m2->value("core_interceptor_events_received_total") == 0);

    // --- The first one is still healthy; both stop cleanly, a scraper connected ---------
    // A connection that never sends its request must not hold the stop up (the read deadline
    // is 10 s; the stop must come well before). Accepted in order: the answer to the next
    // request shows it is being served.
    idle_client held(port);
    REQUIRE(held.fd >= 0);
    auto still = ts::http_get(port, "/healthz", scrape_timeout);
    REQUIRE(still);
    CHECK(still->status == 200);
    for (auto* d : {&daemon, &orphan})
        stop_cleanly(*d, 5s);
    CHECK_FALSE(ts::http_get(port, "/healthz", 1s));
    remove_all_containers(*p);
}

TEST_CASE("metrics: a malformed --metrics-address exits 2, a busy port exits 1, both saying why")
{
    const auto bin = daemon_binary();
    const std::vector<std::pair<std::string, std::string>> no_docker{
        {"DOCKER_HOST", "unix:///nonexistent/core_interceptor-test/docker.sock"}};
    ts::temp_dir work("ci-metrics-addr-");

    auto bad = ts::run(
        {bin.string(), "--metrics-address", "nope", "--state-dir", (work.path() / "s1").string()},
        10s,
        no_docker);
    INFO("stderr: ", bad.err);
    REQUIRE_FALSE(bad.timed_out);
    CHECK(bad.status.describe() == "exit 2");
    CHECK(bad.err.find("--metrics-address") != std::string::npos);
    CHECK(bad.err.find("'nope'") != std::string::npos);

    // A port held by a daemon of ours is busy for the next one.
    const auto port = ts::free_port();
    const std::string address = "127.0.0.1:" + std::to_string(port);
    daemon_under_test holder(subdir(work.path(), "holder"),
                             {"--docker-host",
                              "unix:///nonexistent/core_interceptor-test/docker.sock",
                              "--metrics-address",
                              address});
    REQUIRE(wait_until([&] { return ts::http_get(port, "/healthz", scrape_timeout).has_value(); },
                       30s));
    auto busy = ts::run(
        {bin.string(), "--metrics-address", address, "--state-dir", (work.path() / "s2").string()},
        10s,
        no_docker);
    INFO("stderr: ", busy.err, " stdout: ", busy.out);
    REQUIRE_FALSE(busy.timed_out);
    CHECK(busy.status.describe() == "exit 1");
    const auto text = busy.err + busy.out;
    CHECK(text.find("--metrics-address " + address) != std::string::npos);
    CHECK(contains_nocase(text, "address already in use"));
    holder.proc().signal(SIGTERM);
    auto st = holder.proc().wait_for(5s);
    REQUIRE(st.has_value());
    CHECK(st->describe() == "exit 0");
}

/// The monitoring files the package ships (packaging/monitoring/, from
/// CORE_INTERCEPTOR_MONITORING_DIR, set by Meson): file name -> text.
std::map<std::string, std::string> shipped_monitoring_files()
{
    const char* dir = std::getenv("CORE_INTERCEPTOR_MONITORING_DIR");
    REQUIRE_MESSAGE(dir, "CORE_INTERCEPTOR_MONITORING_DIR is not set");
    std::map<std::string, std::string> files;
    for (const char* name : {"core_interceptor.rules.yml", "grafana-dashboard.json"}) {
        std::ifstream in(std::filesystem::path(dir) / name);
        REQUIRE_MESSAGE(in, "cannot read ", dir, "/", name);
        std::ostringstream text;
        text << in.rdbuf();
        files[name] = text.str();
    }
    return files;
}

/// Every match of `re` in `text`.
std::set<std::string> matches(const std::string& text, const std::regex& re)
{
    std::set<std::string> out;
    for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it)
        out.insert(it->str());
    return out;
}

TEST_CASE_FIXTURE(
    scene, "metrics: the shipped alerting rules and dashboard name only what /metrics serves")
{
    const auto files = shipped_monitoring_files();
    const auto bin = daemon_binary();
    if (!p)
        return;

    const auto port = ts::free_port();
    auto args = usual_args();
    args.insert(args.end(), {"--metrics-address", "127.0.0.1:" + std::to_string(port)});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail());

    // One death with a core, through commit, push and both sinks: every family has samples.
    auto c =
        start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("monitoring"));
    wait_exited(*p, {c});
    CHECK_MESSAGE(kafka.wait_for(1, notification_timeout), "no Kafka notification");
    CHECK_MESSAGE(rest.wait_for(1, notification_timeout), "no REST notification");
    std::optional<page> m;
    CHECK_MESSAGE(
        wait_until(
            [&] {
                m = scrape(port);
                return m &&
                       m->value("core_interceptor_notifications_delivered_total{sink=\"rest\"}") >=
                           1 &&
                       m->value("core_interceptor_jobs_in_flight") == 0;
            },
            notification_timeout),
        "the page never showed the REST delivery with no job in flight");
    REQUIRE_MESSAGE(m, "no answer from /metrics");

    // Nothing waits in the spools of sinks that delivered.
    CHECK(m->types["core_interceptor_spool_notifications"] == "gauge");
    CHECK(m->value("core_interceptor_spool_notifications{sink=\"kafka\"}") == 0);
    CHECK(m->value("core_interceptor_spool_notifications{sink=\"rest\"}") == 0);

    // label -> values, from the samples' "name{a=\"x\",b=\"y\"}" keys.
    std::map<std::string, std::set<std::string>> served_values;
    static const std::regex label(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)")re");
    for (const auto& [key, v] : m->samples)
        for (std::sregex_iterator it(key.begin(), key.end(), label), end; it != end; ++it)
            served_values[(*it)[1]].insert((*it)[2]);

    static const std::regex metric_name(R"(core_interceptor_[a-z0-9_]*[a-z0-9])");
    // outcome="x", outcome=~"x|y", sink="kafka", ... (JSON escapes the quotes).
    static const std::regex matcher(R"re((outcome|type|sink)=~?\\?"([a-z_|]+)\\?")re");
    for (const auto& [file, text] : files) {
        const auto names = matches(text, metric_name);
        INFO(file, " names ", joined(names));
        CHECK(names.size() >= 8);  // both watch most of the page: fewer means the pattern broke
        for (const auto& name : names)
            CHECK_MESSAGE(m->types.count(family_of(name, *m)) == 1,
                          file,
                          " names ",
                          name,
                          ", which /metrics does not serve");
        for (std::sregex_iterator it(text.begin(), text.end(), matcher), end; it != end; ++it) {
            std::istringstream alternatives((*it)[2].str());
            for (std::string v; std::getline(alternatives, v, '|');)
                CHECK_MESSAGE(served_values[(*it)[1]].count(v) == 1,
                              file,
                              " matches ",
                              (*it)[1].str(),
                              "=\"",
                              v,
                              "\", which no sample has");
        }
    }
    stop_cleanly(daemon);
    remove_all_containers(*p);
}

}  // namespace
}  // namespace core_interceptor::integration
