// SPDX-License-Identifier: MIT
#include "installed/common.hpp"

#include "integration/harness.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace core_interceptor::installed {

namespace ci = core_interceptor::integration;
namespace ts = core_interceptor::test_support;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The package build: a few minutes on two idle cores, over ten when other builds share them.
constexpr auto deb_build_timeout = 1200s;

}  // namespace

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    return v ? v : "";
}

bool starts_with(const std::string& s, const std::string& prefix)
{
    return s.rfind(prefix, 0) == 0;
}

long long ms_since(steady::time_point t0)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
}

std::string seconds(long long ms)
{
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << static_cast<double>(ms) / 1000.0 << " s";
    return s.str();
}

void phase_log::add(const std::string& line)
{
    lines.push_back(line);
    std::cout << "[" << tag << "] " << line << std::endl;
}

std::string phase_log::summary() const
{
    std::string out;
    for (const auto& l : lines)
        out += "\n  " + l;
    return out;
}

/// A missing prerequisite: a failure when every part is required, else a skip (false).
bool prerequisite(bool present, const std::string& why)
{
    if (present)
        return true;
    if (ci::parts_required())
        FAIL("a part the installed test needs is missing: ", why);
    MESSAGE("SKIPPED: a part the installed test needs is missing: ", why);
    return false;
}

std::optional<std::string> packaging_host(const std::string& what)
{
    const auto [os_id, codename] = host_release();
    if (!prerequisite(os_id == "debian" && !codename.empty(),
                      "not a Debian host (ID=" + os_id + ", VERSION_CODENAME=" + codename +
                          "): " + what + " made from its own apt sources"))
        return std::nullopt;
    if (!prerequisite(!ts::find_program("mmdebstrap").empty(),
                      "no mmdebstrap (Debian package mmdebstrap; scripts/install-deps.sh "
                      "installs it)"))
        return std::nullopt;
    if (!prerequisite(!ts::find_program("dpkg-deb").empty(), "no dpkg-deb"))
        return std::nullopt;
    return codename;
}

fs::path run_sinks_binary()
{
    const fs::path run_sinks = env("CORE_INTERCEPTOR_RUN_SINKS");
    REQUIRE_MESSAGE(fs::is_regular_file(run_sinks),
                    "CORE_INTERCEPTOR_RUN_SINKS (tests/manual/run_sinks) is not set or missing: "
                    "run `meson test --suite installed`");
    return run_sinks;
}

std::vector<sink_line> sink_lines(const std::string& run_sinks_output)
{
    std::vector<sink_line> out;
    for (const auto& line : lines_of(run_sinks_output)) {
        sink_line n;
        if (starts_with(line, "kafka key=")) {
            const auto v = line.find(" value=");
            if (v == std::string::npos)
                continue;
            n.sink = "kafka";
            n.key = line.substr(10, v - 10);
            n.text = line.substr(v + 7);
        } else if (starts_with(line, "rest ")) {
            const auto arrow = line.find(" -> ");
            if (arrow == std::string::npos)
                continue;
            std::istringstream rest(line.substr(arrow + 4));
            unsigned status = 0;
            rest >> status;
            if (status < 200 || status >= 300)
                continue;
            std::getline(rest, n.text);
            n.sink = "rest";
        } else {
            continue;
        }
        boost::system::error_code ec;
        auto v = boost::json::parse(trim(n.text), ec);
        if (!ec && v.is_object())
            n.body = v.as_object();
        out.push_back(std::move(n));
    }
    return out;
}

bool pushed_is(const boost::json::object& body, bool value)
{
    const auto* p = body.if_contains("pushed");
    return p && p->is_bool() && p->as_bool() == value;
}

/// Runs `argv` in its own process group with stdout and stderr into `log`; nothing when it
/// outlived `timeout` (then its whole group is killed).
std::optional<ts::exit_status> run_logged(std::vector<std::string> argv,
                                          const fs::path& log,
                                          std::chrono::milliseconds timeout,
                                          std::vector<std::pair<std::string, std::string>> envs)
{
    ts::process_options o;
    o.argv = std::move(argv);
    o.env = std::move(envs);
    o.own_process_group = true;
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE_MESSAGE(fd >= 0, "cannot open ", log.string());
    o.stdout_fd = fd;
    o.stderr_fd = fd;
    ts::process p(std::move(o));
    ::close(fd);
    auto st = p.wait_for(timeout);
    if (st)
        return st;
    ::kill(-p.pid(), SIGTERM);  // its group: the build's compilers, mmdebstrap's apt
    if (!p.wait_for(10s))
        ::kill(-p.pid(), SIGKILL);
    p.stop(5s);
    return std::nullopt;
}

