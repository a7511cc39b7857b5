// SPDX-License-Identifier: MIT
// A credential helper run as a child process, its pipes driven by the loop.
#include "docker/credential_helper.hpp"

#include "domain/docker_config.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

extern char** environ;

namespace asio = boost::asio;

namespace core_interceptor::docker {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// A helper's answer is a few hundred bytes; more is not an answer.
constexpr std::size_t max_answer = 64 * 1024;

failure helper_error(const std::string& who, const std::string& why)
{
    return failure(make_error_code(errc::push_failed), 0, who + ": " + why);
}

/// Both ends of a pipe (or socket pair), closed on exec; -1 when not open.
struct pipe_fds {
    int r = -1, w = -1;
    ~pipe_fds()
    {
        if (r >= 0)
            ::close(r);
        if (w >= 0)
            ::close(w);
    }
};

/// The spawned child: its PID, and the parent's ends of its stdin and stdout.
struct child {
    pid_t pid = -1;
    int in = -1;
    int out = -1;
};

/// Starts `program get` with stdin on a socket pair, stdout on a pipe and stderr on /dev/null;
/// errno on failure.
int spawn(const std::string& program, child& c)
{
    // stdin is a socket pair, not a pipe: a write to a helper that has already exited then
    // fails with EPIPE (Asio sends with MSG_NOSIGNAL) instead of raising SIGPIPE.
    pipe_fds in, out;
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, &in.r) != 0 ||
        ::pipe2(&out.r, O_CLOEXEC) != 0)
        return errno;
    posix_spawn_file_actions_t fa;
    ::posix_spawn_file_actions_init(&fa);
    ::posix_spawn_file_actions_adddup2(&fa, in.r, 0);
    ::posix_spawn_file_actions_adddup2(&fa, out.w, 1);
    ::posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    ::posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // none of the daemon's sockets
    // The helper starts with no signal blocked and the default handlers.
    posix_spawnattr_t attr;
    ::posix_spawnattr_init(&attr);
    sigset_t none, all;
    ::sigemptyset(&none);
    ::sigfillset(&all);
    ::posix_spawnattr_setsigmask(&attr, &none);
    ::posix_spawnattr_setsigdefault(&attr, &all);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::string get = "get";
    char* argv[] = {const_cast<char*>(program.c_str()), get.data(), nullptr};
    const int rc = ::posix_spawnp(&c.pid, program.c_str(), &fa, &attr, argv, environ);
    ::posix_spawnattr_destroy(&attr);
    ::posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return rc;
    c.in = std::exchange(in.w, -1);
    c.out = std::exchange(out.r, -1);
    return 0;
}

/// Waits for the child's end without blocking the loop (it has closed its stdout, or was
/// killed): polls waitpid, then kills it for good after a second. Its wait status.
asio::awaitable<int> reap(pid_t pid)
{
    asio::steady_timer t(co_await asio::this_coro::executor);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            co_return status;
        t.expires_after(std::chrono::milliseconds(10));
        auto [ec] = co_await t.async_wait(use_tuple);
        if (ec)
            break;  // cancelled (shutdown): killed and reaped below, never left a zombie
    }
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    co_return status;
}

/// Kills and reaps the child if the coroutine ends before reap() did (it was cancelled while
/// awaiting): never a zombie left behind.
struct reap_guard {
    pid_t pid;
    bool reaped = false;
    ~reap_guard()
    {
        if (reaped)
            return;
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
};

/// What the loop shares with the deadline's handler, which may run after the coroutine ended.
struct exchange_state {
    explicit exchange_state(const asio::any_io_executor& ex) : in(ex), out(ex), timer(ex) {}
    asio::local::stream_protocol::socket in;
    asio::posix::stream_descriptor out;
    asio::steady_timer timer;
    bool timed_out = false;
};

/// Writes the host to the child's stdin and reads its stdout to the end, within `deadline`.
asio::awaitable<result<std::string>> talk(std::shared_ptr<exchange_state> st,
                                          std::string host,
                                          std::chrono::milliseconds deadline,
                                          const std::string& who)
{
    st->timer.expires_after(deadline);
    st->timer.async_wait([st](boost::system::error_code ec) {
        if (ec)
            return;
        st->timed_out = true;
        boost::system::error_code ignored;  // closed: what is pending and what comes fails
        st->in.close(ignored);
        st->out.close(ignored);
    });
    host += '\n';
    auto [wec, wn] = co_await asio::async_write(st->in, asio::buffer(host), use_tuple);
    boost::system::error_code ignored;
    st->in.close(ignored);  // end of input: the helper answers now
    (void)wn;
    std::string answer;
    char buf[4096];
    for (;;) {
        if (st->timed_out)
            co_return helper_error(who,
                                   "no answer within " + std::to_string(deadline.count()) + " ms");
        auto [ec, n] = co_await st->out.async_read_some(asio::buffer(buf), use_tuple);
        answer.append(buf, n);
        if (ec == asio::error::eof)
            break;
        if (st->timed_out)
            co_return helper_error(who,
                                   "no answer within " + std::to_string(deadline.count()) + " ms");
        if (ec)
            co_return helper_error(who, "cannot read its answer: " + ec.message());
        if (answer.size() > max_answer)
            co_return helper_error(who, "its answer is larger than 64 KiB");
    }
    st->timer.cancel();
    if (wec && wec != asio::error::broken_pipe && wec != asio::error::connection_reset)
        co_return helper_error(who, "cannot write the registry to it: " + wec.message());
    co_return answer;
}

}  // namespace

asio::awaitable<result<std::string>> helper_registry_auth(std::string helper,
                                                          std::string registry_host,
                                                          std::chrono::milliseconds deadline)
{
    const std::string program = "docker-credential-" + helper;
    const std::string who = "credential helper " + program + " for registry " + registry_host;
    child c;
    if (const int err = spawn(program, c); err != 0)
        co_return helper_error(who,
                               err == ENOENT ? "not found on PATH"
                                             : std::string("cannot start: ") + std::strerror(err));
    reap_guard guard{c.pid};
    auto st = std::make_shared<exchange_state>(co_await asio::this_coro::executor);
    st->in.assign(asio::local::stream_protocol(), c.in);
    st->out.assign(c.out);
    auto answer = co_await talk(st, registry_host, deadline, who);
    boost::system::error_code ignored;
    st->timer.cancel();
    st->out.close(ignored);
    st->in.close(ignored);
    if (!answer)
        ::kill(c.pid, SIGKILL);
    const int status = co_await reap(c.pid);
    guard.reaped = true;
    if (!answer)
        co_return answer.error();
    if (WIFSIGNALED(status))
        co_return helper_error(who,
                               std::string("killed by signal ") + std::to_string(WTERMSIG(status)));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        co_return helper_error(who,
                               "exit status " + std::to_string(WEXITSTATUS(status)) +
                                   " (no credentials for it, or the helper failed)");
    co_return domain::helper_answer_auth(*answer, helper, registry_host);
}

}  // namespace core_interceptor::docker
