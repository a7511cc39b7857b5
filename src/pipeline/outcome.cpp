// SPDX-License-Identifier: MIT
#include "pipeline/outcome.hpp"

namespace core_interceptor::pipeline {

std::string_view to_string(outcome o) noexcept
{
    switch (o) {
    case outcome::no_dump: return "no_dump";
    case outcome::already_reported: return "already_reported";
    case outcome::rate_limited: return "rate_limited";
    case outcome::gone: return "gone";
    case outcome::probe_failed: return "probe_failed";
    case outcome::commit_failed: return "commit_failed";
    case outcome::committed: return "committed";
    case outcome::pushed: return "pushed";
    case outcome::cancelled: return "cancelled";
    case outcome::engine_unavailable: return "engine_unavailable";
    case outcome::duplicate: return "duplicate";
    case outcome::dry_run: return "dry_run";
    }
    return "unknown";
}

std::string describe(outcome o)
{
    switch (o) {
    case outcome::no_dump: return "no dump";
    case outcome::already_reported: return "its dump was already reported";
    case outcome::rate_limited: return "failed: over --max-per-container, not committed";
    case outcome::gone: return "failed: removed before it could be probed";
    case outcome::probe_failed: return "failed: cannot probe it";
    case outcome::commit_failed: return "failed: dump found, cannot commit";
    case outcome::committed: return "dump committed, not pushed";
    case outcome::pushed: return "dump pushed";
    case outcome::cancelled: return "not handled: interrupted";
    case outcome::engine_unavailable: return "failed: the Docker daemon went away";
    case outcome::duplicate:
        return "same crash as recent images (--max-per-signature): announced, not committed";
    case outcome::dry_run: return "dump found (dry run: nothing done)";
    }
    return "unknown";
}

bool succeeded(outcome o, bool with_registry) noexcept
{
    switch (o) {
    case outcome::pushed:
    case outcome::no_dump:
    case outcome::already_reported:
    case outcome::dry_run:
    case outcome::duplicate: return true;
    case outcome::committed: return !with_registry;
    default: return false;
    }
}

bool retried(outcome o) noexcept
{
    return o == outcome::engine_unavailable;
}

bool settled(outcome o) noexcept
{
    return o != outcome::cancelled && o != outcome::engine_unavailable;
}

bool removal_may_lose_dump(outcome o) noexcept
{
    switch (o) {
    case outcome::committed:
    case outcome::pushed:
    case outcome::gone:
    case outcome::already_reported:
    case outcome::cancelled:
    case outcome::duplicate: return false;
    default: return true;
    }
}

}  // namespace core_interceptor::pipeline
