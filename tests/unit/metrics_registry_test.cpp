// SPDX-License-Identifier: MIT
#include "metrics/registry.hpp"
#include "metrics/server.hpp"

#include <doctest/doctest.h>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

using namespace core_interceptor::metrics;

namespace {

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        out.push_back(l);
    return out;
}

}  // namespace

TEST_CASE("metrics: counters and gauges render HELP, TYPE and one line per sample")
{
    std::vector<family> fs{
        {"app_events_total", "Events seen.", kind::counter, {{{}, 42}}, {}},
        {"app_sent_total",
         "Sent, by sink.",
         kind::counter,
         {{{{"sink", "kafka"}}, 3}, {{{"sink", "rest"}, {"code", "2xx"}}, 0}},
         {}},
        {"app_connected", "1 when up.", kind::gauge, {{{}, 1}}, {}},
        {"app_empty_total", "No sample yet.", kind::counter, {}, {}},
    };
    const auto text = render(fs);
    CHECK(text == "# HELP app_events_total Events seen.\n"
                  "# TYPE app_events_total counter\n"
                  "app_events_total 42\n"
                  "# HELP app_sent_total Sent, by sink.\n"
                  "# TYPE app_sent_total counter\n"
                  "app_sent_total{sink=\"kafka\"} 3\n"
                  "app_sent_total{sink=\"rest\",code=\"2xx\"} 0\n"
                  "# HELP app_connected 1 when up.\n"
                  "# TYPE app_connected gauge\n"
                  "app_connected 1\n"
                  "# HELP app_empty_total No sample yet.\n"
                  "# TYPE app_empty_total counter\n");
    CHECK(text.back() == '\n');
}

TEST_CASE("metrics: label values and help text are escaped")
{
    CHECK(escape_label_value(R"(a\b"c)"
                             "\n"
                             "d") == R"(a\\b\"c\nd)");
    CHECK(escape_label_value("plain") == "plain");
    CHECK(escape_help("back\\slash \"quoted\"\nnext") == "back\\\\slash \"quoted\"\\nnext");
    std::vector<family> fs{
        {"x_total", "line\none", kind::counter, {{{{"path", "C:\\dir\n\"x\""}}, 1}}, {}}};
    CHECK(render(fs) == "# HELP x_total line\\none\n"
                        "# TYPE x_total counter\n"
                        "x_total{path=\"C:\\\\dir\\n\\\"x\\\"\"} 1\n");
}

TEST_CASE("metrics: values are integers when whole, else shortest; infinities and NaN by name")
{
    CHECK(format_value(0) == "0");
    CHECK(format_value(12345678901234.0) == "12345678901234");
    CHECK(format_value(-3) == "-3");
    CHECK(format_value(0.25) == "0.25");
    CHECK(format_value(2.5) == "2.5");
    CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("metrics: histogram buckets are cumulative, end with +Inf, then _sum and _count")
{
    histogram h({0.5, 1, 5});
    for (double v : {0.1, 0.5, 0.7, 3.0, 4.0, 100.0})
        h.observe(v);
    CHECK(h.count() == 6);
    CHECK(h.sum() == doctest::Approx(108.3));
    CHECK(h.bucket_counts() ==
          std::vector<std::uint64_t>{2, 1, 2, 1});  // le is inclusive: 0.5 in the first

    std::vector<family> fs{
        {"lat_seconds", "Latency.", kind::histogram, {}, {{{{"sink", "rest"}}, &h}}}};
    const auto lines = lines_of(render(fs));
    const std::vector<std::string> want{
        "# HELP lat_seconds Latency.",
        "# TYPE lat_seconds histogram",
        "lat_seconds_bucket{sink=\"rest\",le=\"0.5\"} 2",
        "lat_seconds_bucket{sink=\"rest\",le=\"1\"} 3",
        "lat_seconds_bucket{sink=\"rest\",le=\"5\"} 5",
        "lat_seconds_bucket{sink=\"rest\",le=\"+Inf\"} 6",
        "lat_seconds_sum{sink=\"rest\"} 108.3",
        "lat_seconds_count{sink=\"rest\"} 6",
    };
    CHECK(lines == want);

    histogram empty({1, 2});
    std::vector<family> none{{"e_seconds", "E.", kind::histogram, {}, {{{}, &empty}}}};
    CHECK(lines_of(render(none)) == std::vector<std::string>{"# HELP e_seconds E.",
                                                             "# TYPE e_seconds histogram",
                                                             "e_seconds_bucket{le=\"1\"} 0",
                                                             "e_seconds_bucket{le=\"2\"} 0",
                                                             "e_seconds_bucket{le=\"+Inf\"} 0",
                                                             "e_seconds_sum 0",
                                                             "e_seconds_count 0"});
}

TEST_CASE("metrics: histogram bounds must be finite and strictly ascending")
{
    CHECK_THROWS_AS(histogram({1, 1}), std::invalid_argument);
    CHECK_THROWS_AS(histogram({2, 1}), std::invalid_argument);
    CHECK_THROWS_AS(histogram({1, std::numeric_limits<double>::infinity()}), std::invalid_argument);
    CHECK_NOTHROW(histogram({}));
}

TEST_CASE("metrics server: answers /metrics, /healthz, 404 and 405 without a socket")
{
    bool healthy = true;
    const render_fn page = [] { return std::string("x_total 1\n"); };
    const health_fn health = [&]() -> std::optional<std::string> {
        if (healthy)
            return std::nullopt;
        return std::string("docker event stream not connected: refused");
    };

    auto m = answer("GET", "/metrics", page, health);
    CHECK(m.status == 200);
    CHECK(m.content_type == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(m.body == "x_total 1\n");
    CHECK(answer("GET", "/metrics?name[]=x", page, health).status == 200);

    auto ok = answer("GET", "/healthz", page, health);
    CHECK(ok.status == 200);
    CHECK(ok.body == "ok\n");
    healthy = false;
    auto down = answer("GET", "/healthz", page, health);
    CHECK(down.status == 503);
    CHECK(down.body == "docker event stream not connected: refused\n");

    auto missing = answer("GET", "/", page, health);
    CHECK(missing.status == 404);
    CHECK(answer("GET", "/metricsx", page, health).status == 404);
    for (const char* method : {"POST", "PUT", "DELETE", "HEAD"}) {
        INFO(method);
        auto r = answer(method, "/metrics", page, health);
        CHECK(r.status == 405);
        CHECK(r.allow == "GET");
    }
}
