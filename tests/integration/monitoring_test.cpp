// SPDX-License-Identifier: MIT
// The alerting rules and the Grafana dashboard the package ships (packaging/monitoring/) name
// only metrics that a real daemon serves: after a death is handled end to end, every
// core_interceptor_… name in either file has a # TYPE line in /metrics (a histogram's
// _bucket, _sum and _count stand for the histogram), and every outcome, type or sink a
// matcher names is a label value the page shows.
#include "harness.hpp"
#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/net.hpp"
#include "support/temp_dir.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace core_interceptor::integration {
namespace {

namespace fs = std::filesystem;
namespace ts = core_interceptor::test_support;

using namespace std::chrono_literals;

constexpr auto scrape_timeout = 5s;
constexpr auto notification_timeout = 60s;

/// What the checks need of an exposition page: TYPE by family, label values by label name.
struct page {
    std::map<std::string, std::string> types;
    std::map<std::string, std::set<std::string>> label_values;
    std::map<std::string, double> samples;

    double value(const std::string &key) const
    {
        auto it = samples.find(key);
        return it == samples.end() ? -1 : it->second;
    }
};

page parse_page(const std::string &text)
{
    static const std::regex label(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)")re");
    page p;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("# TYPE ", 0) == 0) {
            std::istringstream t(line.substr(7));
            std::string name, type;
            t >> name >> type;
            p.types[name] = type;
            continue;
        }
        if (line.empty() || line[0] == '#')
            continue;
        const auto space = line.rfind(' ');
        if (space == std::string::npos)
            continue;
        const auto key = line.substr(0, space);
        try {
            p.samples[key] = std::stod(line.substr(space + 1));
        } catch (const std::exception &) {
        }
        for (std::sregex_iterator it(key.begin(), key.end(), label), end; it != end; ++it)
            p.label_values[(*it)[1]].insert((*it)[2]);
    }
    return p;
}

std::string read_file(const fs::path &p)
{
    std::ifstream in(p);
    REQUIRE_MESSAGE(in, "cannot read ", p.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The shipped monitoring files, from CORE_INTERCEPTOR_MONITORING_DIR (set by Meson).
std::map<std::string, std::string> monitoring_files()
{
    const char *dir = std::getenv("CORE_INTERCEPTOR_MONITORING_DIR");
    REQUIRE_MESSAGE(dir, "CORE_INTERCEPTOR_MONITORING_DIR is not set");
    std::map<std::string, std::string> files;
    for (const char *name : {"core_interceptor.rules.yml", "grafana-dashboard.json"})
        files[name] = read_file(fs::path(dir) / name);
    return files;
}

/// Every core_interceptor_… name in `text`.
std::set<std::string> metric_names(const std::string &text)
{
    static const std::regex name(R"(core_interceptor_[a-z0-9_]*[a-z0-9])");
    std::set<std::string> out;
    for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it)
        out.insert(it->str());
    return out;
}

/// `outcome="x"`, `outcome=~"x|y"`, `sink="kafka"`, …: the label values a matcher names, by
/// label (JSON escapes the quotes in the dashboard).
std::map<std::string, std::set<std::string>> matched_values(const std::string &text)
{
    static const std::regex matcher(R"re((outcome|type|sink)=~?\\?"([a-z_|]+)\\?")re");
    std::map<std::string, std::set<std::string>> out;
    for (std::sregex_iterator it(text.begin(), text.end(), matcher), end; it != end; ++it) {
        std::istringstream alternatives((*it)[2].str());
        for (std::string v; std::getline(alternatives, v, '|');)
            out[(*it)[1]].insert(v);
    }
    return out;
}

/// The family a name of a rule or a panel stands for: a histogram's series name its histogram.
std::string family_of(const std::string &name, const page &p)
{
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() <= suffix.size() ||
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        const auto base = name.substr(0, name.size() - suffix.size());
        auto it = p.types.find(base);
        if (it != p.types.end() && it->second == "histogram")
            return base;
    }
    return name;
}

TEST_CASE("monitoring: the alerting rules and the dashboard name only metrics that /metrics serves")
{
    const auto files = monitoring_files();
    const auto bin = daemon_binary();
    auto *p = parts();
    if (!p)
        return;
    remove_all_containers(*p);

    ts::temp_dir work("ci-monitoring-");
    ts::mock_kafka kafka;
    ts::http_sink rest;
    const auto port = ts::free_port();
    auto args = daemon_args(*p, kafka.bootstraps(), rest.url());
    args.insert(args.end(), {"--metrics-address", "127.0.0.1:" + std::to_string(port)});
    daemon_under_test daemon(work.path(), args);
    INFO("daemon log:\n", daemon.log_tail());
    start_watching(daemon);

    // One death with a core, through commit, push and both sinks.
    auto c = start_container(*p, {"core", crash_with_core(), 139, "core"}, unique_name("monitoring"));
    wait_exited(*p, {c});
    CHECK_MESSAGE(kafka.wait_for(1, notification_timeout), "no Kafka notification");
    CHECK_MESSAGE(rest.wait_for(1, notification_timeout), "no REST notification");
    std::optional<page> m;
    const bool settled = wait_until(
        [&] {
            auto r = ts::http_get(port, "/metrics", scrape_timeout);
            if (!r || r->status != 200)
                return false;
            m = parse_page(r->body);
            return m->value("core_interceptor_notifications_delivered_total{sink=\"kafka\"}") >= 1 &&
                   m->value("core_interceptor_notifications_delivered_total{sink=\"rest\"}") >= 1 &&
                   m->value("core_interceptor_jobs_in_flight") == 0;
        },
        notification_timeout);
    REQUIRE_MESSAGE(m, "no answer from /metrics");
    CHECK_MESSAGE(settled, "the page never showed both deliveries with no job in flight");
    INFO("families served: ", [&] {
        std::set<std::string> s;
        for (const auto &[name, type] : m->types)
            s.insert(name + " (" + type + ")");
        return joined(s);
    }());

    // Both sinks delivered: nothing waits in their spools.
    CHECK(m->types["core_interceptor_spool_notifications"] == "gauge");
    CHECK(m->value("core_interceptor_spool_notifications{sink=\"kafka\"}") == 0);
    CHECK(m->value("core_interceptor_spool_notifications{sink=\"rest\"}") == 0);

    for (const auto &[file, text] : files) {
        const auto names = metric_names(text);
        INFO(file, " names ", joined(names));
        // Both files watch most of the page; a handful of names means the pattern broke.
        CHECK(names.size() >= 8);
        for (const auto &name : names) {
            INFO(file, ": ", name);
            CHECK_MESSAGE(m->types.count(family_of(name, *m)) == 1,
                          file, " names ", name, ", which /metrics does not serve");
        }
        for (const auto &[label, values] : matched_values(text))
            for (const auto &v : values) {
                INFO(file, ": ", label, "=\"", v, "\"");
                CHECK_MESSAGE(m->label_values[label].count(v) == 1,
                              file, " matches ", label, "=\"", v, "\", which no sample of /metrics has");
            }
    }

    stop_cleanly(daemon);
}

}  // namespace
}  // namespace core_interceptor::integration
