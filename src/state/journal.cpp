// SPDX-License-Identifier: MIT
#include "state/journal.hpp"

#include "domain/json_member.hpp"
#include "state/files.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdlib>

namespace fs = std::filesystem;
namespace json = boost::json;

namespace core_interceptor::state {
namespace {

using detail::safe_component;

std::string job_file_name(const domain::die_event& ev)
{
    return ev.id + "-" + std::to_string(ev.time_nano) + ".json";
}

// A job record, or nullopt when the file is not one.
std::optional<domain::die_event> read_job(const fs::path& p)
{
    bool ok = false;
    std::string text = detail::read_small_file(p, ok);
    error_code jec;
    auto v = ok ? json::parse(text, jec) : json::value{};
    if (jec || !v.is_object())
        return std::nullopt;
    const json::object& o = v.as_object();
    domain::die_event ev;
    ev.id = domain::string_member(o, "id");
    ev.name = domain::string_member(o, "name");
    ev.image = domain::string_member(o, "image");
    if (auto* t = o.if_contains("time_nano"); t && t->is_int64())
        ev.time_nano = t->as_int64();
    if (!safe_component(ev.id))
        return std::nullopt;
    return ev;
}

}  // namespace

journal::journal(fs::path dir, writer& w) : dir_(std::move(dir)), writer_(w)
{
    // The newest event time, written unsynced per event (see set_last_event_nano); a torn or
    // missing file leaves the time in state.json, which is never newer.
    bool ok = false;
    const std::string text = detail::read_small_file(dir_ / "last_event", ok);
    if (ok)
        last_event_nano_ = std::max<std::int64_t>(0, std::strtoll(text.c_str(), nullptr, 10));
}

void journal::raise_last_event_nano(std::int64_t t) noexcept
{
    last_event_nano_ = std::max(last_event_nano_, t);
}

void journal::set_last_event_nano(std::int64_t t)
{
    if (t <= last_event_nano_)
        return;
    last_event_nano_ = t;
    writer_.write(dir_ / "last_event", std::to_string(t) + "\n", false);
}

void journal::job_started(const domain::die_event& ev)
{
    if (!safe_component(ev.id))
        return;
    json::object o;
    o["id"] = ev.id;
    o["name"] = ev.name;
    o["image"] = ev.image;
    o["time_nano"] = ev.time_nano;
    writer_.write(dir_ / "jobs" / job_file_name(ev), json::serialize(o), true);
}

void journal::job_finished(const domain::die_event& ev)
{
    if (!safe_component(ev.id))
        return;
    writer_.remove(dir_ / "jobs" / job_file_name(ev));
}

std::vector<domain::die_event> journal::unfinished_jobs()
{
    writer_.flush();
    std::vector<domain::die_event> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_ / "jobs", ec)) {
        const auto& p = entry.path();
        if (p.extension() != ".json")
            continue;
        if (auto ev = read_job(p))
            out.push_back(std::move(*ev));
        else
            detail::set_aside(p, "not a valid job record");
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.time_nano < b.time_nano;
    });
    return out;
}

}  // namespace core_interceptor::state
