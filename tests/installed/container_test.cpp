// SPDX-License-Identifier: MIT
// Issue 14, item 2: the daemon as a container. scripts/build-image.sh builds the image from the
// project's .deb (the one the installed test uses, built once per run) on a Debian rootfs made
// with mmdebstrap (kept in the installed test's cache) and imports it into the private test
// dockerd. It is then run as README's "Running it as a container" says: the Engine's socket
// mounted, --restart unless-stopped, the state directory on a named volume, the configuration
// from a mounted file (the registry) and CORE_INTERCEPTOR_ variables (sinks, host name). Every
// container runs with --network none. The sinks (tests/manual/run_sinks: a librdkafka mock
// cluster on a port it picks, an HTTP sink) run inside the daemon's own container, on its
// loopback: its entrypoint is overridden with `sh -c`, which starts run_sinks in the background
// (its output in a read-write mount the test reads), exports the two sink variables from the
// addresses run_sinks printed, then execs the image's own entrypoint, so the daemon is PID 1 as
// in production. The registry is on the host's 127.0.0.1: the push is made by the test dockerd,
// in the host's namespace.
// Checks: the image's HEALTHCHECK says healthy, a crash is pushed and announced on Kafka and
// REST, the records are on stdout, the state is in the volume, `docker stop` ends it with exit 0
// within the grace period; an unknown CORE_INTERCEPTOR_ variable stops it with exit 2.
#include "installed/common.hpp"
#include "integration/harness.hpp"

#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace {

namespace ci = core_interceptor::integration;
namespace ts = core_interceptor::test_support;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace core_interceptor::installed;

// The image build with the package given: mmdebstrap on a first run, then an import.
constexpr auto image_build_timeout = 600s;
// `docker stop`'s default grace period: SIGTERM, then SIGKILL after this.
constexpr auto stop_grace = 10s;
constexpr const char* hostname = "ci-container-host";

/// Whatever the test started in the private dockerd, removed however the test ends.
struct leftovers {
    ci::shared_parts& p;
    std::vector<std::string> containers;
    std::vector<std::string> volumes;
    std::vector<std::string> tags;  ///< crash containers' tags: their committed images
    std::string image;

    explicit leftovers(ci::shared_parts& parts) : p(parts) {}
    leftovers(const leftovers&) = delete;
    leftovers& operator=(const leftovers&) = delete;
    ~leftovers()
    {
        try {
            for (const auto& c : containers)
                p.dockerd.docker({"rm", "-f", c}, 60s);
            for (const auto& v : volumes)
                p.dockerd.docker({"volume", "rm", "-f", v}, 60s);
            for (const auto& t : tags)
                ci::remove_local_images_tagged(p, t);
            if (!image.empty())
                p.dockerd.docker({"rmi", "-f", image}, 60s);
        } catch (...) {
        }
    }
};

/// The notification run_sinks printed for `tag` on `sink` ("kafka" or "rest", answered 2xx).
std::optional<json::object>
notification(const std::string& sinks_log, const std::string& sink, const std::string& tag)
{
    std::optional<json::object> found;
    for (auto& line : sink_lines(sinks_log))
        if (line.sink == sink && line.body && ci::string_field(*line.body, "tag") == tag)
            found = std::move(line.body);
    return found;
}

bool pushed(const json::object& n)
{
    return pushed_is(n, true);
}

/// The daemon container's `sh -c` script: run_sinks in the background on the container's own
/// loopback, its stdout and stderr in the mounted /mnt/out; once it said where it listens, the
/// two sink variables are exported from that and the script becomes "$@", the image's own
/// entrypoint. Nothing on stderr unless run_sinks does not start (30 s). The log exists before
/// run_sinks starts, so that the first grep never looks for a file not yet made.
constexpr const char* start_sinks_then_entrypoint = R"(log=/mnt/out/sinks.log
: >"$log"
/mnt/ci/run_sinks >>"$log" 2>/mnt/out/sinks.err &
sinks=$!
i=0
until grep -q '^KAFKA_BROKERS=' "$log" && grep -q '^REST_URL=' "$log"; do
    i=$((i + 1))
    if [ "$i" -gt 300 ] || ! kill -0 "$sinks" 2>/dev/null; then
        echo "run_sinks did not say where it listens:" >&2
        cat "$log" /mnt/out/sinks.err >&2
        exit 1
    fi
    sleep 0.1
