// SPDX-License-Identifier: MIT
// Issue 12: real crashes (busybox's SIGSEGV, SIGABRT and SIGBUS; programs built with the host's
// gcc: static with threads, dynamic crashing in a shared library) are announced with what their
// cores say, a signature equal for the same crash only, and past --max-per-signature the same
// crash is announced as a duplicate and not pushed.
#include "harness.hpp"
#include "scene.hpp"
#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"
#include "support/net.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

namespace core_interceptor::integration {
namespace {

namespace ts = core_interceptor::test_support;
namespace fs = std::filesystem;
namespace json = boost::json;

using namespace std::chrono_literals;

// A handful of containers dying one after the other: seconds; a loaded CI machine gets more.
constexpr auto notification_timeout = 120s;
constexpr auto quiet_period = 5s;
constexpr const char* crash_image = "crashy:1.0";
constexpr const char* crash_repo = "crashy_1.0";

constexpr const char* static_source = R"(#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
static pthread_barrier_t ready;
static void *idle(void *arg) { (void)arg; pthread_barrier_wait(&ready); for (;;) pause(); return 0; }
__attribute__((noinline)) void crash_here(volatile int *p) { *p = 42; }
int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    pthread_barrier_init(&ready, 0, (unsigned)n);
    for (int i = 1; i < n; ++i) { pthread_t t; pthread_create(&t, 0, idle, 0); }
    pthread_barrier_wait(&ready);
    crash_here((volatile int *)0);
    return 0;
}
)";
constexpr const char* library_source =
    R"(__attribute__((noinline)) void crashy_fault(volatile int *p) { *p = 7; }
void crashy_run(void) { crashy_fault((volatile int *)0); }
)";
constexpr const char* dynamic_source = R"(void crashy_run(void);
int main(void) { crashy_run(); return 0; }
)";

/// Fails under CI=true, else says why and gives false: the test returns.
bool part(bool ok, const std::string& why)
{
    if (ok)
        return true;
    if (parts_required())
        FAIL(why);
    MESSAGE("skipped: ", why);
    return false;
}

/// `gcc -O0 FLAGS -o OUT SRC EXTRA...`
bool build(const std::string& out, const fs::path& src, std::vector<std::string> flags)
{
    std::vector<std::string> args{"gcc", "-O0", "-o", out, src.string()};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = ts::run(args, 120s);
    return part(r.ok(), "cannot build the crash programs with the host's gcc: " + r.err);
}

/// Copies the host's `from` (links resolved) to `rootfs/to`.
bool copy_in(const fs::path& from, const fs::path& rootfs, const std::string& to)
{
    std::error_code ec;
    fs::copy_file(fs::canonical(from, ec), rootfs / to, ec);
    return part(!ec, "cannot copy " + from.string() + " into the crash image: " + ec.message());
}

