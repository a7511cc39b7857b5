// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "state/writer.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::state {

/// A notification waiting in the spool for one sink.
struct spooled {
    std::filesystem::path file;  ///< empty for one held in memory (it could not be written)
    std::uint64_t seq = 0;       ///< order of arrival
    std::string id;
    std::string key;
    std::string body;
};

/// The notification spool (`spool/<sink>/`, one file per notification, numbered across
/// sinks) and the dead letters (`dead-letter/`). Files are written and removed by the writer
/// thread: the async_ forms await it while the loop keeps serving, the others block (not for
/// the loop). Bookkeeping is loop thread only.
class notification_spool {
public:
    notification_spool(std::filesystem::path dir, writer& w);

    /// Writes a notification to `sink`'s spool, or holds it in memory when it cannot be
    /// written (logged; the error is returned). Once it returns no error, it is on disk.
    error_code
    spool(std::string_view sink, std::string_view id, std::string_view key, std::string_view body);
    boost::asio::awaitable<error_code> async_spool(const std::string& sink,
                                                   const std::string& id,
                                                   const std::string& key,
                                                   const std::string& body);
    /// Whether a spool write for `sink` is under way (its notification is not counted yet).
    bool writing(std::string_view sink) const;

    std::vector<spooled> spooled_for(std::string_view sink, std::size_t limit);
    void unspool(const spooled& s);
    boost::asio::awaitable<void> async_unspool(const spooled& s);
    std::size_t size(std::string_view sink) const;
    const std::map<std::string, std::size_t, std::less<>>& sizes() const noexcept { return count_; }

    error_code dead_letter(std::string_view sink, const spooled& s, std::string_view reason);
    boost::asio::awaitable<error_code>
    async_dead_letter(const std::string& sink, const spooled& s, const std::string& reason);
    std::uint64_t dead_letters() const noexcept { return dead_letters_; }

    /// Writes the held notifications that can be written now; whether none is held any more.
    bool catch_up();
    boost::asio::awaitable<void> async_catch_up();
    bool holding() const;
    void set_warning(std::size_t n) noexcept { warn_ = n; }
    std::size_t warning() const noexcept { return warn_; }

private:
    void count();
    /// The writer task of a spool file, and of a dead letter.
    writer::task spool_task(const std::string& sink, const spooled& s);
    writer::task dead_letter_task(std::string_view sink, const spooled& s, std::string_view reason);
    /// What follows a spool write, on the loop: count it, or hold it when it failed.
    void spooled_now(const std::string& sink, spooled s, const error_code& ec);
    void dead_letter_done(std::string_view sink, const spooled& s, const error_code& ec);
    /// What follows a removal that succeeded: uncount it.
    void uncount(std::string_view sink);
    void unhold(const spooled& s);

    std::filesystem::path dir_;
    writer& writer_;
    std::atomic<std::uint64_t> seq_{0};                        // taken on the writer thread too
    std::map<std::string, std::size_t, std::less<>> count_;    // on disk + held, per sink
    std::map<std::string, std::size_t, std::less<>> writing_;  // writes under way, per sink
    std::map<std::string, std::deque<spooled>, std::less<>> held_;  // could not be spooled
    std::size_t warn_ = 10000;
    bool warned_ = false;
    std::uint64_t dead_letters_ = 0;
};

}  // namespace core_interceptor::state
