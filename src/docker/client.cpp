// SPDX-License-Identifier: MIT
#include "docker/client.hpp"

#include "domain/dump.hpp"
#include "domain/event.hpp"
#include "domain/ndjson.hpp"
#include "domain/push_stream.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace asio = boost::asio;
namespace json = boost::json;

namespace core_interceptor::docker {
namespace {

std::string encode(std::string_view s)
{
    return boost::urls::encode(s, boost::urls::unreserved_chars);
}

// The archive probe reads the tar header(s) and the file's first bytes, then hangs up. A
// PAX header for a long path is at most a few KiB; past this, the answer is not a probe of
// one file and is abandoned.
constexpr std::size_t max_probe_bytes = 64 * 1024;

// An error answer's body is the daemon's {"message": …}: short.
constexpr std::size_t max_error_body = 64 * 1024;

/// An unlinked temporary file: it disappears with its descriptor, whatever happens.
class spool_file {
public:
    static result<spool_file> create(const std::string& dir)
    {
        int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
            // No O_TMPFILE on this file system: create, then unlink at once.
            std::string name = dir + "/.dump-spool-XXXXXX";
            fd = ::mkostemp(name.data(), O_CLOEXEC);
            if (fd >= 0)
                ::unlink(name.c_str());
        }
        if (fd < 0)
            return failure(make_error_code(errc::local_io),
                           0,
                           "spool file in " + dir + ": " + std::strerror(errno));
        return spool_file(fd);
    }
    spool_file(spool_file&& o) noexcept : fd_(std::exchange(o.fd_, -1)), size_(o.size_) {}
    spool_file& operator=(spool_file&&) = delete;
    ~spool_file()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }

    result<void> append(std::string_view bytes)
    {
        while (!bytes.empty()) {
            auto n = ::write(fd_, bytes.data(), bytes.size());
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return failure(make_error_code(errc::local_io),
                               0,
                               std::string("writing the dump spool: ") + std::strerror(errno));
            bytes.remove_prefix(static_cast<std::size_t>(n));
            size_ += static_cast<std::uint64_t>(n);
        }
        return {};
    }
    /// The next piece from `offset`, at most `buf.size()` bytes; empty at the end.
    result<std::string_view> read_at(std::uint64_t offset, std::vector<char>& buf)
    {
        for (;;) {
            auto n = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return failure(make_error_code(errc::local_io),
                               0,
                               std::string("reading the dump spool: ") + std::strerror(errno));
            return std::string_view(buf.data(), static_cast<std::size_t>(n));
        }
    }
    std::uint64_t size() const noexcept { return size_; }

private:
    explicit spool_file(int fd) : fd_(fd) {}
    int fd_;
    std::uint64_t size_ = 0;
};

}  // namespace

failure api_failure(unsigned status, std::string_view body)
{
    errc e = status == 404 ? errc::not_found : status == 409 ? errc::conflict : errc::http_status;
    std::string message;
    error_code ec;
    auto v = json::parse(body, ec);
    if (!ec && v.is_object())
        if (auto* m = v.as_object().if_contains("message"); m && m->is_string())
            message = std::string(m->as_string());
    if (message.empty()) {
        message = std::string(body.substr(0, 200));
        while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
            message.pop_back();
    }
    return failure(make_error_code(e), status, std::move(message));
}

std::int64_t parse_rfc3339_nano(std::string_view t)
{
    // YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)
    auto num = [&](std::size_t pos, std::size_t len) -> int {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (i >= t.size() || t[i] < '0' || t[i] > '9')
                return -1;
            v = v * 10 + (t[i] - '0');
        }
        return v;
    };
    if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ') ||
        t[13] != ':' || t[16] != ':')
        return 0;
    std::tm tm{};
    int year = num(0, 4), mon = num(5, 2), day = num(8, 2), hh = num(11, 2), mm = num(14, 2),
        ss = num(17, 2);
    if (year < 1971 || mon < 1 || day < 1 || hh < 0 || mm < 0 || ss < 0)
        return 0;  // includes Docker's "0001-01-01T00:00:00Z" for never
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    std::size_t pos = 19;
    std::int64_t frac = 0;
    if (pos < t.size() && t[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
            if (digits < 9) {
                frac = frac * 10 + (t[pos] - '0');
                ++digits;
            }
            ++pos;
        }
        for (; digits < 9; ++digits)
            frac *= 10;
    }
    long offset = 0;
    if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
        int oh = num(pos + 1, 2), om = num(pos + 4, 2);
        if (oh < 0 || om < 0)
            return 0;
        offset = (t[pos] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
    } else if (pos >= t.size() || t[pos] != 'Z') {
        return 0;
    }
    std::int64_t secs = static_cast<std::int64_t>(::timegm(&tm)) - offset;
    return secs * 1'000'000'000 + frac;
}

