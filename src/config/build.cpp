// SPDX-License-Identifier: MIT
// The app_config of the stored options: every value validated, one section at a time.
#include "config/detail.hpp"

#include "domain/death_queue.hpp"
#include "domain/docker_config.hpp"
#include "domain/dump.hpp"
#include "domain/filter.hpp"
#include "domain/registry_auth.hpp"
#include "domain/volume_dump.hpp"

#include <boost/url/parse.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>

namespace po = boost::program_options;

namespace core_interceptor::config::detail {
namespace {

/// The value of a string option, or nullptr when it is not set.
const std::string* str(const po::variables_map& vm, const char* name)
{
    return vm.count(name) ? &vm[name].as<std::string>() : nullptr;
}

/// --log-level, --log-format, --verbosity.
void read_logging(const po::variables_map& vm, app_config& cfg)
{
    if (auto v = str(vm, "log-level")) {
        auto l = log::parse_level(*v);
        if (!l)
            throw invalid("log-level", *v, "expected trace|debug|info|warning|error");
        cfg.logging.min_level = *l;
    }
    if (auto v = str(vm, "log-format")) {
        auto f = log::parse_format(*v);
        if (!f)
            throw invalid("log-format", *v, "expected text|json");
        cfg.logging.output = *f;
    }
    if (auto v = str(vm, "verbosity")) {
        int n = integer<int>("verbosity", *v, 0, 9);
        if (n >= 2)
            cfg.logging.min_level = log::level::trace;
        else if (n == 1)
            cfg.logging.min_level = log::level::debug;
    }
}

/// The directory of the docker CLI's config.json: $DOCKER_CONFIG, else ~/.docker.
std::string docker_config_dir()
{
    if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d)
        return d;
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : "/root") + "/.docker";
}

/// TLS to a tcp:// Engine, as the docker CLI: --docker-tls-verify, else $DOCKER_TLS_VERIFY
/// (any non-empty value); the files in --docker-cert-path, else $DOCKER_CERT_PATH, else the
/// docker CLI's config directory. Each file must be readable: a missing one is named.
void read_docker_tls(const po::variables_map& vm, app_config& cfg)
{
    const bool option = vm.count("docker-tls-verify") && vm["docker-tls-verify"].as<bool>();
    const char* env = std::getenv("DOCKER_TLS_VERIFY");
    const bool unix_socket = cfg.docker.host.starts_with("unix://");
    if (option && unix_socket)
        throw bad_option{"docker-tls-verify",
                         "given with a unix:// --docker-host; it is for tcp://"};
    cfg.docker.tls_verify = !unix_socket && (option || (env && *env));
    if (auto v = str(vm, "docker-cert-path")) {
        if (!cfg.docker.tls_verify)
            throw bad_option{"docker-cert-path", "given without --docker-tls-verify"};
        cfg.docker.cert_path = *v;
    } else if (const char* p = std::getenv("DOCKER_CERT_PATH"); p && *p) {
        cfg.docker.cert_path = p;
    } else {
        cfg.docker.cert_path = docker_config_dir();
    }
    if (!cfg.docker.tls_verify)
        return;
    for (const char* name : {"ca.pem", "cert.pem", "key.pem"}) {
        const std::string file = cfg.docker.cert_path + "/" + name;
        if (std::ifstream in(file, std::ios::binary); !in)
            throw bad_option{"docker-cert-path",
                             "cannot read '" + file + "': " + std::strerror(errno) +
                                 " (TLS to the Engine needs ca.pem, cert.pem and key.pem)"};
    }
}

/// --docker-host, else $DOCKER_HOST; then its TLS.
void read_docker(const po::variables_map& vm, app_config& cfg)
{
    if (auto v = str(vm, "docker-host"))
        cfg.docker.host = *v;
    else if (const char* env = std::getenv("DOCKER_HOST"); env && *env)
        cfg.docker.host = env;
    {
        const std::string& h = cfg.docker.host;
        bool ok = (h.starts_with("unix://") && h.size() > 7) ||
                  ((h.starts_with("tcp://") || h.starts_with("http://")) &&
                   boost::urls::parse_uri(h).has_value());
        if (!ok)
            throw invalid("docker-host", h, "expected unix:///path or tcp://host:port");
    }
    read_docker_tls(vm, cfg);
}

