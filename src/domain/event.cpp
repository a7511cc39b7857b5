// SPDX-License-Identifier: MIT
#include "domain/event.hpp"

#include "domain/json_member.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>

namespace core_interceptor::domain {
namespace json = boost::json;

namespace {

constexpr std::int64_t nanos_per_second = 1'000'000'000;

failure malformed(std::string what)
{
    return failure(make_error_code(errc::malformed_event), 0, std::move(what));
}

// The ID goes into request paths (/containers/{id}/…): only characters an ID or a name has.
bool plausible_id(std::string_view id) noexcept
{
    return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '_' || c == '.' || c == '-';
    });
}

}  // namespace

result<parsed_event> parse_event_line(std::string_view line)
{
    boost::system::error_code ec;
    json::value doc = json::parse(line, ec);
    if (ec)
        return malformed("event is not JSON");
    const auto* obj = doc.if_object();
    if (obj == nullptr)
        return malformed("event is not a JSON object");

    const auto* type = string_member_if(*obj, "Type");
    if (type == nullptr)
        type = string_member_if(*obj, "type");
    if (type == nullptr)
        return malformed("event has no Type");

    parsed_event out;
    if (*type != "container")
        return out;

    const json::object* actor = nullptr;
    if (const auto* a = obj->if_contains("Actor"))
        actor = a->if_object();
    const json::object* attributes = nullptr;
    if (actor != nullptr) {
        if (const auto* a = actor->if_contains("Attributes"))
            attributes = a->if_object();
    }

    const json::string* id = actor ? string_member_if(*actor, "ID") : nullptr;
    if (id == nullptr || id->empty())
        id = string_member_if(*obj, "id");
    if (id == nullptr || !plausible_id(*id))
        return malformed("container event without a valid ID");
    out.event.id = std::string(*id);

    if (const auto* nano = obj->if_contains("timeNano")) {
        boost::system::error_code num_ec;
        out.event.time_nano = nano->to_number<std::int64_t>(num_ec);
        if (num_ec)
            return malformed("event timeNano is not an integer");
    } else if (const auto* secs = obj->if_contains("time")) {
        boost::system::error_code num_ec;
        auto s = secs->to_number<std::int64_t>(num_ec);
        constexpr auto max_seconds = std::numeric_limits<std::int64_t>::max() / nanos_per_second;
        if (num_ec || s < 0 || s > max_seconds)
            return malformed("event time is not an integer");
        out.event.time_nano = s * nanos_per_second;
    } else {
        return malformed("event has no time");
    }

    if (attributes != nullptr) {
        // Every label is kept, so that an opt-out label is seen wherever it sorts; the line
        // framer's limit on a line (docker::client_config::max_line_bytes) bounds them.
        for (const auto& [k, v] : *attributes) {
            if (v.is_string())
                out.event.attributes.emplace_back(std::string(k), std::string(v.get_string()));
        }
        if (const auto* name = string_member_if(*attributes, "name"))
            out.event.name = std::string(*name);
        if (const auto* image = string_member_if(*attributes, "image"))
            out.event.image = std::string(*image);
    }
    if (out.event.image.empty()) {
        if (const auto* from = string_member_if(*obj, "from"))
            out.event.image = std::string(*from);
    }

    const auto* action = string_member_if(*obj, "Action");
    if (action == nullptr)
        action = string_member_if(*obj, "status");
    if (action != nullptr && (*action == "die" || *action == "died"))
        out.kind = event_kind::die;
    else if (action != nullptr && (*action == "destroy" || *action == "remove"))
        out.kind = event_kind::destroy;
    return out;
}

std::string since_param(std::int64_t time_nano)
{
    time_nano = std::max<std::int64_t>(time_nano, 0);
    char buf[48];
    std::snprintf(buf,
                  sizeof buf,
                  "%lld.%09lld",
                  static_cast<long long>(time_nano / nanos_per_second),
                  static_cast<long long>(time_nano % nanos_per_second));
    return buf;
}

std::string death_id(std::string_view id, std::int64_t finished_nano, std::int64_t event_nano)
{
    return std::string(id) + "-" + std::to_string(finished_nano > 0 ? finished_nano : event_nano);
}

std::string die_filter()
{
    return R"({"type":["container"],"event":["die","died","destroy","remove"]})";
}

}  // namespace core_interceptor::domain
