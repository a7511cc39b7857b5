// SPDX-License-Identifier: MIT
#pragma once
// What the installed tests share: small text helpers, a logged child process with a deadline,
// the host's Debian release and apt sources, and the project's .deb, built once per run.
#include "integration/harness.hpp"
#include "support/process.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace core_interceptor::installed {

using steady = std::chrono::steady_clock;

/// The variable's value, "" when unset.
std::string env(const char* name);
using integration::lines_of;
using integration::trim;
bool starts_with(const std::string& s, const std::string& prefix);
long long ms_since(steady::time_point t0);
/// "12.3 s".
std::string seconds(long long ms);

/// What each phase of a test took, printed as it ends (prefixed "[tag] ") and summed up.
struct phase_log {
    std::string tag;
    std::vector<std::string> lines;
    void add(const std::string& line);
    std::string summary() const;
};

/// A missing prerequisite: a failure when every part is required, else a skip (false).
bool prerequisite(bool present, const std::string& why);

/// The host's VERSION_CODENAME when it can make the Debian rootfs (a Debian host with mmdebstrap
/// and dpkg-deb); nothing when a prerequisite is missing (`prerequisite` said so). `what` names
/// what is made from the host's apt sources ("the image's rootfs is").
std::optional<std::string> packaging_host(const std::string& what);

/// tests/manual/run_sinks (CORE_INTERCEPTOR_RUN_SINKS); fails the test when it is missing.
std::filesystem::path run_sinks_binary();

/// A notification tests/manual/run_sinks printed: "kafka key=K value=BODY" or, for a REST
/// request answered 2xx, "rest ... -> STATUS BODY".
struct sink_line {
    std::string sink;                         ///< "kafka" or "rest"
    std::string key;                          ///< the Kafka key
    std::string text;                         ///< the body as printed
    std::optional<boost::json::object> body;  ///< nothing when the text is not a JSON object
};

/// Every notification line of run_sinks' output; REST requests only when answered 2xx.
std::vector<sink_line> sink_lines(const std::string& run_sinks_output);

/// Whether the notification says "pushed": `value`.
bool pushed_is(const boost::json::object& body, bool value);

/// Runs `argv` in its own process group with stdout and stderr into `log`; nothing when it
/// outlived `timeout` (then its whole group is killed).
std::optional<test_support::exit_status>
run_logged(std::vector<std::string> argv,
           const std::filesystem::path& log,
           std::chrono::milliseconds timeout,
           std::vector<std::pair<std::string, std::string>> envs);

/// ID and VERSION_CODENAME of the host (/etc/os-release).
std::pair<std::string, std::string> host_release();

/// The host's apt sources: /etc/apt/sources.list and sources.list.d/*.list, *.sources, each
/// with at least one line that is not a comment (mmdebstrap pastes each file it is given).
std::vector<std::filesystem::path> host_apt_sources();

/// The project's package: CORE_INTERCEPTOR_DEB when set, else built by scripts/build-deb.sh
/// (nocheck, no lintian) under CORE_INTERCEPTOR_SOURCE_ROOT, once per run: every test case of
/// the run gets the same file. Fails the test when the build fails.
std::filesystem::path project_deb(phase_log& phases);

}  // namespace core_interceptor::installed