/// The docker CLI's config.json when no --registry-auth names a file: in $DOCKER_CONFIG, else
/// ~/.docker. "" when there is none (anonymous pushes).
std::string found_docker_config()
{
    const std::string file = docker_config_dir() + "/config.json";
    struct stat st {};
    return ::stat(file.c_str(), &st) == 0 ? file : std::string();
}

/// --registry and its credentials: the --registry-auth file, else the docker CLI's
/// config.json; `auths`, `credsStore` or `credHelpers` in it, as the docker CLI reads them.
void read_registry(const po::variables_map& vm, app_config& cfg)
{
    if (auto v = str(vm, "registry")) {
        cfg.pipeline.registry = domain::parse_registry(*v);
        if (!cfg.pipeline.registry)
            throw invalid("registry", *v, "expected HOST[:PORT][/PREFIX]");
    }
    const bool named = vm.count("registry-auth") > 0;
    if (named && !cfg.pipeline.registry)
        throw bad_option{"registry-auth", "given without --registry"};
    if (!cfg.pipeline.registry)
        return;
    const std::string file = named ? vm["registry-auth"].as<std::string>() : found_docker_config();
    // Credentials readable by other users are refused: they would be as good as public. The
    // docker CLI's own file is held to the same rule, and the refusal says where it came from.
    std::string text;
    try {
        text = file.empty() ? std::string() : read_private_file("registry-auth", file);
    } catch (const bad_option& e) {
        if (named)
            throw;
        throw bad_option{"registry-auth",
                         e.why + " (the docker CLI's config.json, read because no "
                                 "--registry-auth names a file; name one to use another)"};
    }
    auto found = domain::find_registry_credentials(text, cfg.pipeline.registry->host, named);
    if (!found)
        throw bad_option{"registry-auth", file + ": " + found.error().describe()};
    if (found->from != domain::registry_credentials::source::none)
        cfg.registry_auth_file = file;
    cfg.pipeline.registry_auth = found->header;
    cfg.pipeline.credential_helper = found->helper;
    cfg.registry_credentials = std::move(*found);
}

/// The Kafka sink.
void read_kafka(const po::variables_map& vm, app_config& cfg)
{
    if (auto v = str(vm, "kafka-brokers")) {
        if (v->empty())
            throw bad_option{"kafka-brokers", "is empty"};
        sinks::kafka_config k;
        k.brokers = *v;
        k.topic = vm["kafka-topic"].as<std::string>();
        if (k.topic.empty())
            throw bad_option{"kafka-topic", "is empty"};
        if (vm.count("kafka-property")) {
            for (const auto& kv : vm["kafka-property"].as<std::vector<std::string>>()) {
                auto eq = kv.find('=');
                // The value may be a password (sasl.password): never echoed.
                if (eq == std::string::npos || eq == 0)
                    throw bad_option{"kafka-property", "invalid value (expected KEY=VALUE)"};
                k.properties.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
            }
        }
        cfg.kafka = std::move(k);
    } else if (vm.count("kafka-property")) {
        throw bad_option{"kafka-property", "given without --kafka-brokers"};
    }
}

