// SPDX-License-Identifier: MIT
#include "support/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace core_interceptor::test_support {
namespace {

using clock = std::chrono::steady_clock;

struct socket_fd {
    int fd = -1;
    ~socket_fd()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

int remaining_ms(clock::time_point deadline)
{
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool wait_ready(int fd, short events, clock::time_point deadline)
{
    for (;;) {
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r > 0)
            return true;
        if (r == 0)
            return false;
        if (errno != EINTR)
            return false;
    }
}

// Non-blocking connect bounded by the deadline.
bool connect_until(int fd, const sockaddr* addr, socklen_t len, clock::time_point deadline)
{
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (::connect(fd, addr, len) == 0)
        return true;
    if (errno != EINPROGRESS && errno != EAGAIN)
        return false;
    if (!wait_ready(fd, POLLOUT, deadline))
        return false;
    int err = 0;
    socklen_t l = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
    return err == 0;
}

std::optional<http_reply> exchange(int fd, const std::string& request, clock::time_point deadline)
{
    std::size_t sent = 0;
    while (sent < request.size()) {
        if (!wait_ready(fd, POLLOUT, deadline))
            return std::nullopt;
        ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return std::nullopt;
        sent += static_cast<std::size_t>(n);
    }
    // HTTP/1.0: the answer ends when the server closes. A ceiling keeps a confused peer from
    // filling memory; what the tests read (tag lists, pings) is tiny.
    constexpr std::size_t max_reply = 16 * 1024 * 1024;
    std::string data;
    char buf[16384];
    for (;;) {
        if (!wait_ready(fd, POLLIN, deadline))
            return std::nullopt;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return std::nullopt;
        if (n == 0)
            break;
        data.append(buf, static_cast<std::size_t>(n));
        if (data.size() > max_reply)
            return std::nullopt;
    }
    auto line_end = data.find("\r\n");
    auto head_end = data.find("\r\n\r\n");
    if (line_end == std::string::npos || head_end == std::string::npos)
        return std::nullopt;
    // "HTTP/1.x NNN reason"
    auto sp = data.find(' ');
    if (sp == std::string::npos || sp > line_end)
        return std::nullopt;
    http_reply r;
    try {
        r.status = static_cast<unsigned>(std::stoul(data.substr(sp + 1, 3)));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    r.headers = data.substr(line_end + 2, head_end - line_end);
    r.body = data.substr(head_end + 4);
    return r;
}

std::string make_request(const std::string& target, const std::string& host)
{
    return "GET " + target + " HTTP/1.0\r\nHost: " + host +
           "\r\nAccept: application/json\r\nConnection: close\r\n\r\n";
}

std::optional<http_reply>
exchange_tcp(unsigned short port, const std::string& request, std::chrono::milliseconds timeout)
{
    const auto deadline = clock::now() + timeout;
    socket_fd s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (s.fd < 0)
        return std::nullopt;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (!connect_until(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a, deadline))
        return std::nullopt;
    return exchange(s.fd, request, deadline);
}

}  // namespace

unsigned short free_port()
{
    socket_fd s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (s.fd < 0)
        throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::system_error(errno, std::generic_category(), "bind 127.0.0.1:0");
    socklen_t len = sizeof a;
    ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

std::optional<http_reply>
http_get(unsigned short port, const std::string& target, std::chrono::milliseconds timeout)
{
    return exchange_tcp(port, make_request(target, "127.0.0.1:" + std::to_string(port)), timeout);
}

std::optional<http_reply> http_post(unsigned short port,
                                    const std::string& target,
                                    const std::string& content_type,
                                    const std::string& body,
                                    std::chrono::milliseconds timeout)
{
    const auto request = "POST " + target + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                         "\r\nContent-Type: " + content_type +
                         "\r\nContent-Length: " + std::to_string(body.size()) +
                         "\r\nConnection: close\r\n\r\n" + body;
    return exchange_tcp(port, request, timeout);
}

std::optional<http_reply> http_get_unix(const std::filesystem::path& socket,
                                        const std::string& target,
                                        std::chrono::milliseconds timeout)
{
    const auto deadline = clock::now() + timeout;
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const auto& p = socket.native();
    if (p.size() >= sizeof a.sun_path)
        return std::nullopt;
    std::memcpy(a.sun_path, p.c_str(), p.size() + 1);
    socket_fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (s.fd < 0)
        return std::nullopt;
    if (!connect_until(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a, deadline))
        return std::nullopt;
    return exchange(s.fd, make_request(target, "docker"), deadline);
}

}  // namespace core_interceptor::test_support