/// `crashy:1.0`: busybox, /app/crashy_static (static, pthreads), /app/crashy_dyn with
/// /app/libcrashy.so, and the loader and C library it needs, copied from the host.
bool build_crash_image(shared_parts& p, const fs::path& dir)
{
    for (auto [name, text] : {std::pair{"crashy_static.c", static_source},
                              std::pair{"libcrashy.c", library_source},
                              std::pair{"crashy_dyn.c", dynamic_source}})
        std::ofstream(dir / name) << text;
    const auto rootfs = dir / "rootfs";
    for (const char* d :
         {"app", "bin", "tmp", "lib64", "lib/x86_64-linux-gnu", "proc", "sys", "dev", "etc"})
        fs::create_directories(rootfs / d);
    fs::permissions(rootfs / "tmp", fs::perms::all | fs::perms::sticky_bit);
    const auto app = (rootfs / "app").string();
    const std::vector<std::string> dyn{"-L" + app,
                                       "-lcrashy",
                                       "-Wl,-rpath,/app:/lib/x86_64-linux-gnu",
                                       "-Wl,--dynamic-linker=/lib64/ld-linux-x86-64.so.2"};
    if (!build(app + "/crashy_static", dir / "crashy_static.c", {"-static", "-pthread"}) ||
        !build(app + "/libcrashy.so", dir / "libcrashy.c", {"-shared", "-fPIC"}) ||
        !build(app + "/crashy_dyn", dir / "crashy_dyn.c", dyn) ||
        !copy_in("/lib64/ld-linux-x86-64.so.2", rootfs, "lib64/ld-linux-x86-64.so.2") ||
        !copy_in("/lib/x86_64-linux-gnu/libc.so.6", rootfs, "lib/x86_64-linux-gnu/libc.so.6") ||
        !copy_in("/bin/busybox", rootfs, "bin/busybox"))
        return false;
    fs::create_symlink("busybox", rootfs / "bin/sh");
    fs::permissions(rootfs / "lib64/ld-linux-x86-64.so.2",
                    fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);

    const auto tarball = (dir / "rootfs.tar").string();
    auto t = ts::run({"tar",
                      "--numeric-owner",
                      "--owner=0",
                      "--group=0",
                      "-C",
                      rootfs.string(),
                      "-cf",
                      tarball,
                      "."},
                     60s);
    REQUIRE_MESSAGE(t.ok(), "tar: ", t.err);
    auto r = p.dockerd.docker({"import", tarball, crash_image}, 120s);
    REQUIRE_MESSAGE(r.ok(), "docker import: ", r.err);
    return true;
}

/// The crash image, built once per run in the private dockerd's directory.
bool have_crash_image(shared_parts& p)
{
    static bool built = false;
    if (built)
        return true;
    const auto dir = p.dockerd.dir() / "crashy";
    fs::remove_all(dir);
    fs::create_directories(dir);
    built = build_crash_image(p, dir);
    return built;
}

/// A crash a container is started to have, and what its core must say.
struct crash_case {
    std::string what;
    container_spec spec;
    int signal;
    std::string signal_name;
    std::string command;
    std::string command_line;
    std::string executable;
    int threads;
    std::string module;
};

std::vector<std::string> busybox_kill(const std::string& sig)
{
    // The inner shell is not PID 1 (see crash_with_core), so the signal kills it.
    return shell("sh -c \"kill -" + sig + " \\$\\$\"; exit $?");
}

std::vector<crash_case> crash_cases()
{
    auto bb = [](const char* sig, int num, int code) {
        const std::string what = std::string("busybox ") + sig;
        return crash_case{what,
                          {what, busybox_kill(sig), code, "core"},
                          num,
                          std::string("SIG") + sig,
                          "sh",
                          std::string("sh -c kill -") + sig + " $$",
                          "/bin/busybox",
                          1,
                          "/bin/busybox"};
    };
    // The executable is the command line's first word.
    auto program = [](const std::string& what,
                      const std::string& line,
                      int threads,
                      const std::string& module) {
        container_spec spec{what, shell(line + "; exit $?"), 139, "core", {}, crash_image};
        const auto exe = line.substr(0, line.find(' '));
        return crash_case{
            what, spec, 11, "SIGSEGV", exe.substr(exe.rfind('/') + 1), line, exe, threads, module};
    };
    return {bb("SEGV", 11, 139),
            bb("SEGV", 11, 139),
            bb("ABRT", 6, 134),
            bb("BUS", 7, 135),
            program("static, 4 threads", "/app/crashy_static 4", 4, "/app/crashy_static"),
            program("dynamic, crash in a library", "/app/crashy_dyn", 1, "/app/libcrashy.so")};
}

std::int64_t num(const json::object& o, const char* k)
{
    auto* v = o.if_contains(k);
    return v && v->is_int64() ? v->as_int64() : -1;
}

/// The notifications the REST sink received, by tag.
std::map<std::string, json::object> by_tag(const ts::http_sink& rest)
{
    std::map<std::string, json::object> out;
    for (const auto& r : rest.requests())
        if (auto n = parse_notification(r.body))
            out[string_field(*n, "tag")] = *n;
    return out;
}

