// SPDX-License-Identifier: MIT
// The Engine's connections kept alive: reuse, a connection the peer closed, what is sent again
// and what never is, and the counts behind /metrics, against a scripted server on a unix
// socket in a temporary directory.
#include "docker/client.hpp"
#include "http/client.hpp"
#include "http/pool.hpp"
#include "toolbox.hpp"

#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace http = core_interceptor::http;
namespace docker = core_interceptor::docker;
using core_interceptor::result;
using core_interceptor::test::temp_dir;

namespace {

/// What the scripted server does with a request: answer it and keep the connection, answer it
/// and close, close without a word, or send part of an answer and close.
enum class act { answer, answer_and_close, hang_up, truncate, raw };

/// A one-thread HTTP/1.1 server on a unix socket. `script(connection, nth_request_on_it,
/// method)` picks the act; answers are "ok" with a Content-Length and no Connection header.
class scripted_server {
public:
    using script_fn = std::function<act(int connection, int nth, const std::string& method)>;

    scripted_server(const std::filesystem::path& path, script_fn script)
        : script_(std::move(script))
    {
        listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listener_, 16) == 0);
        thread_ = std::thread([this] { loop(); });
    }
    ~scripted_server()
    {
        stop_ = true;
        thread_.join();
        for (auto& c : conns_)
            if (c.fd >= 0)
                ::close(c.fd);
        ::close(listener_);
    }

    int connections() const { return accepted_; }
    /// Connections this server has closed.
    int closed() const { return closed_; }
    /// Blocks until this server has closed `n` connections (at most 5 s).
    void wait_closed(int n) const
    {
        for (int i = 0; i < 500 && closed_ < n; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        REQUIRE(closed_ >= n);
    }
    /// What act::raw sends, byte for byte.
    void raw_answer(std::string s) { raw_ = std::move(s); }
    /// Request lines received ("GET /x"), in order.
    std::vector<std::string> requests() const
    {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    struct conn {
        int fd;
        int index;
        int served = 0;
        std::string in;
    };

    void loop()
    {
        while (!stop_) {
            std::vector<pollfd> fds{{listener_, POLLIN, 0}};
            for (auto& c : conns_)
                fds.push_back({c.fd, POLLIN, 0});
            if (::poll(fds.data(), fds.size(), 20) <= 0)
                continue;
            if (fds[0].revents & POLLIN)
                conns_.push_back(
                    {::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC), accepted_++});
            for (std::size_t i = 1; i < fds.size(); ++i)
                if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
                    serve(conns_[i - 1]);
            std::erase_if(conns_, [](const conn& c) { return c.fd < 0; });
        }
    }

    void drop(conn& c)
    {
        ::close(c.fd);
        c.fd = -1;
        ++closed_;
    }

    void send(conn& c, const std::string& s) { (void)!::write(c.fd, s.data(), s.size()); }

    void serve(conn& c)
    {
        char buf[4096];
        auto n = ::read(c.fd, buf, sizeof buf);
        if (n <= 0)
            return drop(c);
        c.in.append(buf, static_cast<std::size_t>(n));
        for (;;) {
            auto end = c.in.find("\r\n\r\n");
            if (end == std::string::npos)
                return;
            std::size_t length = 0;
            if (auto cl = c.in.find("Content-Length: "); cl != std::string::npos && cl < end)
                length = std::stoul(c.in.substr(cl + 16));
            if (c.in.size() < end + 4 + length)
                return;
            const std::string line = c.in.substr(0, c.in.find(" HTTP/1.1"));
            c.in.erase(0, end + 4 + length);
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(line);
            }
            const act a = script_(c.index, c.served++, line.substr(0, line.find(' ')));
            if (a == act::hang_up)
                return drop(c);
            if (a == act::truncate) {
                send(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart");
                return drop(c);
            }
            if (a == act::raw) {
                send(c, raw_);
                continue;
            }
            const bool head = line.starts_with("HEAD ");  // the length, never the body
            send(c,
                 std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n") + (head ? "" : "ok"));
            if (a == act::answer_and_close)
                return drop(c);
        }
    }

    script_fn script_;
    std::string raw_;
    int listener_ = -1;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::atomic<int> closed_{0};
    std::vector<conn> conns_;  // server thread only
    mutable std::mutex mutex_;
    std::vector<std::string> requests_;
    std::thread thread_;
};

/// Runs `op` on `io`, which outlives the pool whose idle connections live on it; a hang fails
/// the test.
template <class T> T run_on(asio::io_context& io, asio::awaitable<T> op)
{
    std::optional<T> value;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e)
            value = std::move(v);
    });
    io.restart();
    io.run_for(std::chrono::seconds(10));
    if (error)
        std::rethrow_exception(error);
    REQUIRE(value);
    return std::move(*value);
}