/// The REST sink.
void read_rest(const po::variables_map& vm, app_config& cfg)
{
    if (auto v = str(vm, "rest-url")) {
        auto u = boost::urls::parse_absolute_uri(*v);
        if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty())
            throw bad_option{"rest-url",  // may hold a password or token: not echoed
                             "invalid value (expected http://… or https://…)"};
        sinks::rest_config r;
        r.url = *v;
        r.timeout = std::chrono::seconds(
            integer<int>("rest-timeout", vm["rest-timeout"].as<std::string>(), 1, 3600));
        r.insecure = vm["rest-insecure"].as<bool>();
        if (vm.count("rest-header"))
            for (const auto& h : vm["rest-header"].as<std::vector<std::string>>())
                r.headers.push_back(header("rest-header", h, ""));
        if (auto file = str(vm, "rest-header-file"))
            for (auto& h : header_file(*file))
                r.headers.push_back(std::move(h));
        rest_tls_files(vm, r);
        cfg.rest = std::move(r);
    } else {
        for (const char* opt : {"rest-header",
                                "rest-header-file",
                                "rest-ca-file",
                                "rest-client-cert",
                                "rest-client-key"})
            if (vm.count(opt))
                throw bad_option{opt, "given without --rest-url"};
    }
}

/// --hostname and where dumps are looked for.
void read_dumps(const po::variables_map& vm, app_config& cfg)
{
    cfg.pipeline.hostname = str(vm, "hostname") ? *str(vm, "hostname") : machine_hostname();
    if (cfg.pipeline.hostname.empty())
        throw bad_option{"hostname", "is empty"};
    if (vm.count("dump-pattern")) {
        cfg.pipeline.dump_patterns = vm["dump-pattern"].as<std::vector<std::string>>();
        for (const auto& p : cfg.pipeline.dump_patterns)
            if (p.empty() || p.find('/') != std::string::npos)
                throw invalid("dump-pattern", p, "expected a basename glob");
    } else {
        cfg.pipeline.dump_patterns = domain::default_dump_patterns();
    }
    if (vm.count("dump-path")) {
        for (const auto& d : vm["dump-path"].as<std::vector<std::string>>()) {
            auto dir = domain::normalize_dump_dir(d);
            if (!dir)
                throw invalid("dump-path", d, "expected an absolute directory other than /");
            if (std::find(cfg.pipeline.dump_paths.begin(), cfg.pipeline.dump_paths.end(), *dir) ==
                cfg.pipeline.dump_paths.end())
                cfg.pipeline.dump_paths.push_back(std::move(*dir));
        }
    }
}

/// Sizes and counts of a job, and which containers it handles.
void read_limits(const po::variables_map& vm, app_config& cfg)
{
    cfg.pipeline.max_dump_size = byte_size("max-dump-size", vm["max-dump-size"].as<std::string>());
    {
        const auto& text = vm["max-notes-size"].as<std::string>();
        auto size = domain::parse_byte_size(text);
        // Below 1K not even the program headers of a small core fit; above 256M a probe would
        // hold more than any real note segment in memory.
        if (!size || *size < 1024 || *size > (std::uint64_t{256} << 20))
            throw invalid(
                "max-notes-size", text, "expected 1K to 256M: bytes, or a number with K or M");
        cfg.pipeline.max_notes_size = static_cast<std::size_t>(*size);
    }
    cfg.pipeline.max_volume_dumps = integer<std::size_t>(
        "max-volume-dumps", vm["max-volume-dumps"].as<std::string>(), 1, 100000);
    cfg.pipeline.state_reserve = byte_size("state-reserve", vm["state-reserve"].as<std::string>());
    cfg.max_concurrency =
        integer<std::size_t>("max-concurrency", vm["max-concurrency"].as<std::string>(), 1, 1024);
    cfg.max_probes =
        integer<std::size_t>("max-probes", vm["max-probes"].as<std::string>(), 1, 1024);
    // A kept connection for each probe (every lane) and capture running at once, and for the
    // watcher's, the recovery's and the push retrier's calls.
    cfg.docker.max_idle_connections =
        domain::probe_lanes * cfg.max_probes + cfg.max_concurrency + 2;
    cfg.pipeline.keep_image = vm["keep-image"].as<bool>();
    cfg.pipeline.push_retry_window = std::chrono::seconds(
        integer<int>("push-retry-window", vm["push-retry-window"].as<std::string>(), 0, 86400));
    for (const char* opt : {"include-label", "exclude-label"}) {
        if (!vm.count(opt))
            continue;
        for (const auto& text : vm[opt].as<std::vector<std::string>>()) {
            auto m = domain::parse_label_match(text);
            if (!m)
                throw invalid(opt, text, "expected KEY or KEY=VALUE");
            (std::string_view(opt) == "include-label" ? cfg.watcher.filter.include_labels
                                                      : cfg.watcher.filter.exclude_labels)
                .push_back(std::move(*m));
        }
    }
    if (vm.count("include-image")) {
        cfg.watcher.filter.include_images = vm["include-image"].as<std::vector<std::string>>();
        for (const auto& g : cfg.watcher.filter.include_images)
            if (g.empty())
                throw bad_option{"include-image", "is empty"};
    }
}

