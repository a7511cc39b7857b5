// SPDX-License-Identifier: MIT
#include "domain/engine_answers.hpp"

#include "domain/json_member.hpp"
#include "domain/rfc3339.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>

namespace json = boost::json;

namespace core_interceptor::domain {
namespace {

failure malformed(unsigned status, std::string what)
{
    return failure(make_error_code(errc::malformed_response), status, std::move(what));
}

/// The body parsed, when it is a JSON value of that kind: otherwise "<what> is not a JSON
/// object" (or array).
result<json::value>
parse_body(std::string_view body, json::kind kind, unsigned status, std::string_view what)
{
    error_code ec;
    auto v = json::parse(body, ec);
    if (ec || v.kind() != kind)
        return malformed(status,
                         std::string(what) + (kind == json::kind::array ? " is not a JSON array"
                                                                        : " is not a JSON object"));
    return v;
}

/// Config.Image and Config.Labels (all of them: the body limit bounds them).
void read_config(const json::object& config, container_info& info)
{
    info.image = string_member(config, "Image");
    if (auto* labels = config.if_contains("Labels"); labels && labels->is_object())
        for (const auto& [k, val] : labels->as_object())
            if (val.is_string())
                info.labels.emplace_back(std::string(k), std::string(val.as_string()));
}

}  // namespace

std::string engine_version::name() const
{
    return family == engine_family::podman ? "Podman Engine" : "Docker Engine";
}

result<engine_version> parse_engine_version(std::string_view body)
{
    auto v = parse_body(body, json::kind::object, 200, "GET /version");
    if (!v)
        return v.error();
    const auto& o = v->as_object();
    engine_version out;
    out.version = string_member(o, "Version");
    if (auto* parts = o.if_contains("Components"); parts && parts->is_array())
        for (const auto& part : parts->as_array())
            if (part.is_object() && string_member(part.as_object(), "Name") == "Podman Engine")
                out.family = engine_family::podman;
    auto api = parse_api_version(string_member(o, "ApiVersion"));
    if (!api)
        return malformed(200, "GET /version has no ApiVersion");
    out.api = *api;
    out.min_api = parse_api_version(string_member(o, "MinAPIVersion"));
    return out;
}

result<std::string> parse_image_store(std::string_view body)
{
    auto v = parse_body(body, json::kind::object, 200, "GET /info");
    if (!v)
        return v.error();
    const auto& o = v->as_object();
    if (auto* status = o.if_contains("DriverStatus"); status && status->is_array())
        for (const auto& pair : status->as_array()) {
            if (!pair.is_array() || pair.as_array().size() != 2)
                continue;
            const auto& kv = pair.as_array();
            if (kv[0].is_string() && kv[0].as_string() == "driver-type" && kv[1].is_string() &&
                kv[1].as_string() == "io.containerd.snapshotter.v1")
                return std::string("containerd");
        }
    std::string driver = string_member(o, "Driver");
    if (driver.empty())
        return malformed(200, "GET /info names no storage Driver");
    return driver;
}

std::string exited_filter(engine_family family)
{
    return family == engine_family::podman ? R"({"status":["exited","stopped"]})"
                                           : R"({"status":["exited","dead"]})";
}

bool archive_answer_premature(unsigned status, std::string_view message, std::uint64_t body_bytes)
{
    if (status == 200)
        return body_bytes == 0;
    return status == 500 && message.starts_with("open /proc/") &&
           message.find("/ns/mnt: no such file or directory") != std::string_view::npos;
}

std::vector<std::string>
commit_label_changes(const std::vector<std::pair<std::string, std::string>>& labels)
{
    const auto plain = [](std::string_view s) {
        return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) ||
                   std::string_view("._:/@+-").find(c) != std::string_view::npos;
        });
    };
    std::vector<std::string> out;
    for (const auto& [key, value] : labels)
        if (plain(key) && plain(value))
            out.push_back("LABEL " + key + "=" + value);
    return out;
}

result<container_info> parse_inspect(std::string_view body)
{
    auto v = parse_body(body, json::kind::object, 0, "container inspect");
    if (!v)
        return v.error();
    const auto& o = v->as_object();
    container_info info;
    info.id = string_member(o, "Id");
    info.name = string_member(o, "Name");
    if (info.name.starts_with('/'))
        info.name.erase(0, 1);
    info.image_id = string_member(o, "Image");
    if (auto* c = o.if_contains("Config"); c && c->is_object())
        read_config(c->as_object(), info);
    auto* state = o.if_contains("State");
    if (info.id.empty() || !state || !state->is_object())
        return malformed(0, "container inspect lacks Id or State");
    const auto& s = state->as_object();
    if (auto* code = s.if_contains("ExitCode"); code && code->is_int64())
        info.exit_code = static_cast<int>(code->as_int64());
    info.finished_nano = parse_rfc3339_nano(string_member(s, "FinishedAt"));
    info.status = string_member(s, "Status");
    info.started_nano = parse_rfc3339_nano(string_member(s, "StartedAt"));
    if (auto* hc = o.if_contains("HostConfig"); hc && hc->is_object())
        if (auto* ar = hc->as_object().if_contains("AutoRemove"); ar && ar->is_bool())
            info.auto_remove = ar->as_bool();
    return info;
}

result<std::vector<image_summary>> parse_image_list(std::string_view body)
{
    auto v = parse_body(body, json::kind::array, 200, "image list");
    if (!v)
        return v.error();
    std::vector<image_summary> out;
    for (const auto& item : v->as_array()) {
        const auto* obj = item.if_object();
        const auto* id = obj ? string_member_if(*obj, "Id") : nullptr;
        if (!id)
            return malformed(200, "image list entry has no Id");
        image_summary s{std::string(*id), {}};
        if (const auto* tags = obj->if_contains("RepoTags"); tags && tags->is_array())
            for (const auto& t : tags->as_array())
                if (t.is_string() && t.as_string() != "<none>:<none>")
                    s.repo_tags.emplace_back(t.as_string());
        out.push_back(std::move(s));
    }
    return out;
}

result<std::vector<std::string>> parse_container_ids(std::string_view body)
{
    auto v = parse_body(body, json::kind::array, 200, "container list");
    if (!v)
        return v.error();
    std::vector<std::string> ids;
    for (const auto& c : v->as_array())
        if (c.is_object())
            if (const auto* id = string_member_if(c.as_object(), "Id"))
                ids.emplace_back(*id);
    return ids;
}

std::string daemon_message(std::string_view body)
{
    error_code ec;
    auto v = json::parse(body, ec);
    if (!ec && v.is_object())
        if (auto m = string_member(v.as_object(), "message"); !m.empty())
            return m;
    std::string out(body.substr(0, 200));
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
        out.pop_back();
    return out;
}

bool engine_going_away(unsigned status, std::string_view message) noexcept
{
    if (status < 500 || status > 599)
        return false;
    constexpr std::string_view signs[] = {
        "context canceled",
        "the client connection is closing",
        "transport is closing",
        "containerd.sock: connect: connection refused",
    };
    for (auto sign : signs)
        if (message.find(sign) != std::string_view::npos)
            return true;
    return false;
}

}  // namespace core_interceptor::domain
