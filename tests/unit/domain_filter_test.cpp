// SPDX-License-Identifier: MIT
#include "domain/filter.hpp"

#include <doctest/doctest.h>

using namespace core_interceptor::domain;

namespace {

die_event event(std::string image, std::vector<std::pair<std::string, std::string>> attrs)
{
    die_event ev{"3bb1f33bb805b0772a8853936356bc140c31b90388197737e540fab67c60aca5",
                 "app",
                 std::move(image),
                 1};
    ev.attributes = std::move(attrs);
    ev.attributes.emplace_back("name", "app");
    return ev;
}

}  // namespace

TEST_CASE("filter: no rule handles every container")
{
    CHECK(accepts({}, event("busybox", {})));
}

TEST_CASE("filter: core_interceptor.skip=true opts a container out")
{
    std::string why;
    CHECK_FALSE(accepts({}, event("busybox", {{"core_interceptor.skip", "true"}}), &why));
    CHECK(why.find("core_interceptor.skip") != std::string::npos);
    CHECK(accepts({}, event("busybox", {{"core_interceptor.skip", "false"}})));
}

TEST_CASE("filter: include and exclude labels, with and without a value")
{
    container_filter f;
    f.include_labels.push_back(*parse_label_match("team"));
    f.exclude_labels.push_back(*parse_label_match("env=dev"));
    CHECK(accepts(f, event("x", {{"team", "core"}, {"env", "prod"}})));
    CHECK_FALSE(accepts(f, event("x", {{"env", "prod"}})));                   // no team label
    CHECK_FALSE(accepts(f, event("x", {{"team", "core"}, {"env", "dev"}})));  // excluded
    f.include_labels = {*parse_label_match("team=core")};
    CHECK_FALSE(accepts(f, event("x", {{"team", "web"}})));
    CHECK(accepts(f, event("x", {{"team", "core"}})));
}

TEST_CASE("filter: include-image globs the image reference")
{
    container_filter f;
    f.include_images = {"registry.example.com/team/*", "busybox*"};
    CHECK(accepts(f, event("registry.example.com/team/app:1.0", {})));
    CHECK(accepts(f, event("busybox:latest", {})));
    std::string why;
    CHECK_FALSE(accepts(f, event("nginx:1", {}), &why));
    CHECK(why.find("nginx:1") != std::string::npos);
}

TEST_CASE("filter: K[=V] parsing")
{
    CHECK_FALSE(parse_label_match("").has_value());
    CHECK_FALSE(parse_label_match("=x").has_value());
    auto m = parse_label_match("a=b=c");
    REQUIRE(m.has_value());
    CHECK(m->key == "a");
    CHECK(m->value == "b=c");
    CHECK_FALSE(parse_label_match("k")->value.has_value());
}

TEST_CASE("filter: event labels come through the event parser")
{
    auto r = parse_event_line(
        R"({"status":"die","id":"5e68961453ffd71854ac2a3087987f28da7d5453e3130365e16064d21e5faf17","Type":"container","Action":"die","Actor":{"ID":"5e68961453ffd71854ac2a3087987f28da7d5453e3130365e16064d21e5faf17","Attributes":{"exitCode":"139","image":"testimg:1.0","name":"x","core_interceptor.skip":"true"}},"time":1795556211,"timeNano":1795556211143489487})");
    REQUIRE(r.has_value());
    CHECK_FALSE(accepts({}, r->event));
}

TEST_CASE("filter: an opt-out label is seen after 300 others, from the event and from inspect")
{
    std::string attrs = R"("exitCode":"139","image":"testimg:1.0","name":"x")";
    for (int i = 0; i < 300; ++i)
        attrs += ",\"label." + std::to_string(1000 + i) + "\":\"v\"";
    attrs += R"(,"zzz.last":"1","core_interceptor.skip":"true")";
    auto r = parse_event_line(
        R"({"Type":"container","Action":"die","Actor":{"ID":"5e68961453ffd71854ac2a3087987f28da7d5453e3130365e16064d21e5faf17","Attributes":{)" +
        attrs + R"(}},"timeNano":1795556211143489487})");
    REQUIRE(r.has_value());
    CHECK(r->event.attributes.size() == 305);
    CHECK_FALSE(accepts({}, r->event));
    container_filter f;
    f.exclude_labels.push_back(*parse_label_match("zzz.last"));
    auto ev = r->event;
    std::erase_if(ev.attributes,
                  [](const auto& kv) { return kv.first == "core_interceptor.skip"; });
    CHECK_FALSE(accepts(f, ev));
    CHECK(accepts({}, ev));
}