done
CORE_INTERCEPTOR_KAFKA_BROKERS=$(sed -n 's/^KAFKA_BROKERS=//p' "$log")
CORE_INTERCEPTOR_REST_URL=$(sed -n 's/^REST_URL=//p' "$log")
export CORE_INTERCEPTOR_KAFKA_BROKERS CORE_INTERCEPTOR_REST_URL
exec "$@"
)";

}  // namespace

TEST_CASE("container: the image of scripts/build-image.sh, end to end")
{
    const auto t_all = steady::now();
    phase_log phases{"container"};

    ci::shared_parts* p = ci::parts();
    if (!p)
        return;

    // --- prerequisites -------------------------------------------------------------------
    if (!packaging_host("the image's rootfs is"))
        return;
    const fs::path run_sinks = run_sinks_binary();
    const auto script =
        fs::path(env("CORE_INTERCEPTOR_SOURCE_ROOT")) / "scripts" / "build-image.sh";
    REQUIRE_MESSAGE(
        fs::is_regular_file(script), "no ", script.string(), " (CORE_INTERCEPTOR_SOURCE_ROOT)");

    const fs::path deb = project_deb(phases);

    // What the containers get from the host, mounted read-only.
    ts::temp_dir work("ci-image-");
    const auto in = work / "in";
    fs::create_directories(in);
    fs::copy_file(run_sinks, in / "run_sinks");
    const auto config_file = in / "core_interceptor.conf";
    std::ofstream(config_file) << "# the mounted configuration file\nregistry = "
                               << p->registry.address() << "\npush-retry-window = 30\n";
    // Private, as the daemon requires of a file that may hold secrets (root owns it here).
    fs::permissions(config_file, fs::perms::owner_read | fs::perms::owner_write);

    leftovers left(*p);
    auto& d = p->dockerd;

    // --- 1. the image ----------------------------------------------------------------------
    const std::string image = ci::unique_name("image") + ":test";
    {
        const auto t0 = steady::now();
        const std::string cache_env = env("CORE_INTERCEPTOR_INSTALLED_CACHE");
        const fs::path cache = cache_env.empty() ? work.path() : fs::path(cache_env);
        const auto log = work / "build-image.log";
        left.image = image;
        auto st = run_logged({"bash", script.string(), image},
                             log,
                             image_build_timeout,
                             {{"DEB", deb.string()},
                              {"CACHE_DIR", cache.string()},
                              {"DOCKER_HOST", d.host()},
                              {"DOCKER_CONFIG", (d.dir() / "cli").string()},
                              {"SKIP_DEPS", "1"}});
        const auto text = ts::read_file(log);
        if (!st || !st->success())
            FAIL("scripts/build-image.sh ",
                 (st ? "failed (" + st->describe() + ")" : "timed out"),
                 "; its log ends:\n",
                 ts::tail_lines(text, 40));
        const bool cached = text.find("rootfs cached") != std::string::npos;
        phases.add(std::string("image build (") + (cached ? "rootfs cached" : "mmdebstrap") +
                   ", import): " + seconds(ms_since(t0)));
    }
    {
        auto r = d.docker({"image",
                           "inspect",
                           "-f",
                           "{{.Size}}|{{json .Config.Healthcheck}}|{{json .Config.Volumes}}|"
                           "{{json .Config.Entrypoint}}",
                           image},
                          60s);
        REQUIRE_MESSAGE(r.ok(), "docker image inspect ", image, ": ", r.err);
        const auto fields = trim(r.out);
        INFO("image config: ", fields);
        const auto size = std::atoll(fields.c_str());
        CHECK(fields.find("core_interceptor-healthcheck") != std::string::npos);
        CHECK(fields.find("\"/var/lib/core_interceptor\"") != std::string::npos);
        CHECK(size > 0);
        phases.add("image size: " + std::to_string(size / (1024 * 1024)) + " MiB (" +
                   std::to_string(size) + " bytes)");
    }

    // --- 2. an unknown CORE_INTERCEPTOR_ variable: exit 2, naming it ---------------------------
    {
        auto r = d.docker(
            ts::run_isolated({"--rm", "-e", "CORE_INTERCEPTOR_NO_SUCH_OPTION=1", image}), 60s);
        CHECK_MESSAGE((r.status.exited && r.status.code == 2),
                      "an unknown variable: ",
                      r.status.describe(),
                      "\n",
                      r.out,
                      r.err);
        CHECK_MESSAGE(r.out.find("CORE_INTERCEPTOR_NO_SUCH_OPTION") != std::string::npos,
                      "the message does not name the variable (on stdout): ",
                      r.out,
                      r.err);
    }

    // --- 3. the daemon, as README runs it, with the sinks on its loopback ---------------------
    std::vector<std::string> entrypoint;
    {
        auto r = d.docker({"image", "inspect", "-f", "{{json .Config.Entrypoint}}", image}, 60s);
        REQUIRE_MESSAGE(r.ok(), "docker image inspect ", image, ": ", r.err);
        const auto parsed = json::parse(trim(r.out));
        if (parsed.is_array())
            for (const auto& arg : parsed.as_array())
                if (arg.is_string())
                    entrypoint.emplace_back(arg.as_string());
        REQUIRE_MESSAGE(!entrypoint.empty(), "the image has no entrypoint: ", r.out);
    }
    // run_sinks' output, written in the container, read here.
    const auto out = work / "out";
    fs::create_directories(out);
    const auto sinks_log_file = out / "sinks.log";
    auto sinks_log = [&] { return ts::read_file(sinks_log_file); };

    const auto name = ci::unique_name("image-daemon");
    const auto volume = ci::unique_name("image-state");
    left.containers.push_back(name);
    left.volumes.push_back(volume);
    const auto t_start = steady::now();
    {
        // --network none: the container's own loopback only, where the script starts run_sinks
        // before it execs the image's entrypoint (then the daemon, PID 1) with the sinks'
        // addresses in CORE_INTERCEPTOR_KAFKA_BROKERS and CORE_INTERCEPTOR_REST_URL.
        std::vector<std::string> args = ts::run_isolated(
            {"-d",
             "--name",
             name,
             "--restart",
             "unless-stopped",
             "-v",
             d.socket_path().string() + ":/var/run/docker.sock",
             "-v",
             volume + ":/var/lib/core_interceptor",
             "-v",
             config_file.string() + ":/etc/core_interceptor/core_interceptor.conf:ro",
             "-v",
             in.string() + ":/mnt/ci:ro",
             "-v",
             out.string() + ":/mnt/out",
             "-e",
             std::string("CORE_INTERCEPTOR_HOSTNAME=") + hostname,
             "--entrypoint",
             "sh",
             image,
             "-c",
             start_sinks_then_entrypoint,
             "core_interceptor-sinks"});
        args.insert(args.end(), entrypoint.begin(), entrypoint.end());
        auto r = d.docker(args, 60s);
        REQUIRE_MESSAGE(r.ok(), "docker run of the image: ", r.err);
    }
    auto daemon_logs = [&] { return d.docker({"logs", name}, 30s); };
    const bool sinks_up = ci::wait_until(
        [&] {
            const auto lines = lines_of(sinks_log());
            auto said = [&](const char* prefix) {
                return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
                    return starts_with(line, prefix) && line.size() > std::strlen(prefix);
                });
            };
            return said("KAFKA_BROKERS=") && said("REST_URL=");
        },
        30s);
    if (!sinks_up) {
        auto logs = daemon_logs();
        FAIL("run_sinks did not say where it listens:\n",
             sinks_log(),
             ts::read_file(out / "sinks.err"),
             "\ndocker logs:\n",
             logs.out,
             logs.err);
    }

    // --- 4. healthy ----------------------------------------------------------------------------
    {
        std::string health;
        long long healthy_ms = -1;
        ci::wait_until(
            [&] {
                health = trim(ci::inspect(*p, name, "{{.State.Status}} {{.State.Health.Status}}")
                                  .value_or("?"));
                if (health == "running healthy")
                    healthy_ms = ms_since(t_start);
                return healthy_ms >= 0 || starts_with(health, "exited");
            },
            90s,
            500ms);
        const auto probes = ci::inspect(*p, name, "{{json .State.Health.Log}}").value_or("");
        const auto logs = daemon_logs();
        REQUIRE_MESSAGE(healthy_ms >= 0,
                        "not healthy: ",
                        health,
                        "\nprobes: ",
                        probes,
                        "\ndocker logs:\n",
                        ts::tail_lines(logs.out + logs.err, 30));
        phases.add("healthy after " + seconds(healthy_ms) + " (docker run to health " +
                   "status healthy; the image probes every 15 s)");
        CHECK_MESSAGE(probes.find("200 ok") != std::string::npos, probes);
        // The script exec'd the image's entrypoint, which exec'd the daemon: PID 1.
        auto pid1 = d.docker({"exec", name, "readlink", "/proc/1/exe"}, 30s);
        CHECK_MESSAGE(trim(pid1.out) == "/usr/sbin/core_interceptor",
                      "PID 1 of the container: ",
                      pid1.out,
                      pid1.err);
    }

    // --- 5. a crash: pushed and announced -------------------------------------------------------
    const auto not_before = std::chrono::system_clock::now();
    const auto crashed =
        ci::start_container(*p,
                            {"core", ci::crash_with_core(), 139, std::string("core")},
                            ci::unique_name("image-core"));
    left.containers.push_back(crashed.name);
    left.tags.push_back(crashed.tag());
    ci::wait_exited(*p, {crashed});
    const auto conv = ci::wait_all(
        {{"registry",
          [&] {
              try {
                  const auto tags = p->registry.tags(ci::test_repo);
                  return std::find(tags.begin(), tags.end(), crashed.tag()) != tags.end();
              } catch (const std::exception&) {
                  return false;
              }
          }},
         {"Kafka",
          [&] {
              auto n = notification(sinks_log(), "kafka", crashed.tag());
              return n && pushed(*n);
          }},
         {"REST",
          [&] {
              auto n = notification(sinks_log(), "rest", crashed.tag());
              return n && pushed(*n);
          }}},
        90s);
    phases.add("crash: " + conv.describe());
    {
        const auto logs = daemon_logs();
        const auto sinks_output = sinks_log();
        REQUIRE_MESSAGE(conv.converged,
                        "the crash was not pushed and announced: ",
                        conv.describe(),
                        "\nsinks:\n",
                        sinks_output,
                        "\ndaemon:\n",
                        ts::tail_lines(logs.out + logs.err, 30));
        const ci::expected_notification e{ci::test_repo,
                                          crashed.tag(),
                                          hostname,
                                          "core",
                                          true,
                                          p->registry.address() + "/" + ci::test_repo + ":" +
                                              crashed.tag()};
        for (const char* sink : {"kafka", "rest"}) {
            INFO("sink ", sink);
            if (auto n = notification(sinks_output, sink, crashed.tag()))
                ci::check_notification(*n, e, not_before);
        }
        CHECK_MESSAGE(
            ci::wait_until([&] { return ci::local_images_tagged(*p, crashed.tag()).empty(); }, 30s),
            "the pushed image is still on the node");

        // Logs on stdout: the records are there, nothing on stderr.
        CHECK_MESSAGE(ci::contains_nocase(logs.out, "watching events"),
                      "no \"watching events\" on the container's stdout:\n",
                      logs.out);
        CHECK_MESSAGE(trim(logs.err).empty(), "the container wrote to stderr:\n", logs.err);
    }

    // --- 6. the state directory is the volume ----------------------------------------------
    {
        const auto mounts =
            ci::inspect(*p, name, "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}};{{end}}")
                .value_or("");
        CHECK_MESSAGE(mounts.find("volume " + volume + " /var/lib/core_interceptor;") !=
                          std::string::npos,
                      mounts);
        auto ls = d.docker({"exec", name, "ls", "-A", "/var/lib/core_interceptor"}, 30s);
        CHECK_MESSAGE(
            (ls.ok() && !trim(ls.out).empty()), "nothing in the state volume: ", ls.out, ls.err);
    }

    // --- 7. docker stop: exit 0 within the grace period --------------------------------------
    {
        const auto t0 = steady::now();
        auto r = d.docker({"stop", "-t", std::to_string(stop_grace.count()), name}, 60s);
        const auto stop_ms = ms_since(t0);
        CHECK_MESSAGE(r.ok(), "docker stop: ", r.err);
        const auto state =
            trim(ci::inspect(*p,
                             name,
                             "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}} "
                             "{{.RestartCount}}")
                     .value_or("?"));
        const auto logs = daemon_logs();
        INFO("docker logs ends:\n", ts::tail_lines(logs.out + logs.err, 10));
        CHECK(state == "exited 0 false 0");
        CHECK_MESSAGE(stop_ms <
                          std::chrono::duration_cast<std::chrono::milliseconds>(stop_grace).count(),
                      "docker stop took ",
                      stop_ms,
                      " ms: the grace period ran out");
        phases.add("docker stop: " + std::to_string(stop_ms) + " ms, then " + state +
                   " (status, exit code, OOM-killed, restarts)");
        // unless-stopped: a container stopped by hand stays stopped.
        std::this_thread::sleep_for(2s);
        CHECK(trim(ci::inspect(*p, name, "{{.State.Status}}").value_or("?")) == "exited");
    }
    phases.add("whole test: " + seconds(ms_since(t_all)));
    MESSAGE("phases:", phases.summary());
}
