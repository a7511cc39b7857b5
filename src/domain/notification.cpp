// SPDX-License-Identifier: MIT
#include "domain/notification.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>

namespace core_interceptor::domain {
namespace json = boost::json;

std::string_view object_of(const std::vector<dump_info>& dumps) noexcept
{
    bool any_core = std::any_of(
        dumps.begin(), dumps.end(), [](const dump_info& d) { return d.type == dump_type::core; });
    return any_core ? "core" : "hprof";
}

std::string rfc3339_utc(std::chrono::system_clock::time_point t)
{
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(t);
    const auto day = floor<days>(ms);
    const year_month_day ymd{day};
    const hh_mm_ss hms{ms - day};
    char buf[64];
    std::snprintf(buf,
                  sizeof buf,
                  "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                  static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()),
                  static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()),
                  static_cast<int>(hms.subseconds().count()));
    return buf;
}

std::string to_json(const notification& n)
{
    json::object container;
    container["id"] = n.container.id;
    container["name"] = n.container.name;
    container["image"] = n.container.image;
    container["exit_code"] = n.container.exit_code;

    json::array dumps;
    for (const auto& d : n.dumps) {
        json::object entry;
        entry["path"] = d.path;
        entry["size"] = d.size;
        entry["type"] = to_string(d.type);
        if (!d.original_path.empty()) {
            entry["original_path"] = d.original_path;
            entry["copied"] = d.copied;
            if (!d.copied && !d.reason.empty())
                entry["reason"] = d.reason;
        }
        if (d.crash)
            entry["crash"] = to_json(*d.crash);
        if (d.heap)
            entry["heap"] = to_json(*d.heap);
        dumps.push_back(std::move(entry));
    }

    json::object body;
    body["version"] = "1.0";
    body["timestamp"] = rfc3339_utc(n.timestamp);
    body["pushed"] = n.pushed;
    body["name"] = n.name;
    body["tag"] = n.tag;
    body["hostname"] = n.hostname;
    body["object"] = object_of(n.dumps);
    body["id"] = n.id;
    body["image"] = n.image;
    body["registry"] = n.registry;
    body["digest"] = n.digest;
    body["container"] = std::move(container);
    body["dumps"] = std::move(dumps);
    if (const auto* c = first_crash(n.dumps))
        body["crash"] = to_json(*c);
    for (const auto& d : n.dumps)
        if (d.heap) {
            body["heap"] = to_json(*d.heap);
            break;
        }
    if (!n.duplicate_of.empty())
        body["duplicate_of"] = n.duplicate_of;
    return json::serialize(body);
}

const crash_info* first_crash(const std::vector<dump_info>& dumps) noexcept
{
    for (const auto& d : dumps)
        if (d.crash)
            return &*d.crash;
    return nullptr;
}

std::string kafka_key(const notification& n)
{
    return n.name + ":" + n.tag;
}

announcement announce(const notification& n)
{
    return {n.id, kafka_key(n), to_json(n)};
}

std::optional<announcement> announce_pushed(std::string_view announced,
                                            std::string_view digest,
                                            std::chrono::system_clock::time_point now)
{
    boost::system::error_code ec;
    auto v = json::parse(announced, ec);
    if (ec || !v.is_object())
        return std::nullopt;
    // Edited in place, not rebuilt: the fields keep their order and every other one (crash,
    // heap, dumps) stays as it was announced.
    auto& o = v.as_object();
    o["pushed"] = true;
    o["digest"] = digest;
    o["timestamp"] = rfc3339_utc(now);
    auto text = [&](const char* k) {
        auto* x = o.if_contains(k);
        return x && x->is_string() ? std::string(x->as_string()) : std::string{};
    };
    return announcement{text("id"), text("name") + ":" + text("tag"), json::serialize(o)};
}

}  // namespace core_interceptor::domain