result<domain::container_info> parse_inspect(std::string_view body)
{
    error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object())
        return failure(
            make_error_code(errc::malformed_response), 0, "container inspect is not a JSON object");
    const auto& o = v.as_object();
    auto str = [](const json::object& obj, std::string_view key) -> std::string {
        if (auto* p = obj.if_contains(key); p && p->is_string())
            return std::string(p->as_string());
        return {};
    };
    domain::container_info info;
    info.id = str(o, "Id");
    info.name = str(o, "Name");
    if (info.name.starts_with('/'))
        info.name.erase(0, 1);
    info.image_id = str(o, "Image");
    if (auto* c = o.if_contains("Config"); c && c->is_object()) {
        info.image = str(c->as_object(), "Image");
        if (auto* labels = c->as_object().if_contains("Labels"); labels && labels->is_object())
            for (const auto& [k, val] : labels->as_object())
                if (val.is_string())  // all: the body limit bounds them
                    info.labels.emplace_back(std::string(k), std::string(val.as_string()));
    }
    auto* state = o.if_contains("State");
    if (info.id.empty() || !state || !state->is_object())
        return failure(
            make_error_code(errc::malformed_response), 0, "container inspect lacks Id or State");
    if (auto* code = state->as_object().if_contains("ExitCode"); code && code->is_int64())
        info.exit_code = static_cast<int>(code->as_int64());
    info.finished_nano = parse_rfc3339_nano(str(state->as_object(), "FinishedAt"));
    info.status = str(state->as_object(), "Status");
    info.started_nano = parse_rfc3339_nano(str(state->as_object(), "StartedAt"));
    if (auto* hc = o.if_contains("HostConfig"); hc && hc->is_object())
        if (auto* ar = hc->as_object().if_contains("AutoRemove"); ar && ar->is_bool())
            info.auto_remove = ar->as_bool();
    return info;
}

client::client(client_config cfg) : cfg_(std::move(cfg))
{
    auto ep = http::parse_docker_host(cfg_.host);
    if (!ep)
        throw std::invalid_argument("--docker-host: " + ep.error().describe());
    endpoint_ = std::move(*ep);
}

std::string client::path(std::string_view p) const
{
    return prefix_ + std::string(p);
}

http::limits client::limits(std::chrono::seconds timeout) const
{
    http::limits lim;
    lim.connect_timeout = cfg_.connect_timeout;
    lim.timeout = timeout;
    lim.max_header = cfg_.max_header_bytes;
    lim.max_body = cfg_.max_body_bytes;
    return lim;
}

asio::awaitable<result<http::response>> client::call(http::request req,
                                                     std::chrono::seconds timeout)
{
    ++calls_;
    co_return co_await http::exchange(endpoint_, req, limits(timeout), nullptr, &bytes_read_);
}

asio::awaitable<failure> client::stream_failure(http::stream_reader& s)
{
    auto body = co_await s.read_rest(max_error_body, cfg_.request_timeout);
    co_return api_failure(s.status(), body ? *body : std::string{});
}

asio::awaitable<result<domain::api_version>> client::negotiate()
{
    http::request req;
    req.target = "/version";  // unversioned: answered by every Engine
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    error_code ec;
    auto v = json::parse(r->body, ec);
    if (ec || !v.is_object())
        co_return failure(
            make_error_code(errc::malformed_response), 200, "GET /version is not a JSON object");
    const auto& o = v.as_object();
    std::optional<domain::api_version> daemon, minimum;
    if (auto* p = o.if_contains("ApiVersion"); p && p->is_string())
        daemon = domain::parse_api_version(p->as_string());
    if (auto* p = o.if_contains("MinAPIVersion"); p && p->is_string())
        minimum = domain::parse_api_version(p->as_string());
    if (!daemon)
        co_return failure(
            make_error_code(errc::malformed_response), 200, "GET /version has no ApiVersion");
    auto use = domain::negotiate(domain::our_api_version, *daemon, minimum);
    prefix_ = "/v" + domain::to_string(use);
    co_return use;
}

