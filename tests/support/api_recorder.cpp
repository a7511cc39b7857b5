// SPDX-License-Identifier: MIT
#include "support/api_recorder.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace core_interceptor::test_support {
namespace {

constexpr int poll_ms = 100;  // how soon a relay notices the recorder is stopping

sockaddr_un address_of(const std::filesystem::path& p)
{
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const auto s = p.string();
    if (s.size() >= sizeof a.sun_path)
        throw std::system_error(ENAMETOOLONG, std::generic_category(), "socket path " + s);
    std::memcpy(a.sun_path, s.c_str(), s.size() + 1);
    return a;
}

bool write_all(int fd, const char* p, std::size_t n)
{
    while (n > 0) {
        auto w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

bool is_request_line(const std::string& line)
{
    for (const char* m : {"GET /", "HEAD /", "POST /", "PUT /", "DELETE /", "PATCH /"})
        if (line.rfind(m, 0) == 0)
            return line.find(" HTTP/1.") != std::string::npos;
    return false;
}

/// The request line that ends `line`: on a kept-alive connection a request follows the body
/// of the one before (a commit's JSON) with no line break between them.
std::string request_line_in(const std::string& line)
{
    if (is_request_line(line) || line.find(" HTTP/1.") == std::string::npos)
        return line;
    for (const char* m : {"GET /", "HEAD /", "POST /", "PUT /", "DELETE /", "PATCH /"})
        if (auto at = line.rfind(m); at != std::string::npos && is_request_line(line.substr(at)))
            return line.substr(at);
    return line;
}

constexpr int answer_timeout_ms = 120000;  // a push may take a while

/// Appends what `fd` sends next to `data`; false at its end, an error or the timeout.
bool read_more(int fd, std::string& data)
{
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, answer_timeout_ms) <= 0)
        return false;
    std::array<char, 65536> buf;
    auto r = ::recv(fd, buf.data(), buf.size(), 0);
    if (r <= 0)
        return false;
    data.append(buf.data(), static_cast<std::size_t>(r));
    return true;
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

/// The body of a chunked answer from `data` (after its header), reading more from `fd`.
bool read_chunked(int fd, std::string& data, std::string& body)
{
    for (;;) {
        std::size_t eol;
        while ((eol = data.find("\r\n")) == std::string::npos)
            if (!read_more(fd, data))
                return false;
        const std::size_t size = std::stoul(data.substr(0, eol), nullptr, 16);
        while (data.size() < eol + 2 + size + 2)
            if (!read_more(fd, data))
                return false;
        if (size == 0)
            return true;  // trailers (none from the Engine) are dropped
        body.append(data, eol + 2, size);
        data.erase(0, eol + 2 + size + 2);
    }
}

}  // namespace

api_recorder::api_recorder(std::filesystem::path listen_path, std::filesystem::path target_socket)
    : listen_path_(std::move(listen_path)), target_(std::move(target_socket))
{
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0)
        throw std::system_error(errno, std::generic_category(), "socket");
    std::error_code ignored;
    std::filesystem::remove(listen_path_, ignored);
    auto a = address_of(listen_path_);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 ||
        ::listen(listener_, 64) < 0) {
        const int e = errno;
        ::close(listener_);
        throw std::system_error(e, std::generic_category(), "listen on " + listen_path_.string());
    }
    acceptor_ = std::thread([this] { accept_loop(); });
}

api_recorder::~api_recorder()
{
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    ::close(listener_);
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        threads.swap(threads_);
    }
    for (auto& t : threads)
        t.join();
    std::error_code ignored;
    std::filesystem::remove(listen_path_, ignored);
}

std::vector<std::string> api_recorder::requests() const
{
    std::lock_guard lock(mutex_);
    return requests_;
}

std::vector<std::string> api_recorder::requests_mentioning(const std::string& needle) const
{
    std::vector<std::string> out;
    for (auto& r : requests())
        if (r.find(needle) != std::string::npos)
            out.push_back(std::move(r));
    return out;
}

void api_recorder::add_rule(rule r)
{
    std::lock_guard lock(mutex_);
    rules_.push_back(std::move(r));
}

std::size_t api_recorder::rewritten() const
{
    std::lock_guard lock(mutex_);
    return rewritten_;
}

