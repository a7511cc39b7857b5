// SPDX-License-Identifier: MIT
#include "config/options.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

using namespace core_interceptor;

namespace {

struct outcome {
    std::variant<config::app_config, int> parsed;
    std::string out;
    std::string err;
};

/// The command line `args` with the environment `env` (NAME=VALUE), never the test's own.
outcome parse(std::vector<std::string> args, const std::vector<std::string>& env = {})
{
    args.insert(args.begin(), "core_interceptor");
    std::vector<const char*> argv;
    for (auto& a : args)
        argv.push_back(a.c_str());
    std::vector<const char*> envp;
    for (auto& e : env)
        envp.push_back(e.c_str());
    envp.push_back(nullptr);
    std::ostringstream out, err;
    auto r = config::parse(static_cast<int>(argv.size()), argv.data(), envp.data(), out, err);
    return {std::move(r), out.str(), err.str()};
}

std::string temp_file(const std::string& content)
{
    char name[] = "/tmp/ci-config-XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::ofstream(name) << content;
    return name;
}

}  // namespace

TEST_CASE("config: defaults match SPEC §2")
{
    auto r = parse({"--docker-host", "unix:///var/run/docker.sock"});
    REQUIRE(std::holds_alternative<config::app_config>(r.parsed));
    const auto& c = std::get<config::app_config>(r.parsed);
    CHECK(c.max_concurrency == 4);
    CHECK(c.max_probes == 4);
    // Keep-alive: an idle Engine connection for each probe (two lanes) and capture, and 2 more.
    CHECK(c.docker.max_idle_connections == 14);
    CHECK(c.docker.host == "unix:///var/run/docker.sock");
    CHECK_FALSE(c.pipeline.registry);
    CHECK_FALSE(c.kafka);
    CHECK_FALSE(c.rest);
    CHECK(c.pipeline.dump_patterns ==
          std::vector<std::string>{"core", "core.*", "*.core", "*.hprof"});
    CHECK(c.logging.min_level == log::level::info);
    CHECK_FALSE(c.pipeline.keep_image);
}

TEST_CASE("config: --help and --version exit 0")
{
    auto h = parse({"--help"});
    CHECK(std::get<int>(h.parsed) == 0);
    CHECK(h.out.find("--registry") != std::string::npos);
    auto v = parse({"--version"});
    CHECK(std::get<int>(v.parsed) == 0);
    CHECK(v.out.starts_with("core_interceptor "));
}

