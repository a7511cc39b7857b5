// SPDX-License-Identifier: MIT
// The archive endpoint: a file's first bytes, a directory's probe, and the copy of dumps from
// a volume into the container's own file system.
#include "docker/client.hpp"

#include "docker/encode.hpp"
#include "domain/dump.hpp"
#include "domain/engine_answers.hpp"
#include "domain/volume_dump.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace asio = boost::asio;

namespace core_interceptor::docker {

using detail::encode;

namespace {

/// An archive answer given before the Engine has finished with the container's exit
/// (domain::archive_answer_premature): a transient failure, so that the death is handled again
/// a moment later.
failure premature(std::string_view p, const std::string& what)
{
    return failure(make_error_code(errc::stream_truncated),
                   0,
                   "archive of " + std::string(p) + " asked too early (" + what +
                       "): the Engine is still handling the container's exit");
}

// The archive probe reads the tar header(s) and the file's first bytes, then hangs up. A
// PAX header for a long path is at most a few KiB; past this, the answer is not a probe of
// one file and is abandoned.
constexpr std::size_t max_probe_bytes = 64 * 1024;

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

/// Sends the spooled archive as the body of `put`; the bytes sent, or the failure.
asio::awaitable<result<std::uint64_t>> put_spool(http::connection_pool& pool,
                                                 const http::request& put,
                                                 const http::limits& lim,
                                                 spool_file& spool)
{
    auto out = co_await http::stream_writer::open(pool, put, lim);
    if (!out)
        co_return out.error();
    std::vector<char> buf(64 * 1024);
    std::uint64_t sent = 0;
    while (sent < spool.size()) {
        auto piece = spool.read_at(sent, buf);
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

/// The file's first bytes from an archive answer whose header has arrived, as many as `need`
/// asks for; hangs up once they are in: the rest of the file (possibly gigabytes) is never
/// transferred (SPEC §4.3).
asio::awaitable<result<file_prefix>> read_tar_head(http::stream_reader& s,
                                                   std::string_view p,
                                                   const prefix_need& need,
                                                   std::chrono::milliseconds idle)
{
    domain::tar_prefix_reader tar(need({}));
    std::size_t seen = 0;
    bool enough = false;
    while (!enough) {
        auto piece = co_await s.read_some(idle);
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
    s.close();  // a connection read to its end has gone back to the pool already
    if (!tar.done() && domain::archive_answer_premature(200, {}, seen))
        co_return premature(p, "HTTP 200 without a byte");
    if (!tar.done())
        co_return failure(
            make_error_code(errc::stream_truncated), 200, "archive of " + std::string(p));
    co_return file_prefix{tar.content(), tar.file_size()};
}

}  // namespace

asio::awaitable<result<file_prefix>>
client::read_prefix(std::string_view id, std::string_view p, std::size_t n)
{
    const prefix_need fixed = [n](std::string_view) { return n; };
    co_return co_await read_head(id, p, fixed);
}

asio::awaitable<result<http::stream_reader>> client::open_archive_head(std::string_view id,
                                                                       std::string_view p)
{
    http::request req;
    req.target = path("/containers/" + encode(id) + "/archive?path=" + encode(p));
    auto lim = limits(cfg_.request_timeout);
    lim.read_chunk = 8 * 1024;  // a tar header and a note segment: overshoot at most this
    auto s = co_await open_stream(req, lim);
    if (!s && domain::archive_answer_premature(s.error().status, s.error().message, 0))
        co_return premature(p, s.error().describe());
    co_return s;
}

asio::awaitable<result<file_prefix>>
client::read_head(std::string_view id, std::string_view p, const prefix_need& need)
{
    auto s = co_await open_archive_head(id, p);
    if (!s)
        co_return s.error();
    co_return co_await read_tar_head(*s, p, need, cfg_.request_timeout);
}

asio::awaitable<result<file_probe>>
client::probe_file(std::string_view id, std::string_view p, const prefix_need& need)
{
    auto s = co_await open_archive_head(id, p);
    if (!s)
        co_return s.error();
    const std::string* stat = s->header("X-Docker-Container-Path-Stat");
    if (!stat)
        co_return failure(make_error_code(errc::malformed_response),
                          200,
                          "no X-Docker-Container-Path-Stat header for " + std::string(p));
    auto st = domain::decode_path_stat(*stat);
    if (!st)
        co_return st.error();
    file_probe out{*st, std::nullopt};
    // Not a non-empty regular file (a directory named core): hang up before its body.
    if (!st->is_regular() || st->size <= 0) {
        s->close();
        co_return out;
    }
    auto head = co_await read_tar_head(*s, p, need, cfg_.request_timeout);
    if (!head)
        co_return head.error();
    out.head = std::move(*head);
    co_return out;
}

asio::awaitable<result<std::uint64_t>> client::probe_archive(std::string_view id,
                                                             std::string_view dir,
                                                             domain::volume_probe& probe,
                                                             std::size_t max_bytes)
{
    http::request req;
    req.target = path("/containers/" + encode(id) + "/archive?path=" + encode(dir));
    auto lim = limits(cfg_.request_timeout);
    lim.read_chunk = 8 * 1024;  // headers and first bytes: keep what is pulled off small
    auto s = co_await open_stream(req, lim);
    if (!s)
        co_return s.error();
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
    http::request get;
    get.target = path("/containers/" + encode(id) + "/archive?path=" + encode(dir));
    auto lim = limits(cfg_.request_timeout);
    std::optional<spool_file> spool;
    {
        auto in = co_await open_stream(get, lim);
        if (!in)
            co_return in.error();
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

    http::request put;
    put.method = "PUT";
    put.target = path("/containers/" + encode(id) + "/archive?path=" + encode("/"));
    put.content_type = "application/x-tar";
    co_return co_await put_spool(pool_, put, lim, *spool);
}

}  // namespace core_interceptor::docker
