// SPDX-License-Identifier: MIT
#pragma once

#include "domain/image_name.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace core_interceptor::pipeline {

/// Settings of the per-container job (probe -> commit -> push -> delete -> notify).
struct config {
    std::vector<std::string> dump_patterns;
    std::optional<domain::registry_target> registry;  ///< unset: commit and keep locally
    std::string registry_auth;                        ///< X-Registry-Auth value ("e30=" anonymous)
    /// NAME of docker-credential-NAME when a credential helper holds the registry's
    /// credentials (credHelpers or credsStore): asked before each push, `registry_auth` unused.
    std::string credential_helper;
    /// Longest wait for the credential helper's answer.
    std::chrono::milliseconds credential_helper_timeout{10000};
    bool keep_image = false;
    std::string hostname;
    /// A failing push is retried with backoff for this long before `pushed: false` (SPEC §5).
    std::chrono::seconds push_retry_window{180};
    std::chrono::milliseconds push_retry_initial{1000};
    std::chrono::milliseconds push_retry_max{30000};
    /// Candidates probed per container: a layer full of files named core.* must not turn one
    /// death into thousands of API calls.
    std::size_t max_candidates = 64;
    /// Images committed per container per `rate_window` (`--max-per-container`; 0: no limit):
    /// a crash-looping container must not flood the registry.
    std::size_t max_per_container = 10;
    std::chrono::seconds rate_window{3600};
    /// Images committed per crash signature per `rate_window` on this host
    /// (`--max-per-signature`; 0: no limit): an orchestrator that replaces a crash-looping
    /// container each time must not fill the registry with copies of one crash. Three leave a
    /// second and third sample of the same crash, should the first be odd.
    std::size_t max_per_signature = 3;
    /// `--max-notes-size`: bytes of a core's start read for its notes. A process with 2,000
    /// mappings and 64 threads puts its notes ~0.5 MiB in; 4 MiB leaves room for far larger
    /// ones while keeping a probe's cost small and independent of the core's size.
    std::size_t max_notes_size = 4 * 1024 * 1024;
    /// `--dry-run`: probe and log what would be committed, pushed and notified; change nothing
    /// (no commit, push, delete or notification, no dump remembered as reported).
    bool dry_run = false;
    /// `--dump-path`: normalised directories (usually mounts) probed through the archive
    /// endpoint; their dumps are copied into the container's own filesystem before the commit.
    std::vector<std::string> dump_paths;
    /// `--max-dump-size`: bytes copied from those directories per container; a dump that does
    /// not fit is reported, not copied.
    std::uint64_t max_dump_size = std::uint64_t{2} << 30;
    /// Archive bytes one probe of a `--dump-path` reads before leaving the question to the
    /// copy: headers of a few hundred members, never a dump's content.
    std::size_t dump_path_probe_bytes = 64 * 1024;
    /// `--max-volume-dumps`: dumps taken from those directories per container. A volume that
    /// collects thousands of files must not turn one death into thousands of copies.
    std::size_t max_volume_dumps = 16;
    /// Where the copies are spooled between the archive read and the PUT (the state
    /// directory's dump-spool/); its free space is checked before each copy. "" : not checked.
    std::string dump_spool_dir;
    /// `--state-reserve`: free space left to the rest of the state directory (the spool of
    /// notifications, state.json) when dumps are spooled: 64 MiB holds a few hundred thousand
    /// notifications.
    std::uint64_t state_reserve = std::uint64_t{64} << 20;
};

}  // namespace core_interceptor::pipeline
