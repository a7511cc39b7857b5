// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "state/writer.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::state {

/// The dumps already reported, per container, kept in `state.json` (with the event time of
/// the newest mark). Loop thread only; the file is written by the writer thread.
class reported_dumps {
public:
    reported_dumps(std::filesystem::path dir, writer& w);

    /// The event time state.json was written with (0: none), read at the start.
    std::int64_t loaded_event_nano() const noexcept { return marked_event_nano_; }
    bool contains(std::string_view container_id,
                  std::string_view path,
                  std::int64_t size,
                  std::string_view mtime) const;
    /// Remembers a reported dump in memory; `event_nano` is the newest event time now.
    void mark(std::string_view container_id,
              std::string_view path,
              std::int64_t size,
              std::string_view mtime,
              std::int64_t event_nano);
    /// Marked since state.json was last queued for writing.
    bool dirty() const noexcept { return dirty_; }
    /// Writes state.json and waits for it. Blocking: not on the loop.
    error_code save();
    /// Queues state.json for the writer thread; a failed write is kept there for a retry.
    void queue_save();

    /// How long a container's reported dumps are remembered after its newest one.
    static constexpr std::chrono::hours ttl{24 * 30};

private:
    void load();
    /// Drops expired marks and serializes the rest.
    std::string serialize();

    std::filesystem::path dir_;
    writer& writer_;
    // container ID -> "path\nsize\nmtime" keys of reported dumps
    std::map<std::string, std::vector<std::string>, std::less<>> reported_;
    // container -> newest mark (epoch s)
    std::map<std::string, std::int64_t, std::less<>> reported_at_;
    bool dirty_ = false;
    std::int64_t marked_event_nano_ = 0;  // the event time when the newest mark was made
};

}  // namespace core_interceptor::state
