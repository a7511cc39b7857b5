// SPDX-License-Identifier: MIT
#pragma once

#include "domain/event.hpp"
#include "state/writer.hpp"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace core_interceptor::state {

/// The job journal: the newest event time (`last_event`) and the deaths not yet fully handled
/// (`jobs/`). Every record is written by the writer thread, in order: a death handled before
/// its record reached the disk costs no write at all. Loop thread only.
class journal {
public:
    journal(std::filesystem::path dir, writer& w);

    /// timeNano of the newest event seen (0: never ran).
    std::int64_t last_event_nano() const noexcept { return last_event_nano_; }
    /// A time read elsewhere (state.json) that may be newer than the one of `last_event`.
    void raise_last_event_nano(std::int64_t t) noexcept;
    /// Records a newer event time (older ones are ignored), unsynced (see store).
    void set_last_event_nano(std::int64_t t);
    void job_started(const domain::die_event& ev);
    void job_finished(const domain::die_event& ev);
    /// Deaths left unfinished by an earlier run, oldest first (after the queue is written:
    /// blocks, meant for the start).
    std::vector<domain::die_event> unfinished_jobs();

private:
    std::filesystem::path dir_;
    writer& writer_;
    std::int64_t last_event_nano_ = 0;
};

}  // namespace core_interceptor::state