asio::awaitable<result<http::stream_reader>> client::events(std::int64_t since_nano)
{
    ++calls_;
    http::request req;
    req.target = path("/events?filters=" + encode(domain::die_filter()));
    if (since_nano > 0)
        req.target += "&since=" + domain::since_param(since_nano);
    auto s = co_await http::stream_reader::open(
        endpoint_, req, limits(cfg_.request_timeout), &bytes_read_);
    if (!s)
        co_return s.error();
    if (s->status() != 200)
        co_return co_await stream_failure(*s);
    co_return std::move(*s);
}

asio::awaitable<result<std::vector<std::string>>> client::exited_containers()
{
    http::request req;
    req.target =
        path("/containers/json?all=1&filters=" + encode(R"({"status":["exited","dead"]})"));
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    error_code ec;
    auto v = json::parse(r->body, ec);
    if (ec || !v.is_array())
        co_return failure(
            make_error_code(errc::malformed_response), 200, "container list is not a JSON array");
    std::vector<std::string> ids;
    for (const auto& c : v.as_array())
        if (c.is_object())
            if (auto* id = c.as_object().if_contains("Id"); id && id->is_string())
                ids.emplace_back(id->as_string());
    co_return ids;
}

asio::awaitable<result<changes>> client::dump_candidates(std::string_view id,
                                                         const std::vector<std::string>& patterns)
{
    http::request req;
    req.target = path("/containers/" + encode(id) + "/changes");
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    auto c = domain::dump_candidates(r->body, patterns);
    if (!c)
        co_return c.error();
    changes out;
    out.candidates = std::move(*c);
    co_return out;
}

asio::awaitable<result<domain::path_stat>> client::stat_path(std::string_view id,
                                                             std::string_view p)
{
    http::request req;
    req.method = "HEAD";
    req.target = path("/containers/" + encode(id) + "/archive?path=" + encode(p));
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    const std::string* stat = r->header("X-Docker-Container-Path-Stat");
    if (!stat)
        co_return failure(make_error_code(errc::malformed_response),
                          r->status,
                          "no X-Docker-Container-Path-Stat header for " + std::string(p));
    co_return domain::decode_path_stat(*stat);
}

asio::awaitable<result<file_prefix>>
client::read_prefix(std::string_view id, std::string_view p, std::size_t n)
{
    const prefix_need fixed = [n](std::string_view) { return n; };
    co_return co_await read_head(id, p, fixed);
}

asio::awaitable<result<file_prefix>>
client::read_head(std::string_view id, std::string_view p, const prefix_need& need)
{
    ++calls_;
    http::request req;
    req.target = path("/containers/" + encode(id) + "/archive?path=" + encode(p));
    auto lim = limits(cfg_.request_timeout);
    lim.read_chunk = 8 * 1024;  // a tar header and a note segment: overshoot at most this
    auto s = co_await http::stream_reader::open(endpoint_, req, lim, &bytes_read_);
    if (!s)
        co_return s.error();
    if (s->status() != 200)
        co_return co_await stream_failure(*s);
    domain::tar_prefix_reader tar(need({}));
    std::size_t seen = 0;
    bool enough = false;
    while (!enough) {
        auto piece = co_await s->read_some(std::chrono::milliseconds(cfg_.request_timeout));
        if (!piece)
            co_return piece.error();
        if (piece->empty())
            break;  // the archive ended: whatever was collected is all there is
        seen += piece->size();
        // A piece may complete one need and start the next: ask again each time it is met.
        for (std::string_view rest = *piece; !enough && !rest.empty();) {
            rest.remove_prefix(tar.feed(rest));
            if (tar.failed())
                co_return failure(make_error_code(errc::malformed_response),
                                  200,
                                  "archive of " + std::string(p) +
                                      " does not start with a regular file");
            if (!tar.done())
                continue;
            const std::size_t more = need(tar.content());
            if (more <= tar.content().size() ||
                tar.content().size() >= static_cast<std::uint64_t>(tar.file_size()))
                enough = true;
            else
                tar.want(more);
        }
        if (!enough && !tar.collecting() && seen > max_probe_bytes)
            co_return failure(make_error_code(errc::limit_exceeded),
                              200,
                              "archive of " + std::string(p) + ": no file content within 64 KiB");
    }
    // Hang up: the rest of the file (possibly gigabytes) is never transferred (SPEC §4.3).
    s->close();
    if (!tar.done())
        co_return failure(
            make_error_code(errc::stream_truncated), 200, "archive of " + std::string(p));
    co_return file_prefix{tar.content(), tar.file_size()};
}

asio::awaitable<result<domain::container_info>> client::inspect(std::string_view id)
{
    http::request req;
    req.target = path("/containers/" + encode(id) + "/json");
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    co_return parse_inspect(r->body);
}

