// SPDX-License-Identifier: MIT
// State writes run on the store's writer thread: the loop keeps serving while one blocks.
#include "state/store.hpp"
#include "toolbox.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

using namespace core_interceptor;
namespace asio = boost::asio;
namespace fs = std::filesystem;

TEST_CASE("state writer: the loop keeps serving while a spool write is blocked")
{
    test::temp_dir t("ci-state-writer");
    fs::create_directories(t.dir / "spool" / "rest");
    // The first spool file's temporary is a FIFO: its open(2) for writing blocks on the writer
    // thread until someone opens it for reading.
    const fs::path fifo = t.dir / "spool" / "rest" / "00000000000000000001.json.tmp";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    state::store s(t.dir);
    asio::io_context io;
    bool timer_fired = false;
    bool spool_done = false;
    bool fired_before_done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await s.async_spool("rest", "id-1", "k", "{}");
            spool_done = true;
        },
        [](std::exception_ptr e) { REQUIRE_FALSE(e); });
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            asio::steady_timer timer(io, std::chrono::milliseconds(50));
            co_await timer.async_wait(asio::use_awaitable);
            timer_fired = true;
            fired_before_done = !spool_done;
            // Unblock the writer: open the read end and drain what it writes.
            int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
            REQUIRE(fd >= 0);
            for (int i = 0; i < 200 && !spool_done; ++i) {
                char buf[256];
                while (::read(fd, buf, sizeof buf) > 0) {
                }
                timer.expires_after(std::chrono::milliseconds(10));
                co_await timer.async_wait(asio::use_awaitable);
            }
            ::close(fd);
        },
        [](std::exception_ptr e) { REQUIRE_FALSE(e); });
    io.run_for(std::chrono::seconds(10));
    CHECK(timer_fired);
    CHECK(fired_before_done);
    CHECK(spool_done);
    // The FIFO cannot be synced: the notification is held in memory, nothing is lost.
    CHECK(s.spool_size("rest") == 1);
}
