// SPDX-License-Identifier: MIT
#include "pipeline/job.hpp"
#include "pipeline/outcome.hpp"

#include <boost/asio/error.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>

using core_interceptor::pipeline::all_outcomes;
using core_interceptor::pipeline::outcome;
namespace pipeline = core_interceptor::pipeline;

TEST_CASE("outcome: every outcome has its own metric label and a description")
{
    std::set<std::string> labels, descriptions;
    for (auto o : all_outcomes) {
        const std::string label(pipeline::to_string(o));
        CHECK(label != "unknown");
        CHECK(label.find(' ') == std::string::npos);
        labels.insert(label);
        descriptions.insert(pipeline::describe(o));
    }
    CHECK(labels.size() == all_outcomes.size());
    CHECK(descriptions.size() == all_outcomes.size());
    CHECK(pipeline::to_string(outcome::engine_unavailable) == "engine_unavailable");
    CHECK(pipeline::describe(outcome::pushed) == "dump pushed");
    CHECK(pipeline::describe(outcome::cancelled) == "not handled: interrupted");
}

TEST_CASE("outcome: --process succeeds on a push, no dump, a dry run or a known crash")
{
    struct row {
        outcome o;
        bool with_registry, without_registry;
    };
    const row rows[] = {
        {outcome::no_dump, true, true},
        {outcome::already_reported, true, true},
        {outcome::rate_limited, false, false},
        {outcome::gone, false, false},
        {outcome::probe_failed, false, false},
        {outcome::commit_failed, false, false},
        {outcome::committed, false, true},  // with a registry, the push failed
        {outcome::pushed, true, true},
        {outcome::cancelled, false, false},
        {outcome::engine_unavailable, false, false},
        {outcome::duplicate, true, true},
        {outcome::dry_run, true, true},
    };
    CHECK(std::size(rows) == all_outcomes.size());
    for (const auto& r : rows) {
        CAPTURE(pipeline::to_string(r.o));
        CHECK(pipeline::succeeded(r.o, true) == r.with_registry);
        CHECK(pipeline::succeeded(r.o, false) == r.without_registry);
    }
}

TEST_CASE("outcome: only a lost Engine is retried; it and an interruption leave the death open")
{
    for (auto o : all_outcomes) {
        CAPTURE(pipeline::to_string(o));
        CHECK(pipeline::retried(o) == (o == outcome::engine_unavailable));
        CHECK(pipeline::settled(o) ==
              (o != outcome::engine_unavailable && o != outcome::cancelled));
    }
}

TEST_CASE("outcome: an --rm removal is warned about unless the dump was kept or accounted for")
{
    const std::set<outcome> quiet{outcome::committed,
                                  outcome::pushed,
                                  outcome::gone,
                                  outcome::already_reported,
                                  outcome::cancelled,
                                  outcome::duplicate};
    for (auto o : all_outcomes) {
        CAPTURE(pipeline::to_string(o));
        CHECK(pipeline::removal_may_lose_dump(o) == !quiet.count(o));
    }
}

TEST_CASE("outcome: a lost connection and an Engine going away are transient; other answers are "
          "not")
{
    using core_interceptor::failure;
    using core_interceptor::make_error_code;
    namespace errc = core_interceptor;
    CHECK(pipeline::transient(failure(make_error_code(errc::errc::connect_timeout))));
    CHECK(pipeline::transient(failure(boost::asio::error::connection_refused)));
    CHECK(pipeline::transient(failure(make_error_code(errc::errc::http_status),
                                      500,
                                      "failed to create image: Canceled: grpc: the client "
                                      "connection is closing: context canceled")));
    CHECK_FALSE(pipeline::transient(
        failure(make_error_code(errc::errc::http_status), 500, "no space left on device")));
    CHECK_FALSE(pipeline::transient(
        failure(make_error_code(errc::errc::http_status), 404, "No such container: x")));
    CHECK_FALSE(pipeline::transient(failure(boost::asio::error::operation_aborted)));
}