asio::awaitable<result<std::string>> client::commit(const commit_request& c)
{
    json::object labels;
    for (const auto& [k, v] : c.labels)
        labels[k] = v;
    json::object body;
    body["Labels"] = std::move(labels);

    http::request req;
    req.method = "POST";
    req.target =
        path("/commit?container=" + encode(c.container_id) + "&repo=" + encode(c.repository) +
             "&tag=" + encode(c.tag) + "&comment=" + encode(c.comment) + "&pause=false");
    req.content_type = "application/json";
    req.body = json::serialize(body);
    auto r = co_await call(std::move(req), cfg_.commit_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 201 && r->status != 200)
        co_return api_failure(r->status, r->body);
    error_code ec;
    auto v = json::parse(r->body, ec);
    if (!ec && v.is_object())
        if (auto* id = v.as_object().if_contains("Id"); id && id->is_string())
            co_return std::string(id->as_string());
    co_return failure(
        make_error_code(errc::malformed_response), r->status, "commit answer has no Id");
}

asio::awaitable<result<std::string>>
client::push(std::string_view repository, std::string_view tag, std::string_view registry_auth)
{
    ++calls_;
    http::request req;
    req.method = "POST";
    // The repository keeps its '/' and ':': the Engine routes /images/{name:.*}/push.
    req.target = path("/images/" + std::string(repository) + "/push?tag=" + encode(tag));
    // Sent even for anonymous pushes: the Engine refuses a push without it (SPEC §4a).
    req.headers.push_back({"X-Registry-Auth", std::string(registry_auth)});
    auto s = co_await http::stream_reader::open(
        endpoint_, req, limits(cfg_.request_timeout), &bytes_read_);
    if (!s)
        co_return s.error();
    if (s->status() != 200)
        co_return co_await stream_failure(*s);
    domain::line_framer lines(cfg_.max_line_bytes);
    domain::push_stream_parser progress{std::string(tag)};
    for (;;) {
        auto piece = co_await s->read_some(std::chrono::milliseconds(cfg_.push_idle_timeout));
        if (!piece)
            co_return piece.error();
        if (piece->empty())
            break;
        lines.feed(*piece);
        while (auto line = lines.next())
            progress.on_line(*line);
    }
    if (progress.failed())
        co_return failure(make_error_code(errc::push_failed), 200, progress.error());
    if (!progress.digest().empty())
        co_return progress.digest();
    // No digest in the stream (Podman sends no aux line; a stream may end early): only the
    // Engine's own answer for the reference in the registry confirms the push.
    co_return co_await confirm_push(std::string(repository) + ":" + std::string(tag),
                                    registry_auth);
}

asio::awaitable<result<std::string>> client::confirm_push(std::string reference,
                                                          std::string_view registry_auth)
{
    ++calls_;
    http::request req;
    req.target = path("/distribution/" + reference + "/json");
    req.headers.push_back({"X-Registry-Auth", std::string(registry_auth)});
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    auto digest = r->status == 200 ? domain::distribution_digest(r->body) : std::string();
    if (digest.empty())
        co_return failure(make_error_code(errc::push_failed),
                          0,
                          "the push of " + reference +
                              " named no digest and the Engine does not confirm it (GET "
                              "/distribution: " +
                              (r->status == 200 ? std::string("no digest")
                                                : "HTTP " + std::to_string(r->status)) +
                              ")");
    co_return digest;
}

result<std::vector<image_summary>> parse_image_list(std::string_view body)
{
    error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_array())
        return failure(
            make_error_code(errc::malformed_response), 200, "image list is not a JSON array");
    std::vector<image_summary> out;
    for (const auto& item : v.as_array()) {
        const auto* obj = item.if_object();
        const auto* id = obj ? obj->if_contains("Id") : nullptr;
        if (!id || !id->is_string())
            return failure(
                make_error_code(errc::malformed_response), 200, "image list entry has no Id");
        image_summary s{std::string(id->as_string()), {}};
        if (const auto* tags = obj->if_contains("RepoTags"); tags && tags->is_array())
            for (const auto& t : tags->as_array())
                if (t.is_string() && t.as_string() != "<none>:<none>")
                    s.repo_tags.emplace_back(t.as_string());
        out.push_back(std::move(s));
    }
    return out;
}

asio::awaitable<result<std::vector<image_summary>>> client::images_labelled(std::string_view label)
{
    ++calls_;
    json::object filters;
    filters["label"] = json::array{json::string(label)};
    http::request req;
    req.target = path("/images/json?filters=" + encode(json::serialize(filters)));
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    co_return parse_image_list(r->body);
}