/// ID and VERSION_CODENAME of the host (/etc/os-release).
std::pair<std::string, std::string> host_release()
{
    std::string id, codename;
    for (const auto& line : lines_of(ts::read_file("/etc/os-release"))) {
        auto value = [&](const char* key) {
            std::string v = line.substr(std::string(key).size());
            if (v.size() >= 2 && (v.front() == '"' || v.front() == '\''))
                v = v.substr(1, v.size() - 2);
            return v;
        };
        if (starts_with(line, "ID="))
            id = value("ID=");
        if (starts_with(line, "VERSION_CODENAME="))
            codename = value("VERSION_CODENAME=");
    }
    return {id, codename};
}

/// The host's apt sources: /etc/apt/sources.list and sources.list.d/*.list, *.sources, each
/// with at least one line that is not a comment (mmdebstrap pastes each file it is given).
std::vector<fs::path> host_apt_sources()
{
    std::vector<fs::path> files;
    auto usable = [](const fs::path& f) {
        for (const auto& line : lines_of(ts::read_file(f)))
            if (line[0] != '#')
                return true;
        return false;
    };
    if (fs::is_regular_file("/etc/apt/sources.list") && usable("/etc/apt/sources.list"))
        files.emplace_back("/etc/apt/sources.list");
    std::vector<fs::path> parts;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/etc/apt/sources.list.d", ec)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".list" || ext == ".sources") && usable(e.path()))
            parts.push_back(e.path());
    }
    std::sort(parts.begin(), parts.end());
    files.insert(files.end(), parts.begin(), parts.end());
    return files;
}

fs::path project_deb(phase_log& phases)
{
    // Built once per run, into a directory that lives as long as the process.
    static std::unique_ptr<ts::temp_dir> dir;
    static fs::path built;
    static std::string failed;  // a build that failed is not tried again in the same run
    if (!built.empty()) {
        phases.add("deb: built earlier in this run, " + built.filename().string());
        return built;
    }
    if (!failed.empty())
        FAIL("the package build failed earlier in this run: ", failed);
    if (const fs::path given = env("CORE_INTERCEPTOR_DEB"); !given.empty()) {
        REQUIRE_MESSAGE(
            fs::is_regular_file(given), "CORE_INTERCEPTOR_DEB=", given.string(), " is not a file");
        phases.add("deb: given, " + given.string());
        return given;
    }
    const fs::path source_root = env("CORE_INTERCEPTOR_SOURCE_ROOT");
    const auto build_deb = source_root / "scripts" / "build-deb.sh";
    REQUIRE_MESSAGE(fs::is_regular_file(build_deb),
                    "no scripts/build-deb.sh under CORE_INTERCEPTOR_SOURCE_ROOT=",
                    source_root.string());
    dir = std::make_unique<ts::temp_dir>("ci-deb-");
    const auto t0 = steady::now();
    const auto dist = *dir / "dist";
    const auto log = *dir / "build-deb.log";
    // The unit tests ran in this very suite, and lintian is build-deb.sh's own gate: the
    // package build here only has to produce the package.
    std::string options = trim(env("DEB_BUILD_OPTIONS") + " nocheck");
    std::vector<std::pair<std::string, std::string>> envs{{"DEB_BUILD_OPTIONS", options},
                                                          {"SKIP_LINTIAN", "1"},
                                                          {"DEBIAN_FRONTEND", "noninteractive"}};
    if (const auto jobs = env("CORE_INTERCEPTOR_DEB_JOBS"); !jobs.empty())
        envs.emplace_back("JOBS", jobs);
    auto st = run_logged({"bash", build_deb.string(), dist.string()}, log, deb_build_timeout, envs);
    if (!st || !st->success())
        failed = st ? "scripts/build-deb.sh " + st->describe()
                    : "scripts/build-deb.sh timed out after " +
                          std::to_string(deb_build_timeout.count()) + " s";
    if (!st)
        FAIL("scripts/build-deb.sh did not finish within ",
             deb_build_timeout.count(),
             " s; its log ends:\n",
             ts::tail_lines(ts::read_file(log), 40));
    if (!st->success())
        FAIL("scripts/build-deb.sh failed (",
             st->describe(),
             "); its log ends:\n",
             ts::tail_lines(ts::read_file(log), 60));
    fs::path deb;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dist, ec)) {
        const auto name = e.path().filename().string();
        if (starts_with(name, "core-interceptor_") && e.path().extension() == ".deb")
            deb = e.path();
    }
    if (deb.empty())
        failed = "scripts/build-deb.sh made no package";
    REQUIRE_MESSAGE(!deb.empty(), "build-deb.sh made no core-interceptor_*.deb in ", dist.string());
    phases.add("deb build: " + seconds(ms_since(t0)) + " (" + deb.filename().string() +
               ", nocheck, no lintian)");
    built = deb;
    return built;
}

}  // namespace core_interceptor::installed