std::optional<api_recorder::rule> api_recorder::rule_for(const std::string& line) const
{
    std::lock_guard lock(mutex_);
    for (const auto& r : rules_)
        if (line.rfind(r.method + " ", 0) == 0 && line.find(r.needle) != std::string::npos)
            return r;
    return std::nullopt;
}

bool api_recorder::rewrite(int server, int client, std::string data, const rule& r)
{
    std::size_t end;
    while ((end = data.find("\r\n\r\n")) == std::string::npos)
        if (!read_more(server, data))
            return false;
    const std::string head = data.substr(0, end + 2);
    data.erase(0, end + 4);
    std::string status_line = head.substr(0, head.find("\r\n"));
    std::string headers;
    bool chunked = false;
    std::optional<std::size_t> length;
    for (std::size_t at = status_line.size() + 2; at < head.size();) {
        const auto eol = head.find("\r\n", at);
        const std::string line = head.substr(at, eol - at);
        at = eol + 2;
        const std::string name = lower(line.substr(0, line.find(':')));
        const std::string value = line.substr(std::min(line.size(), line.find(':') + 1));
        if (name == "transfer-encoding")
            chunked = lower(value).find("chunked") != std::string::npos;
        else if (name == "content-length")
            length = std::stoul(value);
        else if (name != "connection")
            headers += line + "\r\n";
    }
    std::string body;
    if (chunked) {
        if (!read_chunked(server, data, body))
            return false;
    } else if (length) {
        while (data.size() < *length)
            if (!read_more(server, data))
                return false;
        body = data.substr(0, *length);
    } else {
        while (read_more(server, data)) {
        }
        body = std::move(data);
    }
    body = r.body(std::move(body));
    if (r.status != 0)
        status_line = "HTTP/1.1 " + std::to_string(r.status) + " Rewritten";
    const std::string answer = status_line + "\r\n" + headers +
                               "Content-Length: " + std::to_string(body.size()) +
                               "\r\nConnection: close\r\n\r\n" + body;
    {
        std::lock_guard lock(mutex_);
        ++rewritten_;
    }
    return write_all(client, answer.data(), answer.size());
}

void api_recorder::record(std::string line)
{
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(line));
}

void api_recorder::accept_loop()
{
    while (!stopping_) {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, poll_ms) <= 0 || stopping_)
            continue;
        int c = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        std::lock_guard lock(mutex_);
        threads_.emplace_back([this, c] { relay(c); });
    }
}

void api_recorder::relay(int client)
{
    int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto a = address_of(target_);
    if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
        if (server >= 0)
            ::close(server);
        ::close(client);
        return;
    }
    // Request lines are looked for at line starts of what the client sends; a body that
    // happens to hold one would be counted too, which Engine requests (JSON, small tars) do not.
    std::string pending;
    std::optional<rule> active;  // the rule of the request whose answer is awaited
    std::array<char, 65536> buf;
    std::array<pollfd, 2> fds{pollfd{client, POLLIN, 0}, pollfd{server, POLLIN, 0}};
    while (!stopping_) {
        int n = ::poll(fds.data(), fds.size(), poll_ms);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        bool done = false;
        for (std::size_t i = 0; i < fds.size() && !done; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            auto r = ::recv(fds[i].fd, buf.data(), buf.size(), 0);
            if (r <= 0) {
                done = true;
                break;
            }
            const int to = i == 0 ? server : client;
            if (i == 1 && active) {
                try {
                    rewrite(server,
                            client,
                            std::string(buf.data(), static_cast<std::size_t>(r)),
                            *active);
                } catch (const std::exception&) {
                    // A malformed answer (a chunk size, a length): the connection is cut.
                }
                done = true;  // "Connection: close" was said
                break;
            }
            if (i == 0) {
                pending.append(buf.data(), static_cast<std::size_t>(r));
                for (std::size_t eol; (eol = pending.find("\r\n")) != std::string::npos;) {
                    std::string line = request_line_in(pending.substr(0, eol));
                    pending.erase(0, eol + 2);
                    if (is_request_line(line)) {
                        record(line.substr(0, line.rfind(" HTTP/1.")));
                        active = rule_for(line);
                    }
                }
                if (pending.size() > 65536)
                    pending.erase(0, pending.size() - 16);
            }
            if (!write_all(to, buf.data(), static_cast<std::size_t>(r)))
                done = true;
        }
        if (done)
            break;
    }
    ::close(client);
    ::close(server);
}

}  // namespace core_interceptor::test_support