asio::awaitable<result<void>> client::remove_image(std::string_view reference)
{
    http::request req;
    req.method = "DELETE";
    req.target = path("/images/" + std::string(reference));
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    co_return result<void>{};
}

asio::awaitable<result<std::uint64_t>> client::probe_archive(std::string_view id,
                                                             std::string_view dir,
                                                             domain::volume_probe& probe,
                                                             std::size_t max_bytes)
{
    ++calls_;
    http::request req;
    req.target = path("/containers/" + encode(id) + "/archive?path=" + encode(dir));
    auto lim = limits(cfg_.request_timeout);
    lim.read_chunk = 8 * 1024;  // headers and first bytes: keep what is pulled off small
    auto s = co_await http::stream_reader::open(endpoint_, req, lim, &bytes_read_);
    if (!s)
        co_return s.error();
    if (s->status() != 200)
        co_return co_await stream_failure(*s);
    domain::tar_walker tar(probe);
    std::uint64_t seen = 0;
    while (probe.result() == domain::volume_probe::verdict::open && seen < max_bytes) {
        auto piece = co_await s->read_some(std::chrono::milliseconds(cfg_.request_timeout));
        if (!piece)
            co_return piece.error();
        if (piece->empty())
            break;
        seen += piece->size();
        tar.feed(*piece);
        if (tar.failed())
            co_return failure(make_error_code(errc::malformed_response),
                              200,
                              "archive of " + std::string(dir) + ": " + tar.error());
    }
    // Hang up: a dump's bytes are never transferred by a probe (SPEC §4.3).
    s->close();
    co_return seen;
}

asio::awaitable<result<std::uint64_t>>
client::copy_archive(std::string_view id, std::string_view dir, domain::dump_extractor& extract)
{
    // The Engine holds the container's lock while it streams an archive out, and a PUT waits
    // for that lock: the dumps are spooled to disk (never memory) between the two calls.
    ++calls_;
    http::request get;
    get.target = path("/containers/" + encode(id) + "/archive?path=" + encode(dir));
    auto lim = limits(cfg_.request_timeout);
    std::optional<spool_file> spool;
    {
        auto in = co_await http::stream_reader::open(endpoint_, get, lim, &bytes_read_);
        if (!in)
            co_return in.error();
        if (in->status() != 200)
            co_return co_await stream_failure(*in);
        domain::tar_walker tar(extract);
        while (!tar.ended()) {
            auto piece = co_await in->read_some(std::chrono::milliseconds(cfg_.request_timeout));
            if (!piece)
                co_return piece.error();
            if (piece->empty())
                break;
            tar.feed(*piece);
            if (tar.failed())
                co_return failure(make_error_code(errc::malformed_response),
                                  200,
                                  "archive of " + std::string(dir) + ": " + tar.error());
            if (extract.output().empty())
                continue;
            if (!spool) {
                auto f = spool_file::create(cfg_.spool_dir);
                if (!f)
                    co_return f.error();
                spool.emplace(std::move(*f));
            }
            if (auto w = spool->append(extract.output()); !w)
                co_return w.error();
            extract.output().clear();
        }
        in->close();
    }
    // A body that ends before the end-of-archive marker (a cut connection, a proxy) may end
    // inside a dump: it is an error, never a copy padded with zeros. Status 200: the Engine
    // answered, so the job goes on and reports the dumps as not copied.
    if (!extract.complete())
        co_return failure(make_error_code(errc::stream_truncated),
                          200,
                          "archive of " + std::string(dir) +
                              " ended before its end-of-archive marker");
    extract.finish();
    if (!spool)
        co_return std::uint64_t{0};  // no dump to copy: no PUT
    if (auto w = spool->append(extract.output()); !w)
        co_return w.error();
    extract.output().clear();

    ++calls_;
    http::request put;
    put.method = "PUT";
    put.target = path("/containers/" + encode(id) + "/archive?path=" + encode("/"));
    put.content_type = "application/x-tar";
    auto out = co_await http::stream_writer::open(endpoint_, put, lim, &bytes_read_);
    if (!out)
        co_return out.error();
    std::vector<char> buf(64 * 1024);
    std::uint64_t sent = 0;
    while (sent < spool->size()) {
        auto piece = spool->read_at(sent, buf);
        if (!piece)
            co_return piece.error();
        if (piece->empty())
            break;
        auto w = co_await out->write(*piece);
        if (!w)
            co_return w.error();
        sent += piece->size();
    }
    auto r = co_await out->finish();
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    co_return sent;
}

}  // namespace core_interceptor::docker
