// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace core_interceptor::state {

/// Whether the state directory can be written: the first failure is logged, every one is
/// counted, and the problem is reported until the state has caught up. Any thread.
class health {
public:
    explicit health(std::filesystem::path dir) : dir_(std::move(dir)) {}

    /// Records the outcome of a write (`what`: the step that failed); a success changes nothing:
    /// only clear() knows whether anything is still unwritten.
    void note(const error_code& ec, std::string_view what);
    /// Everything is written again: the problem is over.
    void clear();
    std::optional<std::string> problem() const;
    std::uint64_t write_errors() const;

private:
    std::filesystem::path dir_;
    mutable std::mutex mutex_;  // the writer thread reports its failures too
    std::optional<std::string> problem_;
    std::uint64_t write_errors_ = 0;
};

}  // namespace core_interceptor::state