TEST_CASE("config: a bad value gives one line naming the option and exit 2")
{
    struct bad {
        std::vector<std::string> args;
        const char* option;
    };
    const bad cases[] = {
        {{"--max-concurrency", "abc"}, "max-concurrency"},
        {{"--max-concurrency", "0"}, "max-concurrency"},
        {{"--max-probes", "0"}, "max-probes"},
        {{"--max-probes", "1025"}, "max-probes"},
        {{"--log-level", "loud"}, "log-level"},
        {{"-v", "x"}, "verbosity"},
        {{"--registry", "http://reg:5000"}, "registry"},
        {{"--docker-host", "ftp://x"}, "docker-host"},
        {{"--rest-url", "ftp://x/y"}, "rest-url"},
        {{"--rest-url", "http://127.0.0.1:1/x", "--rest-header", "no colon"}, "rest-header"},
        {{"--kafka-brokers", "127.0.0.1:9092", "-X", "novalue"}, "kafka-property"},
        {{"--registry", "127.0.0.1:5000", "--registry-auth", "/nonexistent/auth.json"},
         "registry-auth"},
        {{"--no-such-option"}, "no-such-option"},
        {{"--config", "/nonexistent/core_interceptor.conf"}, "config"},
        {{"--dump-pattern", "a/b"}, "dump-pattern"},
        {{"--process"}, "process"},
        {{"--process", ""}, "process"},
        {{"--process", "ok", "bad/name"}, "process"},
        {{"--dump-path", "dumps"}, "dump-path"},
        {{"--dump-path", "/"}, "dump-path"},
        {{"--max-dump-size", "2X"}, "max-dump-size"},
        {{"--max-dump-size", "-1"}, "max-dump-size"},
        {{"--log-format", "yaml"}, "log-format"},
        {{"--log-format", ""}, "log-format"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.option);
        auto r = parse(c.args);
        REQUIRE(std::holds_alternative<int>(r.parsed));
        CHECK(std::get<int>(r.parsed) == 2);
        CHECK(r.err.find(c.option) != std::string::npos);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
}

TEST_CASE("config: the INI file fills options and the command line wins")
{
    auto file =
        temp_file("registry = 127.0.0.1:5000/cores\nmax-concurrency = 7\nhostname = from-file\n"
                  "keep-image = true\ndump-pattern = *.dmp\n");
    auto r = parse({"--config", file, "--hostname", "from-cli"});
    std::remove(file.c_str());
    REQUIRE(std::holds_alternative<config::app_config>(r.parsed));
    const auto& c = std::get<config::app_config>(r.parsed);
    CHECK(c.pipeline.hostname == "from-cli");
    CHECK(c.max_concurrency == 7);
    REQUIRE(c.pipeline.registry);
    CHECK(c.pipeline.registry->host == "127.0.0.1:5000");
    CHECK(c.pipeline.registry->prefix == "cores");
    CHECK(c.pipeline.keep_image);
    CHECK(c.pipeline.dump_patterns == std::vector<std::string>{"*.dmp"});
    CHECK(c.pipeline.registry_auth == "e30=");
}

TEST_CASE("config: sinks, headers and verbosity")
{
    auto r = parse({"--kafka-brokers",
                    "127.0.0.1:9092",
                    "-X",
                    "acks=all",
                    "--rest-url",
                    "https://127.0.0.1:8443/hook",
                    "--rest-header",
                    "Authorization: Bearer s3cret",
                    "-v",
                    "2"});
    REQUIRE(std::holds_alternative<config::app_config>(r.parsed));
    const auto& c = std::get<config::app_config>(r.parsed);
    REQUIRE(c.kafka);
    CHECK(c.kafka->topic == "cores");
    CHECK(c.kafka->properties == std::vector<std::pair<std::string, std::string>>{{"acks", "all"}});
    REQUIRE(c.rest);
    CHECK(c.rest->headers ==
          std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer s3cret"}});
    CHECK(c.logging.min_level == log::level::trace);
}

TEST_CASE("config: --metrics-address takes an IP address and a port; unset opens nothing")
{
    {
        auto r = parse({});
        REQUIRE(std::holds_alternative<config::app_config>(r.parsed));
        CHECK_FALSE(std::get<config::app_config>(r.parsed).metrics);
    }
    struct good_case {
        const char* text;
        const char* host;
        unsigned port;
    };
    for (const auto& g : {good_case{"127.0.0.1:9464", "127.0.0.1", 9464},
                          good_case{"0.0.0.0:1", "0.0.0.0", 1},
                          good_case{"[::1]:65535", "::1", 65535}}) {
        INFO(g.text);
        auto r = parse({"--metrics-address", g.text});
        REQUIRE(std::holds_alternative<config::app_config>(r.parsed));
        const auto& m = std::get<config::app_config>(r.parsed).metrics;
        REQUIRE(m);
        CHECK(m->host == g.host);
        CHECK(m->port == g.port);
    }
    for (const char* bad : {"nope",
                            "127.0.0.1",
                            "127.0.0.1:",
                            ":9464",
                            "127.0.0.1:0",
                            "127.0.0.1:65536",
                            "127.0.0.1:94x",
                            "localhost:9464",
                            "::1:9464",
                            "[::1]",
                            "[nope]:9464",
                            "1.2.3:80"}) {
        INFO(bad);
        auto r = parse({"--metrics-address", bad});
        REQUIRE(std::holds_alternative<int>(r.parsed));
        CHECK(std::get<int>(r.parsed) == 2);
        CHECK(r.err.find("--metrics-address") != std::string::npos);
        CHECK(r.err.find(bad) != std::string::npos);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
}

TEST_CASE("config: --process takes several names, repeatable; --dry-run is a switch")
{
    auto r = parse({"--process",
                    "crashy",
                    "3bb1f33bb805",
                    "--dry-run",
                    "--process",
                    "/other",
                    "--max-concurrency",
                    "2",
                    "--max-probes",
                    "9"});
    REQUIRE(std::holds_alternative<config::app_config>(r.parsed));
    const auto& c = std::get<config::app_config>(r.parsed);
    CHECK(c.process == std::vector<std::string>{"crashy", "3bb1f33bb805", "other"});
    CHECK(c.pipeline.dry_run);
    CHECK(c.max_concurrency == 2);
    CHECK(c.max_probes == 9);
    CHECK(c.docker.max_idle_connections == 22);

    auto d = parse({"--docker-host", "unix:///var/run/docker.sock"});
    REQUIRE(std::holds_alternative<config::app_config>(d.parsed));
    CHECK(std::get<config::app_config>(d.parsed).process.empty());
    CHECK_FALSE(std::get<config::app_config>(d.parsed).pipeline.dry_run);

    // In the INI file an empty value names no container (the shipped default).
    auto file = temp_file("process =\ndry-run = true\n");
    auto f = parse({"--config", file});
    std::remove(file.c_str());
    REQUIRE(std::holds_alternative<config::app_config>(f.parsed));
    CHECK(std::get<config::app_config>(f.parsed).process.empty());
    CHECK(std::get<config::app_config>(f.parsed).pipeline.dry_run);
}

TEST_CASE("config: --check is a command-line mode the INI file does not take")
{
    auto off = parse({});
    REQUIRE(std::holds_alternative<config::app_config>(off.parsed));
    CHECK_FALSE(std::get<config::app_config>(off.parsed).check);

    auto on = parse({"--check", "--rest-url", "http://127.0.0.1:1/x"});
    REQUIRE(std::holds_alternative<config::app_config>(on.parsed));
    CHECK(std::get<config::app_config>(on.parsed).check);
    CHECK(parse({"--help"}).out.find("--check") != std::string::npos);

    auto file = temp_file("check = true\n");
    auto in_file = parse({"--config", file});
    std::remove(file.c_str());
    REQUIRE(std::holds_alternative<int>(in_file.parsed));
    CHECK(std::get<int>(in_file.parsed) == 2);
    CHECK(in_file.err.find("check") != std::string::npos);
}

TEST_CASE("config: the --registry-auth file is kept for --check to name")
{
    auto file = temp_file(R"({"username": "u", "password": "p"})");
    ::chmod(file.c_str(), 0600);
    auto r = parse({"--registry", "127.0.0.1:5000", "--registry-auth", file});
    std::remove(file.c_str());
    REQUIRE(std::holds_alternative<config::app_config>(r.parsed));
    CHECK(std::get<config::app_config>(r.parsed).registry_auth_file == file);
    CHECK(std::get<config::app_config>(parse({}).parsed).registry_auth_file.empty());
}

TEST_CASE("config: --dump-path is repeatable and normalised; --max-dump-size takes suffixes")
{
    auto d = parse({});
    REQUIRE(std::holds_alternative<config::app_config>(d.parsed));
    CHECK(std::get<config::app_config>(d.parsed).pipeline.dump_paths.empty());
    CHECK(std::get<config::app_config>(d.parsed).pipeline.max_dump_size == std::uint64_t{2} << 30);

    auto r = parse({"--dump-path",
                    "/dumps/",
                    "--dump-path",
                    "/var//crash",
                    "--dump-path",
                    "/dumps",
                    "--max-dump-size",
                    "512M"});
    REQUIRE(std::holds_alternative<config::app_config>(r.parsed));
    const auto& c = std::get<config::app_config>(r.parsed);
    CHECK(c.pipeline.dump_paths == std::vector<std::string>{"/dumps", "/var/crash"});
    CHECK(c.pipeline.max_dump_size == std::uint64_t{512} << 20);

    auto file = temp_file("dump-path = /dumps\ndump-path = /cores\nmax-dump-size = 64K\n");
    auto f = parse({"--config", file});
    std::remove(file.c_str());
    REQUIRE(std::holds_alternative<config::app_config>(f.parsed));
    CHECK(std::get<config::app_config>(f.parsed).pipeline.dump_paths ==
          std::vector<std::string>{"/dumps", "/cores"});
    CHECK(std::get<config::app_config>(f.parsed).pipeline.max_dump_size == 64 * 1024);
}

TEST_CASE("config: --log-format is text by default, json on request")
{
    auto d = parse({});
    REQUIRE(std::holds_alternative<config::app_config>(d.parsed));
    CHECK(std::get<config::app_config>(d.parsed).logging.output == log::format::text);
    auto j = parse({"--log-format", "json"});
    REQUIRE(std::holds_alternative<config::app_config>(j.parsed));
    CHECK(std::get<config::app_config>(j.parsed).logging.output == log::format::json);
    auto file = temp_file("log-format = json\n");
    auto f = parse({"--config", file});
    std::remove(file.c_str());
    REQUIRE(std::holds_alternative<config::app_config>(f.parsed));
    CHECK(std::get<config::app_config>(f.parsed).logging.output == log::format::json);
}

TEST_CASE("config: --rest-ca-file and a client certificate and key, both or neither")
{
    const auto ca = temp_file("ca");
    const auto cert = temp_file("cert");
    const auto key = temp_file("key");
    REQUIRE(::chmod(key.c_str(), 0600) == 0);
    const std::vector<std::string> https{"--rest-url", "https://127.0.0.1:8443/hook"};
    auto with = [&](std::vector<std::string> more) {
        more.insert(more.begin(), https.begin(), https.end());
        return parse(std::move(more));
    };

    auto ok = with({"--rest-ca-file", ca, "--rest-client-cert", cert, "--rest-client-key", key});
    REQUIRE(std::holds_alternative<config::app_config>(ok.parsed));
    const auto& r = *std::get<config::app_config>(ok.parsed).rest;
    CHECK(r.ca_file == ca);
    CHECK(r.client_cert_file == cert);
    CHECK(r.client_key_file == key);
    CHECK_FALSE(r.insecure);
    auto none = with({});
    REQUIRE(std::holds_alternative<config::app_config>(none.parsed));
    CHECK(std::get<config::app_config>(none.parsed).rest->ca_file.empty());

    struct bad {
        std::vector<std::string> args;
        const char* option;
        const char* says;
    };
    const bad cases[] = {
        {{"--rest-client-cert", cert}, "--rest-client-cert", "without --rest-client-key"},
        {{"--rest-client-key", key}, "--rest-client-key", "without --rest-client-cert"},
        {{"--rest-ca-file", "/nonexistent/ca.pem"}, "--rest-ca-file", "No such file or directory"},
        {{"--rest-client-cert", cert, "--rest-client-key", "/nonexistent/key.pem"},
         "--rest-client-key",
         "/nonexistent/key.pem"},
        {{"--rest-ca-file", ca, "--rest-insecure"}, "--rest-ca-file", "--rest-insecure"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.option);
        auto b = with(c.args);
        REQUIRE(std::holds_alternative<int>(b.parsed));
        CHECK(std::get<int>(b.parsed) == 2);
        CHECK(b.err.find(std::string("core_interceptor: ") + c.option + ":") == 0);
        CHECK(b.err.find(c.says) != std::string::npos);
        CHECK(std::count(b.err.begin(), b.err.end(), '\n') == 1);
    }

    // Over plain http, or without a REST sink at all, the files would be silently unused.
    auto plain = parse({"--rest-url", "http://127.0.0.1:8080/hook", "--rest-ca-file", ca});
    REQUIRE(std::holds_alternative<int>(plain.parsed));
    CHECK(plain.err.find("--rest-ca-file: given with an http:// --rest-url") != std::string::npos);
    auto orphan = parse({"--rest-client-cert", cert, "--rest-client-key", key});
    REQUIRE(std::holds_alternative<int>(orphan.parsed));
    CHECK(orphan.err.find("without --rest-url") != std::string::npos);

    // A key other users can read is refused, and its content never shows.
    std::ofstream(key) << "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n";
    REQUIRE(::chmod(key.c_str(), 0644) == 0);
    auto open_key = with({"--rest-client-cert", cert, "--rest-client-key", key});
    REQUIRE(std::holds_alternative<int>(open_key.parsed));
    CHECK(std::get<int>(open_key.parsed) == 2);
    CHECK(open_key.err.find("--rest-client-key: '" + key + "' is readable by other users") !=
          std::string::npos);
    CHECK(open_key.err.find("SECRET") == std::string::npos);
    for (const auto& f : {ca, cert, key})
        std::remove(f.c_str());
}

TEST_CASE(
    "config: --max-notes-size takes suffixes within 1K..256M; --max-per-signature defaults to 3")
{
    auto d = parse({});
    REQUIRE(std::holds_alternative<config::app_config>(d.parsed));
    CHECK(std::get<config::app_config>(d.parsed).pipeline.max_notes_size == 4 * 1024 * 1024);
    CHECK(std::get<config::app_config>(d.parsed).pipeline.max_per_signature == 3);

    auto r = parse({"--max-notes-size", "512K", "--max-per-signature", "0"});
    REQUIRE(std::holds_alternative<config::app_config>(r.parsed));
    CHECK(std::get<config::app_config>(r.parsed).pipeline.max_notes_size == 512 * 1024);
    CHECK(std::get<config::app_config>(r.parsed).pipeline.max_per_signature == 0);

    auto file = temp_file("max-notes-size = 16M\nmax-per-signature = 7\n");
    auto f = parse({"--config", file});
    std::remove(file.c_str());
    REQUIRE(std::holds_alternative<config::app_config>(f.parsed));
    CHECK(std::get<config::app_config>(f.parsed).pipeline.max_notes_size == 16 * 1024 * 1024);
    CHECK(std::get<config::app_config>(f.parsed).pipeline.max_per_signature == 7);

    for (auto bad : std::vector<std::vector<std::string>>{{"--max-notes-size", "12"},
                                                          {"--max-notes-size", "1G"},
                                                          {"--max-notes-size", "lots"},
                                                          {"--max-per-signature", "-1"},
                                                          {"--max-per-signature", "many"}}) {
        CAPTURE(bad[0] + " " + bad[1]);
        auto b = parse(bad);
        REQUIRE(std::holds_alternative<int>(b.parsed));
        CHECK(std::get<int>(b.parsed) == 2);
        CHECK(b.err.find(bad[0].substr(2)) != std::string::npos);
    }
}

TEST_CASE("config: CORE_INTERCEPTOR_<OPTION> variables set options; the command line wins")
{
    const std::string file = temp_file("registry = file.example:5000\nmax-concurrency = 7\n"
                                       "hostname = from-file\n");
    auto r = parse({"--hostname", "from-cli"},
                   {"CORE_INTERCEPTOR_CONFIG=" + file,
                    "CORE_INTERCEPTOR_REGISTRY=env.example:5000/cores",
                    "CORE_INTERCEPTOR_HOSTNAME=from-env",
                    "CORE_INTERCEPTOR_METRICS_ADDRESS=127.0.0.1:9464",
                    "CORE_INTERCEPTOR_KEEP_IMAGE=true",
                    "CORE_INTERCEPTOR_DUMP_PATTERN=core\n*.dmp",
                    "CORE_INTERCEPTOR_KAFKA_BROKERS=",    // empty: unset
                    "CORE_INTERCEPTOR_OPTS=--ignored",    // the package's, not an option
                    "CORE_INTERCEPTOR_SOURCE_ROOT=/src",  // the test harness's
                    "OTHER_VARIABLE=x"});
    std::remove(file.c_str());
    REQUIRE_MESSAGE(std::holds_alternative<config::app_config>(r.parsed), r.err);
    const auto& c = std::get<config::app_config>(r.parsed);
    CHECK(c.pipeline.hostname == "from-cli");  // command line over environment
    REQUIRE(c.pipeline.registry);
    CHECK(c.pipeline.registry->host == "env.example:5000");  // environment over file
    CHECK(c.max_concurrency == 7);                           // the file named by the environment
    REQUIRE(c.metrics);
    CHECK(c.metrics->port == 9464);
    CHECK(c.pipeline.keep_image);
    CHECK(c.pipeline.dump_patterns == std::vector<std::string>{"core", "*.dmp"});
    CHECK_FALSE(c.kafka);
}

TEST_CASE("config: a CORE_INTERCEPTOR_ variable that names no option is a usage error")
{
    for (const char* v : {"CORE_INTERCEPTOR_REGISTRYY=x",
                          "CORE_INTERCEPTOR_HELP=1",
                          "CORE_INTERCEPTOR_CHECK=1",
                          "CORE_INTERCEPTOR_registry=x"}) {
        INFO(v);
        auto r = parse({}, {v});
        REQUIRE(std::holds_alternative<int>(r.parsed));
        CHECK(std::get<int>(r.parsed) == config::exit_usage);
        const std::string name = std::string(v).substr(0, std::string(v).find('='));
        CHECK(r.err.find("core_interceptor: " + name + ": ") == 0);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
    // A bad value names the option it sets.
    auto r = parse({}, {"CORE_INTERCEPTOR_MAX_CONCURRENCY=lots"});
    REQUIRE(std::holds_alternative<int>(r.parsed));
    CHECK(r.err.find("--max-concurrency") != std::string::npos);
}

TEST_CASE("config: the variables the test suites' Meson files set are not taken for options")
{
    // Each daemon a test starts inherits them: one that the daemon refused would stop it.
    const auto root = std::filesystem::path(CORE_INTERCEPTOR_TEST_DATA).parent_path().parent_path();
    const std::regex key(R"('(CORE_INTERCEPTOR_[A-Z0-9_]+)'\s*:)");
    std::size_t seen = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root / "tests")) {
        if (e.path().filename() != "meson.build")
            continue;
        std::ifstream in(e.path());
        const std::string text((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
        for (std::sregex_iterator m(text.begin(), text.end(), key), end; m != end; ++m) {
            const std::string name = (*m)[1];
            INFO(e.path().string(), " sets ", name);
            auto r = parse({}, {name + "=1"});
            CHECK(r.err.find(name + ": ") == std::string::npos);
            ++seen;
        }
    }
    CHECK(seen > 0);
}
