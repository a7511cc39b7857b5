// SPDX-License-Identifier: MIT
// Issue 4, item 5: the package as an operator gets it. Builds the .deb (scripts/build-deb.sh),
// makes a Debian rootfs with mmdebstrap from the machine's own apt sources, boots it with
// systemd as PID 1 in the private test dockerd (--network none, the test dockerd's socket
// bind-mounted as /var/run/docker.sock), installs the .deb with dpkg, points the installed
// configuration at the test registry (on the host's 127.0.0.1: the push is made by the test
// dockerd, which lives in the host's network namespace) and at the sinks (tests/manual/run_sinks,
// run inside the booted system on its own loopback), and checks: the unit is active after
// READY=1, a crash is pushed and announced on Kafka and REST, a failing push is in the
// journal under _COMM=core_intercepto with its CONTAINER_ID, `systemctl stop` ends cleanly and
// `dpkg --purge` leaves nothing behind. The container and its image are removed at the end.
#include "installed/common.hpp"
#include "integration/harness.hpp"

#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

namespace {

namespace ci = core_interceptor::integration;
namespace ts = core_interceptor::test_support;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace core_interceptor::installed;

// Bounds of the slow steps (a two-core machine that also runs other builds).
constexpr auto mmdebstrap_timeout = 300s;
constexpr auto boot_timeout = 120s;

// The systemd container's host name: the daemon's default --hostname, so the notifications
// must carry it.
constexpr const char* box_hostname = "ci-installed";
constexpr const char* unit = "core_interceptor.service";

/// The packages of a Depends: field, first alternative of each, without versions or
/// architecture qualifiers: "a (>= 1) | b, c:any" -> {a, c}.
std::set<std::string> depends_packages(const std::string& depends)
{
    std::set<std::string> out;
    std::istringstream in(depends);
    for (std::string item; std::getline(in, item, ',');) {
        std::string first = trim(item.substr(0, item.find('|')));
        first = trim(first.substr(0, first.find('(')));
        first = first.substr(0, first.find(':'));
        if (!first.empty())
            out.insert(first);
    }
    return out;
}

/// FNV-1a, 64 bits, in hex: a stable cache key.
std::string fnv1a(const std::string& text)
{
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    std::ostringstream s;
    s << std::hex << std::setw(16) << std::setfill('0') << h;
    return s.str();
}

std::string joined(const std::set<std::string>& s, const char* sep)
{
    std::string out;
    for (const auto& x : s)
        out += (out.empty() ? "" : sep) + x;
    return out;
}

/// `key=value` lines (systemctl show) as a map.
std::map<std::string, std::string> key_values(const std::string& text)
{
    std::map<std::string, std::string> out;
    for (const auto& line : lines_of(text)) {
        const auto eq = line.find('=');
        if (eq != std::string::npos)
            out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
}

/// The booted system: a container of the private dockerd with systemd as PID 1. Whatever the
/// test left is stopped and removed when it goes out of scope (without checks: `finish`
/// does it with checks on the normal path).
struct systemd_box {
    ci::shared_parts& p;
    std::string image;
    std::string id;
    std::vector<std::string> crash_containers;
    std::vector<std::string> crash_tags;
    bool finished = false;

    ts::run_result sh(const std::string& script, std::chrono::milliseconds timeout = 60s) const
    {
        return p.dockerd.docker({"exec", id, "sh", "-c", script}, timeout);
    }

    /// `sh` that must succeed; its stdout.
    std::string must(const std::string& script, std::chrono::milliseconds timeout = 60s) const
    {
        auto r = sh(script, timeout);
        if (!r.ok())
            FAIL("in the systemd container: `",
                 script,
                 "` failed (",
                 r.timed_out ? "timed out" : r.status.describe(),
                 "):\n",
                 r.out,
                 r.err);
        return r.out;
    }

    std::map<std::string, std::string> show(const std::string& props) const
    {
        return key_values(must("systemctl show -p " + props + " " + unit));
    }

    /// Removes the crash containers and their images, stops the systemd container by its ID
    /// (SIGRTMIN+3: systemd halts), removes it and the imported image.
    void remove_everything()
    {
        for (const auto& n : crash_containers)
            p.dockerd.docker({"rm", "-f", n}, 60s);
        for (const auto& t : crash_tags)
            ci::remove_local_images_tagged(p, t);
        if (!id.empty()) {
            p.dockerd.docker({"stop", "-t", "30", id}, 90s);
            p.dockerd.docker({"rm", "-f", id}, 60s);
        }
        if (!image.empty())
            p.dockerd.docker({"rmi", "-f", image}, 60s);
    }

    systemd_box(ci::shared_parts& parts) : p(parts) {}
    systemd_box(const systemd_box&) = delete;
    systemd_box& operator=(const systemd_box&) = delete;
    ~systemd_box()
    {
        if (finished)
            return;
        try {
            remove_everything();
        } catch (...) {
        }
    }
};

/// A notification one of the sinks inside received (from run_sinks' output).
struct received {
    std::string sink;  ///< "kafka" or "rest"
    std::string key;   ///< the Kafka key
    json::object body;
};

/// Every notification run_sinks printed so far; REST requests only when answered 2xx.
std::vector<received> read_sinks(const systemd_box& box)
{
    std::vector<received> out;
    auto r = box.sh("cat /run/ci-sinks.log", 30s);
    if (!r.ok())
        return out;
    for (auto& line : sink_lines(r.out)) {
        if (!line.body) {
            FAIL_CHECK(line.sink, ": a notification that is not a JSON object: ", line.text);
            continue;
        }
        out.push_back({line.sink, line.key, std::move(*line.body)});
    }
    return out;
}

/// The notification of container `c` on `sink` (by tag), the last one if several.
std::optional<received>
notification_of(const std::vector<received>& all, const std::string& sink, const ci::container& c)
{
    std::optional<received> found;
    for (const auto& n : all)
        if (n.sink == sink && ci::string_field(n.body, "tag") == c.tag())
            found = n;
    return found;
}

/// A container of the test image that dies of SIGSEGV with a core in /tmp, run from the host
/// side in the private dockerd, waited for.
ci::container crash(systemd_box& box, const std::string& what)
{
    ci::container_spec spec{what, ci::crash_with_core(), 139, std::string("core")};
    auto c = ci::start_container(box.p, spec, ci::unique_name(what));
    box.crash_containers.push_back(c.name);
    box.crash_tags.push_back(c.tag());
    ci::wait_exited(box.p, {c});
    return c;
}

/// The booted system shared by the cases below, in their order: the package built and
/// installed, the sinks running inside, the configuration pointed at them. Made by the first
/// case that asks for it; what is left of it is removed at the end of the run.
struct installed_system {
    ci::shared_parts& p;
    steady::time_point t_all = steady::now();
    phase_log phases{"installed"};
    ts::temp_dir work{"ci-inst-"};
    systemd_box box{p};
    std::string deb_name;
    bool purge_removes_user = false;
    bool started = false;  ///< the service started and watches events

    explicit installed_system(ci::shared_parts& parts) : p(parts) {}
};

/// The .deb and run_sinks under work/in (mounted read-only inside); what the rootfs must hold.
std::set<std::string> prepare_inputs(installed_system& sys, const fs::path& run_sinks)
{
    auto& phases = sys.phases;
    const auto& work = sys.work;
    // Everything the booted system gets from the host is in work/in, mounted read-only.
    const auto in = work / "in";
    fs::create_directories(in);

    // --- 1. the .deb -----------------------------------------------------------------------
    const fs::path deb = project_deb(phases);
    const auto deb_name = deb.filename().string();
    fs::copy_file(deb, in / deb_name);
    fs::copy_file(run_sinks, in / "run_sinks");

    auto depends = ts::run({"dpkg-deb", "-f", deb.string(), "Depends"}, 30s);
    REQUIRE_MESSAGE(depends.ok(), "dpkg-deb -f ", deb.string(), " Depends: ", depends.err);
    // What the package's postrm says about its system user: "userdel"/"deluser" means purge
    // removes it; otherwise it stays (Debian's usual policy) and must own nothing.
    auto postrm = ts::run({"dpkg-deb", "-I", deb.string(), "postrm"}, 30s);
    const bool purge_removes_user = postrm.out.find("userdel") != std::string::npos ||
                                    postrm.out.find("deluser") != std::string::npos;
    sys.deb_name = deb_name;
    sys.purge_removes_user = purge_removes_user;
    // The container has no network: the package's dependencies come with the rootfs, so that
    // `dpkg -i` installs it as apt would.
    std::set<std::string> include{"systemd", "systemd-sysv", "dbus"};
    for (auto& d : depends_packages(depends.out))
        include.insert(d);
    return include;
}

/// The rootfs tarball (mmdebstrap), from the cache when it holds one for the same inputs.
fs::path make_rootfs(installed_system& sys,
                     const std::string& codename,
                     const std::set<std::string>& include,
                     std::string& key_out)
{
    auto& phases = sys.phases;
    const auto& work = sys.work;
    // --- 2. the rootfs -----------------------------------------------------------------------
    const auto sources = host_apt_sources();
    std::string key_text = codename + "\nminbase\n" + joined(include, ",");
    for (const auto& s : sources)
        key_text += "\n" + s.string() + "\n" + ts::read_file(s);
    const auto key = fnv1a(key_text);

    const std::string cache_env = env("CORE_INTERCEPTOR_INSTALLED_CACHE");
    const fs::path cache = cache_env.empty() ? work.path() : fs::path(cache_env);
    fs::create_directories(cache);
    const auto rootfs = cache / ("rootfs-" + key + ".tar");
    {
        const auto t0 = steady::now();
        if (fs::is_regular_file(rootfs)) {
            phases.add("rootfs: cached, " + rootfs.string());
        } else {
            const auto partial = cache / ("rootfs-" + key + ".partial.tar");
            const auto log = work / "mmdebstrap.log";
            std::vector<std::string> argv{"mmdebstrap",
                                          "--variant=minbase",
                                          "--include=" + joined(include, ","),
                                          codename,
                                          partial.string()};
            for (const auto& s : sources)
                argv.push_back(s.string());
            if (sources.empty())
                MESSAGE("no apt sources on this host: mmdebstrap uses its default mirror");
            auto st = run_logged(argv, log, mmdebstrap_timeout, {});
            if (!st || !st->success()) {
                std::error_code ec;
                fs::remove(partial, ec);
                FAIL("mmdebstrap ",
                     (st ? "failed (" + st->describe() + ")" : "timed out"),
                     "; its log ends:\n",
                     ts::tail_lines(ts::read_file(log), 40));
            }
            // Only the newest rootfs is kept in the cache.
            std::error_code ec;
            for (const auto& e : fs::directory_iterator(cache, ec))
                if (starts_with(e.path().filename().string(), "rootfs-") &&
                    e.path().extension() == ".tar" && e.path() != partial)
                    fs::remove(e.path(), ec);
            fs::rename(partial, rootfs);
            phases.add("rootfs (mmdebstrap " + codename + ", minbase + " +
                       std::to_string(include.size()) + " packages): " + seconds(ms_since(t0)));
        }
    }
    key_out = key;
    return rootfs;
}

/// Imports the rootfs as an image of the private dockerd.
void import_rootfs(installed_system& sys, const fs::path& rootfs, const std::string& key)
{
    // --- 3. import and boot ------------------------------------------------------------------
    const auto t0 = steady::now();
    const std::string image = "ci-installed-systemd:" + key.substr(0, 12);
    auto imp = sys.p.dockerd.docker({"import", rootfs.string(), image}, 300s);
    REQUIRE_MESSAGE(
        imp.ok(), "docker import of the rootfs failed (", imp.status.describe(), "): ", imp.err);
    sys.box.image = image;
    sys.phases.add("docker import: " + seconds(ms_since(t0)));
}

/// Boots the imported rootfs with systemd as PID 1.
void boot(installed_system& sys)
{
    ci::shared_parts* p = &sys.p;
    auto& box = sys.box;
    auto& phases = sys.phases;
    const auto in = sys.work / "in";
    {
        const auto t0 = steady::now();
        const auto name = ci::unique_name("installed");
        // systemd as PID 1 on these machines: SYS_ADMIN and a cgroup namespace of its own
        // (--privileged does not work here), tmpfs where systemd expects them, SIGRTMIN+3 to
        // halt it. /var/run is /run inside: the socket lands on the /run tmpfs.
        auto run = p->dockerd.docker(
            ts::run_isolated({"-d",
                              "--name",
                              name,
                              "--hostname",
                              box_hostname,
                              "--cap-add",
                              "SYS_ADMIN",
                              "--cgroupns=private",
                              "--tmpfs",
                              "/run",
                              "--tmpfs",
                              "/run/lock",
                              "--tmpfs",
                              "/tmp",
                              "--stop-signal",
                              "RTMIN+3",
                              "-e",
                              "container=docker",
                              "-v",
                              p->dockerd.socket_path().string() + ":/run/docker.sock",
                              "-v",
                              in.string() + ":/mnt/ci:ro",
                              box.image,
                              "/sbin/init"}),
            120s);
        REQUIRE_MESSAGE(run.ok(),
                        "starting the systemd container failed (",
                        run.status.describe(),
                        "): ",
                        run.err);
        box.id = trim(run.out);
        REQUIRE_MESSAGE(
            box.id.size() == 64, "starting a container printed no container id: ", run.out);

        // Until systemd listens on its private bus socket, systemctl cannot even ask: retry.
        const auto limit = std::to_string(boot_timeout.count() - 10);
        auto state = box.sh("end=$(( $(date +%s) + " + limit +
                                " )); "
                                "while :; do s=$(timeout " +
                                limit +
                                " systemctl is-system-running --wait 2>&1); "
                                "case \"$s\" in running|degraded) break;; esac; "
                                "[ \"$(date +%s)\" -lt \"$end\" ] || break; sleep 0.1; "
                                "done; echo \"$s\"",
                            boot_timeout);
        const auto booted = trim(state.out);
        if (booted != "running" && booted != "degraded") {
            auto logs = p->dockerd.docker({"logs", "--tail", "40", box.id}, 30s);
            auto failed = box.sh("systemctl --failed --no-pager; journalctl -b --no-pager "
                                 "-p warning | tail -n 40");
            FAIL("systemd did not finish booting within ",
                 boot_timeout.count(),
                 " s (is-system-running: '",
                 booted,
                 "' ",
                 state.err,
                 ")\n",
                 failed.out,
                 logs.out,
                 logs.err);
        }
        if (booted == "degraded")
            MESSAGE("the system booted degraded; failed units:\n",
                    box.sh("systemctl --failed --no-pager --plain").out);
        phases.add("boot (container start to is-system-running=" + booted +
                   "): " + std::to_string(ms_since(t0)) + " ms");
    }
}

/// Installs the package, starts the sinks inside and points the configuration at them.
void install_and_configure(installed_system& sys)
{
    ci::shared_parts* p = &sys.p;
    auto& box = sys.box;
    auto& phases = sys.phases;
    const auto& deb_name = sys.deb_name;

    // The service's SupplementaryGroups=docker must be the group of the bind-mounted socket, as
    // on a host where docker.io created the group before this package came.
    {
        struct stat st {};
        REQUIRE(::stat(p->dockerd.socket_path().c_str(), &st) == 0);
        const auto gid = std::to_string(st.st_gid);
        const auto inside =
            trim(box.must("getent group docker >/dev/null || { getent group " + gid +
                          " >/dev/null && "
                          "groupadd --system docker || groupadd -g " +
                          gid +
                          " docker; }; "
                          "getent group docker | cut -d: -f3"));
        if (inside != gid) {
            // The socket's gid is taken inside: give the socket the group "docker" has there.
            REQUIRE(::chown(p->dockerd.socket_path().c_str(),
                            static_cast<uid_t>(-1),
                            static_cast<gid_t>(std::stoul(inside))) == 0);
        }
    }

    // --- 4. install, sinks, configuration --------------------------------------------------
    {
        const auto t0 = steady::now();
        auto inst = box.sh("dpkg -i /mnt/ci/" + deb_name + " 2>&1", 180s);
        REQUIRE_MESSAGE(inst.ok(),
                        "dpkg -i ",
                        deb_name,
                        " failed (",
                        inst.status.describe(),
                        "):\n",
                        inst.out,
                        inst.err);
        phases.add("dpkg -i: " + std::to_string(ms_since(t0)) + " ms");
    }

    // The sinks, inside: the container's loopback is the daemon's.
    {
        const auto missing = box.sh("ldd /mnt/ci/run_sinks | grep 'not found'");
        REQUIRE_MESSAGE(trim(missing.out).empty(),
                        "run_sinks needs libraries the package's dependencies do not bring:\n",
                        missing.out);
        box.must("systemd-run --unit=ci-sinks --property=StandardOutput=file:/run/ci-sinks.log "
                 "--property=StandardError=file:/run/ci-sinks.err /mnt/ci/run_sinks");
    }
    std::string kafka_brokers, rest_url;
    const bool sinks_up = ci::wait_until(
        [&] {
            for (const auto& line : lines_of(box.sh("cat /run/ci-sinks.log").out)) {
                if (starts_with(line, "KAFKA_BROKERS="))
                    kafka_brokers = line.substr(14);
                if (starts_with(line, "REST_URL="))
                    rest_url = line.substr(9);
            }
            return !kafka_brokers.empty() && !rest_url.empty();
        },
        30s);
    REQUIRE_MESSAGE(sinks_up,
                    "run_sinks did not say where it listens:\n",
                    box.sh("cat /run/ci-sinks.log /run/ci-sinks.err; systemctl status ci-sinks "
                           "--no-pager")
                        .out);

    // The installed configuration as an operator edits it: the file for where things are,
    // /etc/default for extra options (a deliberately failing push is announced at once).
    box.must("printf '%s\\n' '# installed test' 'registry = " + p->registry.address() +
             "' 'kafka-brokers = " + kafka_brokers + "' 'rest-url = " + rest_url +
             "' >> /etc/core_interceptor/core_interceptor.conf && "
             "echo 'CORE_INTERCEPTOR_OPTS=\"--push-retry-window 0 --retry-max-backoff 1\"' "
             ">> /etc/default/core_interceptor");
}

/// Where the shared system lives. Made after the shared parts, so destroyed before them at
/// exit: whatever a failed case left in the private dockerd is removed while it still runs.
std::unique_ptr<installed_system>& held()
{
    struct holder {
        std::unique_ptr<installed_system> sys;
        holder() {}
    };
    static holder h;
    return h.sys;
}

/// Builds the shared system once (nullptr when a prerequisite is missing); a later case after
/// a failed set-up fails at once.
installed_system* the_system()
{
    enum class state { unknown, ready, skipped, failed };
    static state st = state::unknown;
    if (st == state::ready)
        return held().get();
    if (st == state::skipped)
        return nullptr;
    if (st == state::failed)
        FAIL("the installed system could not be set up: see the first case of the run");
    st = state::failed;
    ci::shared_parts* p = ci::parts();
    if (!p) {
        st = state::skipped;
        return nullptr;
    }
    const auto codename = packaging_host("the package and the rootfs are");
    if (!codename) {
        st = state::skipped;
        return nullptr;
    }
    const fs::path run_sinks = run_sinks_binary();
    auto& sys = held();
    sys = std::make_unique<installed_system>(*p);
    std::string key;
    const auto include = prepare_inputs(*sys, run_sinks);
    const auto rootfs = make_rootfs(*sys, *codename, include, key);
    import_rootfs(*sys, rootfs, key);
    boot(*sys);
    install_and_configure(*sys);
    st = state::ready;
    return sys.get();
}

/// The shared system with the service started by the case before.
installed_system* started_system()
{
    auto* s = the_system();
    if (s)
        REQUIRE_MESSAGE(s->started, "the service did not start: see the case before");
    return s;
}

}  // namespace

TEST_CASE("installed: the package installs, enables its unit and creates its user in the docker "
          "group")
{
    auto* sys = the_system();
    if (!sys)
        return;
    auto& box = sys->box;
    CHECK_MESSAGE(trim(box.sh("systemctl is-enabled " + std::string(unit)).out) == "enabled",
                  "the package does not enable the service");
    const auto passwd = trim(box.sh("getent passwd core_interceptor").out);
    REQUIRE_MESSAGE(!passwd.empty(), "installing the package created no core_interceptor user");
    const auto user_groups = trim(box.sh("id -nG core_interceptor").out);
    CHECK_MESSAGE((" " + user_groups + " ").find(" docker ") != std::string::npos,
                  "core_interceptor is not in the docker group: ",
                  user_groups);
}

TEST_CASE("installed: systemctl start returns at READY=1, the daemon runs as its user and says "
          "when it watches events")
{
    auto* sys = the_system();
    if (!sys)
        return;
    auto& box = sys->box;
    auto& phases = sys->phases;
    // --- 5. start: READY -------------------------------------------------------------------
    // The package started the service with its default configuration; stop it, then time a
    // start with ours: `systemctl start` of a Type=notify unit returns once READY=1 came.
    box.must(std::string("systemctl stop ") + unit);
    const auto started = lines_of(box.must(std::string("a=$(date +%s%N); systemctl start ") + unit +
                                           "; rc=$?; b=$(date +%s%N); "
                                           "echo \"$rc $(( (b - a) / 1000000 ))\""));
    REQUIRE(!started.empty());
    int start_rc = -1;
    long long start_ms = -1;
    std::istringstream(started.back()) >> start_rc >> start_ms;
    {
        auto props = box.show("Type,ActiveState,SubState,Result,NRestarts,StatusText,MainPID,"
                              "ExecMainStartTimestampMonotonic,ActiveEnterTimestampMonotonic");
        INFO("systemctl show: Type=",
             props["Type"],
             " ActiveState=",
             props["ActiveState"],
             " SubState=",
             props["SubState"],
             " StatusText=",
             props["StatusText"]);
        REQUIRE_MESSAGE(start_rc == 0,
                        "systemctl start failed:\n",
                        box.sh(std::string("systemctl status --no-pager -n 30 ") + unit).out);
        CHECK(props["Type"] == "notify");
        CHECK(props["ActiveState"] == "active");
        CHECK(props["SubState"] == "running");
        CHECK(props["NRestarts"] == "0");
        CHECK_MESSAGE(!props["StatusText"].empty(), "the daemon sent no STATUS=");
        const auto exec_us = std::atoll(props["ExecMainStartTimestampMonotonic"].c_str());
        const auto active_us = std::atoll(props["ActiveEnterTimestampMonotonic"].c_str());
        CHECK(active_us >= exec_us);
        std::ostringstream ready;
        ready << "READY after " << start_ms
              << " ms (systemctl start to active; exec to READY=1: " << (active_us - exec_us) / 1000
              << " ms)";
        phases.add(ready.str());
        MESSAGE(ready.str());

        // The main process: the system user, with the socket's group, and both
        // configuration sources on its command line.
        const auto pid = props["MainPID"];
        const auto status = key_values(box.must("sed -e 's/:\\t/=/' /proc/" + pid + "/status"));
        const auto uid = trim(box.must("id -u core_interceptor"));
        CHECK_MESSAGE(starts_with(status.count("Uid") ? status.at("Uid") : "", uid + "\t"),
                      "the daemon does not run as core_interceptor: Uid ",
                      status.count("Uid") ? status.at("Uid") : "?");
        const auto docker_gid = trim(box.must("getent group docker | cut -d: -f3"));
        const auto groups = status.count("Groups") ? status.at("Groups") : "";
        CHECK_MESSAGE((" " + groups + " ").find(" " + docker_gid + " ") != std::string::npos,
                      "the daemon is not in the docker group (",
                      docker_gid,
                      "): Groups ",
                      groups);
        const auto cmdline = box.must("tr '\\0' ' ' < /proc/" + pid + "/cmdline");
        CHECK_MESSAGE(cmdline.find("--config /etc/core_interceptor/core_interceptor.conf") !=
                          std::string::npos,
                      cmdline);
        CHECK_MESSAGE(cmdline.find("--push-retry-window 0") != std::string::npos,
                      "CORE_INTERCEPTOR_OPTS of /etc/default/core_interceptor not used: ",
                      cmdline);
    }
    // READY=1 does not wait for Docker; STATUS= says when the event stream is open.
    std::string status_text;
    const bool watching = ci::wait_until(
        [&] {
            status_text = box.show("StatusText")["StatusText"];
            return starts_with(status_text, "watching events");
        },
        30s);
    REQUIRE_MESSAGE(watching,
                    "STATUS= never said \"watching events\": ",
                    status_text,
                    "\n",
                    box.sh(std::string("journalctl --no-pager -n 30 -u ") + unit).out);
    sys->started = true;
}

TEST_CASE("installed: a crash is pushed, announced on both sinks and logged to the journal once")
{
    auto* sys = started_system();
    if (!sys)
        return;
    ci::shared_parts* p = &sys->p;
    auto& box = sys->box;
    auto& phases = sys->phases;
    std::string status_text;
    // --- 6. a crash: pushed and announced ---------------------------------------------------
    const auto not_before = std::chrono::system_clock::now();
    const auto t_crash = steady::now();
    const auto c1 = crash(box, "inst-core");
    const auto exited_ms = ms_since(t_crash);
    const auto expected_ref = p->registry.address() + "/" + ci::test_repo + ":" + c1.tag();
    {
        // One poll for all three, each timed when it first holds.
        std::vector<std::string> tags;
        std::vector<received> got;
        long long pushed_ms = -1, kafka_ms = -1, rest_ms = -1;
        ci::wait_until(
            [&] {
                if (pushed_ms < 0) {
                    try {
                        tags = p->registry.tags(ci::test_repo);
                    } catch (const std::exception&) {
                        tags.clear();
                    }
                    if (std::find(tags.begin(), tags.end(), c1.tag()) != tags.end())
                        pushed_ms = ms_since(t_crash);
                }
                got = read_sinks(box);
                auto k = notification_of(got, "kafka", c1);
                auto r = notification_of(got, "rest", c1);
                if (kafka_ms < 0 && k && pushed_is(k->body, true))
                    kafka_ms = ms_since(t_crash);
                if (rest_ms < 0 && r && pushed_is(r->body, true))
                    rest_ms = ms_since(t_crash);
                return pushed_ms >= 0 && kafka_ms >= 0 && rest_ms >= 0;
            },
            90s);
        phases.add("crash: container exited after " + std::to_string(exited_ms) +
                   " ms; in the registry after " + std::to_string(pushed_ms) +
                   " ms; on Kafka after " + std::to_string(kafka_ms) + " ms; on REST after " +
                   std::to_string(rest_ms) + " ms");
        const auto journal = box.sh(std::string("journalctl --no-pager -n 40 -u ") + unit).out;
        CHECK_MESSAGE(pushed_ms >= 0,
                      "the registry has no ",
                      ci::test_repo,
                      ":",
                      c1.tag(),
                      " (tags: ",
                      tags.size(),
                      ")\n",
                      journal);
        CHECK_MESSAGE((kafka_ms >= 0 && rest_ms >= 0),
                      "no pushed notification of ",
                      c1.tag(),
                      " on both sinks:\n",
                      box.sh("cat /run/ci-sinks.log").out,
                      journal);
        const ci::expected_notification e{
            ci::test_repo, c1.tag(), box_hostname, "core", true, expected_ref};
        for (const char* sink : {"kafka", "rest"}) {
            INFO("sink ", sink);
            if (auto n = notification_of(got, sink, c1)) {
                ci::check_notification(n->body, e, not_before);
                if (std::string(sink) == "kafka")
                    CHECK(n->key == std::string(ci::test_repo) + ":" + c1.tag());
            }
        }
        // Pushed, so deleted locally.
        CHECK_MESSAGE(
            ci::wait_until([&] { return ci::local_images_tagged(*p, c1.tag()).empty(); }, 30s),
            "the pushed image is still on the node");
        // STATUS= keeps count.
        CHECK_MESSAGE(ci::wait_until(
                          [&] {
                              status_text = box.show("StatusText")["StatusText"];
                              return status_text.find("pushed 1") != std::string::npos;
                          },
                          15s),
                      "STATUS= does not count the push: ",
                      status_text);
        // WATCHDOG=1 reached systemd (the unit sets WatchdogSec=).
        const auto wd = box.show("WatchdogUSec,WatchdogTimestampMonotonic");
        if (wd.count("WatchdogUSec") && wd.at("WatchdogUSec") != "0" &&
            wd.at("WatchdogUSec") != "infinity")
            CHECK_MESSAGE(std::atoll(wd.count("WatchdogTimestampMonotonic")
                                         ? wd.at("WatchdogTimestampMonotonic").c_str()
                                         : "0") > 0,
                          "WatchdogSec=",
                          wd.at("WatchdogUSec"),
                          " but no WATCHDOG=1 came");
        // Under systemd the records go to the journal once, with their fields: none of them
        // comes through the stdout/stderr stream as well.
        const auto streamed = trim(box.sh("journalctl --no-pager -o cat _COMM=core_intercepto "
                                          "_TRANSPORT=stdout")
                                       .out);
        CHECK_MESSAGE(
            streamed.empty(), "records also written to stderr under systemd:\n", streamed);
        // A job that went well logs no error.
        CHECK_MESSAGE(trim(box.sh("journalctl --no-pager -o cat _COMM=core_intercepto -p err "
                                  "CONTAINER_ID=" +
                                  c1.id)
                               .out)
                          .empty(),
                      "errors logged for a container that was pushed");
    }
}

TEST_CASE("installed: a failing push is an error in the journal with its container's fields")
{
    auto* sys = started_system();
    if (!sys)
        return;
    ci::shared_parts* p = &sys->p;
    auto& box = sys->box;
    auto& phases = sys->phases;
    // --- 7. a failing push: the error is in the journal --------------------------------------
    {
        ci::registry_guard back_up(p->registry);
        p->registry.stop();
        const auto t_nopush = steady::now();
        const auto c2 = crash(box, "inst-nopush");
        const auto query =
            "journalctl --no-pager _COMM=core_intercepto -p err CONTAINER_ID=" + c2.id;
        std::string errors;
        const bool logged = ci::wait_until(
            [&] {
                errors = trim(box.sh(query + " -o cat").out);
                return !errors.empty();
            },
            60s);
        phases.add("failing push (registry stopped): error in the journal after " +
                   std::to_string(ms_since(t_nopush)) + " ms");
        CHECK_MESSAGE(logged,
                      "no error in `journalctl _COMM=core_intercepto` for container ",
                      c2.tag(),
                      " whose push failed; the unit's journal:\n",
                      box.sh(std::string("journalctl --no-pager -n 40 -u ") + unit).out);
        if (logged) {
            MESSAGE("journalctl _COMM=core_intercepto -p err CONTAINER_ID=",
                    c2.tag(),
                    "...:\n",
                    errors);
            CHECK(ci::contains_nocase(errors, "push"));
            const auto verbose = box.sh(query + " -o verbose").out;
            INFO(verbose);
            CHECK(verbose.find("CONTAINER_NAME=" + c2.name) != std::string::npos);
            CHECK(verbose.find("IMAGE=" + std::string(ts::private_dockerd::test_image)) !=
                  std::string::npos);
            CHECK(verbose.find("PRIORITY=3") != std::string::npos);
            CHECK(verbose.find("_SYSTEMD_UNIT=core_interceptor.service") != std::string::npos);
        }
        std::vector<received> got;
        const bool announced = ci::wait_until(
            [&] {
                got = read_sinks(box);
                auto k = notification_of(got, "kafka", c2);
                auto r = notification_of(got, "rest", c2);
                return k && r && pushed_is(k->body, false) && pushed_is(r->body, false);
            },
            60s);
        CHECK_MESSAGE(announced,
                      "no \"pushed\": false notification of ",
                      c2.tag(),
                      " on both sinks:\n",
                      box.sh("cat /run/ci-sinks.log").out);
        // Nobody loses a dump: the committed image stays on the node.
        CHECK_MESSAGE(!ci::local_images_tagged(*p, c2.tag()).empty(),
                      "the image whose push failed is not kept locally");
    }
}

TEST_CASE("installed: systemctl stop ends the daemon cleanly")
{
    auto* sys = started_system();
    if (!sys)
        return;
    auto& box = sys->box;
    auto& phases = sys->phases;
    // --- 8. systemctl stop: clean ---------------------------------------------------------
    {
        const auto t0 = steady::now();
        auto stop = box.sh(std::string("systemctl stop ") + unit, 60s);
        const auto stop_ms = ms_since(t0);
        CHECK_MESSAGE(stop.ok(), "systemctl stop: ", stop.out, stop.err);
        auto props = box.show("ActiveState,Result,ExecMainCode,ExecMainStatus");
        INFO("after systemctl stop: ActiveState=",
             props["ActiveState"],
             " Result=",
             props["Result"],
             " ExecMainCode=",
             props["ExecMainCode"],
             " ExecMainStatus=",
             props["ExecMainStatus"],
             "\n",
             box.sh(std::string("journalctl --no-pager -n 20 -u ") + unit).out);
        CHECK(props["ActiveState"] == "inactive");
        CHECK(props["Result"] == "success");
        CHECK(props["ExecMainCode"] == "1");  // CLD_EXITED: it exited, no signal killed it
        CHECK(props["ExecMainStatus"] == "0");
        phases.add("systemctl stop: " + std::to_string(stop_ms) + " ms");
    }
}

TEST_CASE("installed: dpkg --purge leaves nothing behind")
{
    auto* sys = the_system();
    if (!sys)
        return;
    auto& box = sys->box;
    const bool purge_removes_user = sys->purge_removes_user;
    // --- 9. dpkg --purge: nothing left -------------------------------------------------------
    {
        auto purge = box.sh("dpkg --purge core-interceptor 2>&1", 120s);
        REQUIRE_MESSAGE(purge.ok(), "dpkg --purge failed:\n", purge.out, purge.err);
        const auto left = trim(
            box.sh("for f in /etc/core_interceptor /etc/default/core_interceptor "
                   "/var/lib/core_interceptor "
                   "/usr/sbin/core_interceptor /lib/systemd/system/core_interceptor.service "
                   "/usr/lib/systemd/system/core_interceptor.service "
                   "/etc/systemd/system/core_interceptor.service "
                   "/etc/systemd/system/multi-user.target.wants/core_interceptor.service "
                   "/usr/lib/sysusers.d/core_interceptor.conf "
                   "/usr/lib/tmpfiles.d/core_interceptor.conf "
                   "/usr/share/man/man8/core_interceptor.8.gz /usr/share/doc/core-interceptor "
                   "/var/lib/systemd/deb-systemd-helper-enabled/core_interceptor.service.dsh-also "
                   "/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/"
                   "core_interceptor.service; do [ ! -e \"$f\" ] && [ ! -L \"$f\" ] || echo "
                   "\"$f\"; done")
                .out);
        CHECK_MESSAGE(left.empty(), "dpkg --purge left:\n", left);
        const auto status =
            trim(box.sh("dpkg-query -W -f='${db:Status-Status}' core-interceptor").out);
        CHECK_MESSAGE((status.empty() || status == "not-installed"),
                      "dpkg still knows the package: ",
                      status);
        auto units = box.sh(std::string("systemctl list-unit-files --no-legend ") + unit).out;
        CHECK_MESSAGE(trim(units).empty(), "systemd still knows the unit: ", units);
        const auto user = trim(box.sh("getent passwd core_interceptor").out);
        if (purge_removes_user) {
            CHECK_MESSAGE(user.empty(),
                          "the package's postrm removes the user, but it is still "
                          "there: ",
                          user);
        } else {
            // Debian's policy for system users: kept, so that files elsewhere keep an owner.
            MESSAGE("the system user stays after purge (the package's policy): ",
                    user.empty() ? std::string("<gone>") : user);
            if (!user.empty()) {
                const auto owned = trim(box.sh("find / /run /tmp -xdev \\( -user core_interceptor "
                                               "-o -group core_interceptor \\) 2>/dev/null",
                                               120s)
                                            .out);
                CHECK_MESSAGE(
                    owned.empty(), "files of core_interceptor left after purge:\n", owned);
            }
        }
    }
}

TEST_CASE("installed: the test leaves nothing behind in the dockerd")
{
    auto* sys = the_system();
    if (!sys)
        return;
    ci::shared_parts* p = &sys->p;
    auto& box = sys->box;
    auto& phases = sys->phases;
    const auto& t_all = sys->t_all;
    // --- 10. leave nothing behind ---------------------------------------------------------
    {
        const auto t0 = steady::now();
        box.finished = true;
        box.remove_everything();
        auto ps = p->dockerd.docker({"ps", "-aq", "--no-trunc"}, 60s);
        CHECK_MESSAGE(ps.out.find(box.id) == std::string::npos,
                      "the systemd container is still there");
        for (const auto& n : box.crash_containers)
            CHECK_MESSAGE(!ci::inspect(*p, n, "{{.Id}}"), "container ", n, " is still there");
        auto images = p->dockerd.docker({"images", "-q", box.image}, 60s);
        CHECK_MESSAGE(trim(images.out).empty(), "the image ", box.image, " is still there");
        phases.add("stop and removal of the systemd container: " + seconds(ms_since(t0)));
    }
    phases.add("whole test: " + seconds(ms_since(t_all)));
    MESSAGE("phases:", phases.summary());
}