void check_crash(const crash_case& c, const json::object& n)
{
    INFO("crash: ", c.what, "; notification: ", json::serialize(n));
    REQUIRE(n.contains("crash"));
    const auto& k = n.at("crash").as_object();
    CHECK(num(k, "signal") == c.signal);
    CHECK(string_field(k, "signal_name") == c.signal_name);
    CHECK(string_field(k, "command") == c.command);
    CHECK(string_field(k, "command_line") == c.command_line);
    CHECK(string_field(k, "executable") == c.executable);
    CHECK(num(k, "threads") == c.threads);
    REQUIRE(k.contains("frame"));
    CHECK(string_field(k.at("frame").as_object(), "module") == c.module);
    CHECK(string_field(k.at("frame").as_object(), "offset").rfind("0x", 0) == 0);
    CHECK(string_field(k, "signature").size() >= 8);
    CHECK(n.at("dumps").as_array().at(0).at("crash") == n.at("crash"));
}

/// Checks each container's notification against its case; their signatures, by tag. The same
/// crash in two containers (cases 0 and 1) shares a signature; different crashes do not.
std::map<std::string, std::string> check_crashes(const std::vector<crash_case>& cases,
                                                 const std::vector<container>& cs,
                                                 const ts::http_sink& rest)
{
    auto notes = by_tag(rest);
    std::map<std::string, std::string> signature;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        auto it = notes.find(cs[i].tag());
        REQUIRE_MESSAGE(it != notes.end(), "no notification for ", cases[i].what);
        check_crash(cases[i], it->second);
        CHECK(it->second.at("pushed").as_bool());
        signature[cs[i].tag()] = string_field(it->second.at("crash").as_object(), "signature");
        MESSAGE(cases[i].what, ": ", json::serialize(it->second.at("crash")));
    }
    CHECK(signature[cs[0].tag()] == signature[cs[1].tag()]);
    std::set<std::string> distinct;
    for (std::size_t i = 1; i < cs.size(); ++i)
        distinct.insert(signature[cs[i].tag()]);
    CHECK(distinct.size() == cs.size() - 1);
    return signature;
}

/// The labels of the dynamic program's image, and the commit's log line.
void check_labels_and_log(shared_parts& p,
                          const daemon_under_test& daemon,
                          const container& dyn,
                          const std::string& signature)
{
    const std::string ref = p.registry.address() + "/" + crash_repo + ":" + dyn.tag();
    auto labels = p.dockerd.docker({"image",
                                    "inspect",
                                    "-f",
                                    "{{index .Config.Labels \"core_interceptor.signal\"}} "
                                    "{{index .Config.Labels \"core_interceptor.executable\"}} "
                                    "{{index .Config.Labels \"core_interceptor.signature\"}}",
                                    ref});
    CHECK(labels.out == "SIGSEGV /app/crashy_dyn " + signature + "\n");
    CHECK(
        contains_nocase(daemon.log(), "which died of SIGSEGV in /app/crashy_dyn (libcrashy.so+0x"));
}

/// Crashes by signal in /metrics.
void check_crash_metrics(unsigned short port, int segv, int abrt, int bus)
{
    auto page = ts::http_get(port, "/metrics", 5s);
    REQUIRE(page);
    INFO("metrics:\n", page->body);
    for (auto [signal, n] : {std::pair{"SIGSEGV", segv}, {"SIGABRT", abrt}, {"SIGBUS", bus}})
        CHECK(page->body.find(std::string("core_interceptor_crashes_total{signal=\"") + signal +
                              "\"} " + std::to_string(n)) != std::string::npos);
}

}  // namespace