http::endpoint unix_endpoint(const std::filesystem::path& p)
{
    auto ep = http::parse_docker_host("unix://" + p.string());
    REQUIRE(ep.has_value());
    return *ep;
}

http::request get(std::string target, std::string method = "GET")
{
    http::request r;
    r.method = std::move(method);
    r.target = std::move(target);
    return r;
}

/// Sends the requests one after the other; each answer's status, or 0 for a failure.
asio::awaitable<std::vector<unsigned>> send_all(http::connection_pool& pool,
                                                std::vector<http::request> reqs)
{
    std::vector<unsigned> out;
    for (const auto& r : reqs) {
        auto a = co_await http::exchange(pool, r, http::limits{});
        if (!a)
            MESSAGE(r.method, " ", r.target, ": ", a.error().describe());
        out.push_back(a ? a->status : 0);
    }
    co_return out;
}

/// A stream read to its end, then one closed after its header.
asio::awaitable<bool> streams_whole_then_early(http::connection_pool& pool)
{
    auto s = co_await http::stream_reader::open(pool, get("/whole"), http::limits{});
    REQUIRE(s.has_value());
    auto body = co_await s->read_rest(100, std::chrono::seconds(5));
    CHECK((body && *body == "ok"));
    CHECK(pool.idle() == 1);
    auto early = co_await http::stream_reader::open(pool, get("/early"), http::limits{});
    REQUIRE(early.has_value());
    CHECK(pool.idle() == 0);
    early->close();
    CHECK(pool.idle() == 0);
    co_return true;
}

/// Three Engine calls; their answers do not matter, their count does.
asio::awaitable<bool> remove_three(docker::client& c)
{
    for (int i = 0; i < 3; ++i)
        (void)co_await c.remove_image("img" + std::to_string(i));
    co_return true;
}

}  // namespace

TEST_CASE("http pool: sequential requests share one kept-alive connection")
{
    temp_dir dir("ci-pool");
    scripted_server server(dir / "s.sock",
                           [](int, int, const std::string&) { return act::answer; });
    asio::io_context io;
    http::connection_pool pool(unix_endpoint(dir / "s.sock"), {});
    auto got = run_on(io, send_all(pool, {get("/a"), get("/b"), get("/c", "HEAD"), get("/d")}));
    CHECK(got == std::vector<unsigned>{200, 200, 200, 200});
    CHECK(server.connections() == 1);
    CHECK(pool.connections() == 1);
    CHECK(pool.requests() == 4);
    CHECK(pool.idle() == 1);
}

TEST_CASE("http pool: a connection the server closed while idle is replaced without a failure")
{
    temp_dir dir("ci-pool");
    // Every connection is closed by the server after its first answer, which said nothing of
    // closing: the pooled connection is found closed before reuse.
    scripted_server server(dir / "s.sock",
                           [](int, int, const std::string&) { return act::answer_and_close; });
    asio::io_context io;
    http::connection_pool pool(unix_endpoint(dir / "s.sock"), {});
    // Each request goes out once the server has closed the connection of the one before it: a
    // close that crosses a request on the wire is another case (below).
    std::vector<unsigned> got;
    int n = 0;
    for (auto r : {get("/a"), get("/b"), get("/c", "POST")}) {
        server.wait_closed(n++);
        auto one = run_on(io, send_all(pool, {std::move(r)}));
        got.insert(got.end(), one.begin(), one.end());
    }
    CHECK(got == std::vector<unsigned>{200, 200, 200});
    CHECK(server.connections() == 3);
    CHECK(pool.connections() == 3);
    CHECK(server.requests().size() == 3);
}

TEST_CASE("http pool: a GET that meets a closing kept-alive connection is sent once more")
{
    temp_dir dir("ci-pool");
    // The first connection answers once, then hangs up on the next request without a word (a
    // close that crossed the request on the wire).
    scripted_server server(dir / "s.sock", [](int conn, int nth, const std::string&) {
        return conn == 0 && nth == 1 ? act::hang_up : act::answer;
    });
    asio::io_context io;
    http::connection_pool pool(unix_endpoint(dir / "s.sock"), {});
    auto got = run_on(io, send_all(pool, {get("/a"), get("/b")}));
    CHECK(got == std::vector<unsigned>{200, 200});
    CHECK(server.requests() == std::vector<std::string>{"GET /a", "GET /b", "GET /b"});
    CHECK(pool.connections() == 2);
    CHECK(pool.requests() == 3);
}