/// --state-dir, catch-up, rate limits, retries, shutdown and metrics.
void read_state_and_retries(const po::variables_map& vm, app_config& cfg)
{
    cfg.state_dir = vm["state-dir"].as<std::string>();
    if (cfg.state_dir.empty())
        throw bad_option{"state-dir", "is empty"};
    // Dump copies in a directory of their own, its free space checked before each (issue 10).
    cfg.docker.spool_dir = (cfg.state_dir / "dump-spool").string();
    cfg.pipeline.dump_spool_dir = cfg.docker.spool_dir;
    if (auto v = str(vm, "catch-up-since"))
        cfg.catch_up_since = duration("catch-up-since", *v);
    cfg.pipeline.max_per_container = integer<std::size_t>(
        "max-per-container", vm["max-per-container"].as<std::string>(), 0, 1000000);
    cfg.pipeline.max_per_signature = integer<std::size_t>(
        "max-per-signature", vm["max-per-signature"].as<std::string>(), 0, 1000000);
    auto max_backoff = std::chrono::seconds(
        integer<int>("retry-max-backoff", vm["retry-max-backoff"].as<std::string>(), 1, 3600));
    cfg.delivery.backoff_max = max_backoff;
    cfg.pipeline.push_retry_max = max_backoff;
    cfg.watcher.reconnect_max =
        std::min<std::chrono::milliseconds>(cfg.watcher.reconnect_max, max_backoff);
    cfg.shutdown_grace = std::chrono::seconds(
        integer<int>("shutdown-grace", vm["shutdown-grace"].as<std::string>(), 0, 3600));
    if (auto v = str(vm, "metrics-address"))
        cfg.metrics = listen_address("metrics-address", *v);
}

/// --process, --dry-run and --check.
void read_process(const po::variables_map& vm, app_config& cfg)
{
    if (vm.count("process")) {
        // Docker's own rule for names, [a-zA-Z0-9][a-zA-Z0-9_.-]*, which IDs and ID prefixes
        // meet too; a leading '/' (as `docker inspect` prints names) is dropped.
        for (auto name : vm["process"].as<std::vector<std::string>>()) {
            if (name.empty())
                continue;  // "process =" in the INI file names no container
            if (name.starts_with('/'))
                name.erase(0, 1);
            bool ok = !name.empty() && std::isalnum(static_cast<unsigned char>(name[0]));
            for (char c : name)
                ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
                            c == '-');
            if (!ok)
                throw bad_option{"process", "invalid container name or ID '" + name + "'"};
            cfg.process.push_back(std::move(name));
        }
    }
    cfg.pipeline.dry_run = vm["dry-run"].as<bool>();
    cfg.check = vm.count("check") && vm["check"].as<bool>();
}

}  // namespace

app_config build(const po::variables_map& vm)
{
    app_config cfg;
    read_logging(vm, cfg);
    read_docker(vm, cfg);
    read_registry(vm, cfg);
    read_kafka(vm, cfg);
    read_rest(vm, cfg);
    read_dumps(vm, cfg);
    read_limits(vm, cfg);
    read_state_and_retries(vm, cfg);
    read_process(vm, cfg);
    return cfg;
}

}  // namespace core_interceptor::config::detail
