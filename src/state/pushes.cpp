// SPDX-License-Identifier: MIT
#include "state/pushes.hpp"

#include "domain/json_member.hpp"
#include "state/files.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace fs = std::filesystem;
namespace json = boost::json;

namespace core_interceptor::state {
namespace {

// Removes a pending push's file and syncs its directory (gone already is fine).
writer::task removal(fs::path file)
{
    return [file = std::move(file)](std::string&) {
        std::error_code ec;
        fs::remove(file, ec);
        detail::sync_dir(file.parent_path());
        return error_code{};
    };
}

}  // namespace

result<writer::task> pending_pushes_file::add_task(std::string_view repository,
                                                   std::string_view tag,
                                                   std::string_view notification) const
{
    json::object o;
    o["repository"] = repository;
    o["tag"] = tag;
    o["notification"] = notification;
    // The tag is the container ID prefix: unique per container, and a later commit of the same
    // container replaces the earlier image (it holds a superset), so one file per tag.
    std::string name(tag);
    if (!detail::safe_component(name))
        return failure(boost::system::errc::make_error_code(boost::system::errc::invalid_argument));
    return writer::task([p = dir_ / "pushes" / (name + ".json"), text = json::serialize(o)](
                            std::string& what) { return try_write_file(p, text, what); });
}

error_code pending_pushes_file::add(std::string_view repository,
                                    std::string_view tag,
                                    std::string_view notification)
{
    auto t = add_task(repository, tag, notification);
    if (!t)
        return t.error().code;
    return writer_.call(std::move(*t));
}

boost::asio::awaitable<error_code> pending_pushes_file::async_add(const std::string& repository,
                                                                  const std::string& tag,
                                                                  const std::string& notification)
{
    auto t = add_task(repository, tag, notification);
    if (!t)
        co_return t.error().code;
    writer::task work = std::move(*t);
    // Named, never a temporary in a co_await expression: g++ 12 may destroy one twice.
    const error_code ec = co_await writer_.async_call(std::move(work));
    co_return ec;
}

std::vector<pending_push> pending_pushes_file::list() const
{
    std::vector<std::pair<fs::file_time_type, pending_push>> found;
    std::error_code ec;
    const json::object none;  // what a file that is not a JSON object reads as
    for (const auto& e : fs::directory_iterator(dir_ / "pushes", ec)) {
        if (e.path().extension() != ".json")
            continue;
        bool ok = false;
        std::string text = detail::read_small_file(e.path(), ok);
        error_code jec;
        auto v = ok ? json::parse(text, jec) : json::value{};
        const json::object& o = !jec && v.is_object() ? v.as_object() : none;
        pending_push p{e.path(),
                       domain::string_member(o, "repository"),
                       domain::string_member(o, "tag"),
                       domain::string_member(o, "notification")};
        if (p.repository.empty() || p.tag.empty()) {
            detail::set_aside(e.path(), "not a valid pending push");
            continue;
        }
        std::error_code tec;
        found.emplace_back(fs::last_write_time(e.path(), tec), std::move(p));
    }
    std::sort(
        found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<pending_push> out;
    for (auto& f : found)
        out.push_back(std::move(f.second));
    return out;
}

error_code pending_pushes_file::remove(const pending_push& p)
{
    return writer_.call(removal(p.file));
}

boost::asio::awaitable<error_code> pending_pushes_file::async_remove(const pending_push& p)
{
    writer::task work = removal(p.file);
    const error_code ec = co_await writer_.async_call(std::move(work));
    co_return ec;
}

std::string pending_pushes_file::signatures() const
{
    const fs::path p = dir_ / "signatures.json";
    if (!detail::exists(p))
        return {};
    bool ok = false;
    std::string text = detail::read_small_file(p, ok);
    error_code ec;
    if (ok)
        json::parse(text, ec);
    if (!ok || ec) {
        detail::set_aside(p, ok ? "not valid JSON (torn write?)" : "unreadable or too large");
        return {};
    }
    return text;
}

void pending_pushes_file::save_signatures(std::string json)
{
    writer_.write(dir_ / "signatures.json", std::move(json), true);
}

}  // namespace core_interceptor::state
