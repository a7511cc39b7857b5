// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace core_interceptor::pipeline {

/// What became of one die event.
enum class outcome {
    no_dump,           ///< exited without a dump: one API call, nothing produced
    already_reported,  ///< its dumps were reported at an earlier death (restart policy)
    rate_limited,      ///< over --max-per-container: the dump stays in the container
    gone,              ///< the container was removed before it could be probed (auto-remove)
    probe_failed,      ///< the Engine did not answer the probe
    commit_failed,     ///< dump found, no image could be made: the evidence stays in the container
    committed,         ///< image kept locally (no registry, or the push failed): notified
    pushed,            ///< image pushed (and deleted locally unless --keep-image): notified
    cancelled,         ///< shutdown interrupted the job before it could finish
    engine_unavailable,  ///< the Docker daemon went away mid-job: run it again once it is back
    duplicate,           ///< over --max-per-signature: announced as a duplicate, not committed
    dry_run,  ///< --dry-run: a dump was found; what would be done was logged, nothing done
};

/// Every outcome, in declaration order (the order of the metric samples).
inline constexpr std::array all_outcomes{
    outcome::no_dump,
    outcome::already_reported,
    outcome::rate_limited,
    outcome::gone,
    outcome::probe_failed,
    outcome::commit_failed,
    outcome::committed,
    outcome::pushed,
    outcome::cancelled,
    outcome::engine_unavailable,
    outcome::duplicate,
    outcome::dry_run,
};
// dry_run is the last enumerator: a new outcome goes above it, here and in every rule below.
static_assert(static_cast<std::size_t>(outcome::dry_run) + 1 == all_outcomes.size());

/// "no_dump", "pushed", ...: the `outcome` label of the metrics, and the outcome in logs.
std::string_view to_string(outcome o) noexcept;

/// What became of the container, for a person: the line --process prints after its name.
std::string describe(outcome o);

/// Whether --process counts the container as handled (exit status 0). Without a registry a
/// committed image is the goal; with one, `committed` means the push failed.
bool succeeded(outcome o, bool with_registry) noexcept;

/// Whether the job is run again once the Docker daemon is back (its record stays in the
/// state directory meanwhile, so a restart resumes it too).
bool retried(outcome o) noexcept;

/// Whether the death is settled, so that its record leaves the state directory: neither
/// interrupted by shutdown nor waiting for the Engine to come back.
bool settled(outcome o) noexcept;

/// Whether a container removed right after its death (started with --rm) may have taken a dump
/// with it, given its job's outcome: not once an image exists, its dump was reported before,
/// the job reported the removal itself (`gone`), it was interrupted, or it was announced as the
/// same crash as an image (`duplicate`).
bool removal_may_lose_dump(outcome o) noexcept;

}  // namespace core_interceptor::pipeline