TEST_CASE("http pool: a POST is never sent twice, whether its answer is cut or never begins")
{
    temp_dir dir("ci-pool");
    SUBCASE("the answer is cut off")
    {
        scripted_server server(dir / "s.sock", [](int, int nth, const std::string&) {
            return nth == 1 ? act::truncate : act::answer;
        });
        asio::io_context io;
        http::connection_pool pool(unix_endpoint(dir / "s.sock"), {});
        auto got = run_on(io, send_all(pool, {get("/a"), get("/commit", "POST"), get("/c")}));
        CHECK(got == std::vector<unsigned>{200, 0, 200});
        CHECK(server.requests() == std::vector<std::string>{"GET /a", "POST /commit", "GET /c"});
        CHECK(pool.connections() == 2);
    }
    SUBCASE("the kept-alive connection is closed with no answer")
    {
        scripted_server server(dir / "s.sock", [](int, int nth, const std::string&) {
            return nth == 1 ? act::hang_up : act::answer;
        });
        asio::io_context io;
        http::connection_pool pool(unix_endpoint(dir / "s.sock"), {});
        auto got = run_on(io, send_all(pool, {get("/a"), get("/commit", "POST")}));
        CHECK(got == std::vector<unsigned>{200, 0});
        CHECK(server.requests() == std::vector<std::string>{"GET /a", "POST /commit"});
    }
}

TEST_CASE("http pool: a stream read to its end gives its connection back, one closed early not")
{
    temp_dir dir("ci-pool");
    scripted_server server(dir / "s.sock",
                           [](int, int, const std::string&) { return act::answer; });
    asio::io_context io;
    http::connection_pool pool(unix_endpoint(dir / "s.sock"), {});
    run_on(io, streams_whole_then_early(pool));
    CHECK(server.requests().size() == 2);
    CHECK(pool.connections() == 1);
    auto last = run_on(io, send_all(pool, {get("/after")}));
    CHECK(last == std::vector<unsigned>{200});
    CHECK(pool.connections() == 2);
}

TEST_CASE("http pool: the idle connections kept are bounded, and none is kept past its time")
{
    temp_dir dir("ci-pool");
    scripted_server server(dir / "s.sock",
                           [](int, int, const std::string&) { return act::answer; });
    SUBCASE("no idle connection kept")
    {
        asio::io_context io;
        http::connection_pool pool(unix_endpoint(dir / "s.sock"), {.max_idle = 0});
        auto got = run_on(io, send_all(pool, {get("/a"), get("/b")}));
        CHECK(got == std::vector<unsigned>{200, 200});
        CHECK(pool.connections() == 2);
        CHECK(pool.idle() == 0);
    }
    SUBCASE("an expired one is not reused")
    {
        asio::io_context io;
        http::connection_pool pool(unix_endpoint(dir / "s.sock"),
                                   {.max_idle = 4, .idle_timeout = std::chrono::milliseconds(0)});
        auto got = run_on(io, send_all(pool, {get("/a"), get("/b")}));
        CHECK(got == std::vector<unsigned>{200, 200});
        CHECK(pool.connections() == 2);
    }
}

TEST_CASE("docker client: counts the Engine requests and connections behind /metrics")
{
    temp_dir dir("ci-pool");
    scripted_server server(dir / "s.sock",
                           [](int, int, const std::string&) { return act::answer; });
    docker::client_config cfg;
    cfg.host = "unix://" + (dir / "s.sock").string();
    CHECK(cfg.max_idle_connections > 0);  // kept alive by default
    asio::io_context io;
    docker::client c(cfg);
    // The answers are not images: the calls fail after the exchange, which is what is counted.
    run_on(io, remove_three(c));
    CHECK(c.calls() == 3);
    CHECK(c.connections() == 1);
    CHECK(server.requests().size() == 3);
}

TEST_CASE("http pool: an answer with a trailer, no body or Connection: close leaves the next "
          "exchange intact")
{
    temp_dir dir("ci-pool");
    struct edge {
        const char* answer;
        int connections;  // a connection the answer lets stay open is reused
    };
    const edge edges[] = {
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n", 1},
        {"HTTP/1.1 204 No Content\r\n\r\n", 1},
        {"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", 1},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", 2},
    };
    for (const auto& e : edges) {
        CAPTURE(e.answer);
        scripted_server server(dir / "s.sock", [](int conn, int nth, const std::string&) {
            return conn == 0 && nth == 0 ? act::raw : act::answer;
        });
        server.raw_answer(e.answer);
        asio::io_context io;
        http::connection_pool pool(unix_endpoint(dir / "s.sock"), {});
        auto got = run_on(io, send_all(pool, {get("/a"), get("/b"), get("/c")}));
        CHECK(got[0] != 0);
        CHECK(got[1] == 200);
        CHECK(got[2] == 200);
        CHECK(pool.connections() == e.connections);
        std::filesystem::remove(dir / "s.sock");
    }
}