TEST_CASE_FIXTURE(
    scene,
    "crash triage: real crashes are announced with their signal, program, threads, frame and "
    "signature")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    if (!have_crash_image(*p))
        return;

    // The usual command line has no per-signature limit: this test sets one.
    auto args = usual_args();
    set_option(args, "--max-per-signature", "2");
    const auto port = ts::free_port();
    args.insert(args.end(),
                {"--keep-image", "--metrics-address", "127.0.0.1:" + std::to_string(port)});
    auto& daemon = watch(args);
    INFO("daemon log:\n", daemon.log_tail());

    // One after the other, so that the two identical crashes are both counted before the third.
    const auto cases = crash_cases();
    std::vector<container> cs;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        cs.push_back(start_container(*p, cases[i].spec, unique_name("crash" + std::to_string(i))));
        wait_exited(*p, {cs.back()});
    }
    CHECK_MESSAGE(
        rest.wait_for(cases.size(), notification_timeout), "REST got ", rest.requests().size());
    const auto signature = check_crashes(cases, cs, rest);
    check_labels_and_log(*p, daemon, cs[5], signature.at(cs[5].tag()));

    // --- Past --max-per-signature 2: the third identical crash is a duplicate ---------------
    auto third = start_container(*p, cases[0].spec, unique_name("crash-dup"));
    wait_exited(*p, {third});
    CHECK_MESSAGE(
        rest.wait_for(cases.size() + 1, notification_timeout), "REST got ", rest.requests().size());
    std::this_thread::sleep_for(quiet_period);
    const auto notes = by_tag(rest);
    REQUIRE(notes.count(third.tag()));
    const auto& dup = notes.at(third.tag());
    INFO("duplicate: ", json::serialize(dup));
    check_crash(cases[0], dup);
    CHECK_FALSE(dup.at("pushed").as_bool());
    CHECK(string_field(dup, "duplicate_of") ==
          p->registry.address() + "/" + test_repo + ":" + cs[1].tag());
    CHECK(string_field(dup.at("crash").as_object(), "signature") == signature.at(cs[0].tag()));
    const auto tags = p->registry.tags(test_repo);
    CHECK(std::find(tags.begin(), tags.end(), third.tag()) == tags.end());
    CHECK(std::find(tags.begin(), tags.end(), cs[1].tag()) != tags.end());
    CHECK(local_images_tagged(*p, third.tag()).empty());
    CHECK(rest.requests().size() == cases.size() + 1);
    // Five SIGSEGV deaths (two of busybox, both programs, the duplicate), one SIGABRT, one SIGBUS.
    check_crash_metrics(port, 5, 1, 1);
    stop_cleanly(daemon);
    for (const auto& c : cs)
        remove_local_images_tagged(*p, c.tag());
}

TEST_CASE_FIXTURE(scene, "crash triage: --dry-run --process prints what the container died of")
{
    const auto bin = daemon_binary();
    if (!p)
        return;
    if (!have_crash_image(*p))
        return;

    const auto c = crash_cases()[4];  // static, 4 threads
    auto crashed = start_container(*p, c.spec, unique_name("crash-process"));
    wait_exited(*p, {crashed});
    auto args = usual_args();
    args.insert(args.begin(), bin.string());
    args.insert(
        args.end(),
        {"--state-dir", (work.path() / "state").string(), "--dry-run", "--process", crashed.name});
    auto r = ts::run(args, 180s);
    INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.status.describe() == "exit 0");
    CHECK(r.out.find("process " + crashed.name + ": " + crashed.name + " (" + crashed.tag() +
                     "): dump found (dry run: nothing done) (SIGSEGV in /app/crashy_static "
                     "(crashy_static+0x") != std::string::npos);
    CHECK(r.err.find("dry run: would commit container " + crashed.name + " (" + crashed.tag() +
                     "), which died of SIGSEGV in /app/crashy_static (crashy_static+0x") !=
          std::string::npos);
    // The notification it would send carries the crash object.
    CHECK(r.err.find("\"crash\":{\"signal\":11,\"signal_name\":\"SIGSEGV\"") != std::string::npos);
    CHECK(rest.requests().empty());
    const auto tags = p->registry.tags(crash_repo);
    CHECK(std::find(tags.begin(), tags.end(), crashed.tag()) == tags.end());
}

}  // namespace core_interceptor::integration
