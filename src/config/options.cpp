// SPDX-License-Identifier: MIT
#include "config/options.hpp"

#include "domain/config_file.hpp"
#include "domain/dump.hpp"
#include "domain/filter.hpp"
#include "domain/registry_auth.hpp"
#include "domain/volume_dump.hpp"

#include <boost/program_options.hpp>
#include <boost/url/grammar/parse.hpp>
#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string_view>

extern char** environ;

namespace po = boost::program_options;

namespace core_interceptor::config {
namespace {

/// A configuration error: names the option and what is wrong with it.
struct bad_option {
    std::string option;
    std::string why;
};

po::options_description describe_options()
{
    po::options_description general("Options");
    // clang-format off
    general.add_options()
        ("help,h", "print this help and exit")
        ("version", "print the version and exit")
        ("config,c", po::value<std::string>()->value_name("FILE"),
            "INI file; keys are the long option names; the command line wins")
        ("docker-host", po::value<std::string>()->value_name("URL"),
            "Docker daemon: unix:///path or tcp://host:port "
            "(default: $DOCKER_HOST, else unix:///var/run/docker.sock)")
        ("registry", po::value<std::string>()->value_name("HOST[:PORT][/PREFIX]"),
            "push target; unset: images are committed and kept locally")
        ("registry-auth", po::value<std::string>()->value_name("FILE"),
            "registry credentials (docker config.json \"auths\" form, or "
            "{\"username\": ..., \"password\": ...})")
        ("kafka-brokers", po::value<std::string>()->value_name("LIST"),
            "comma-separated bootstrap servers; enables the Kafka sink")
        ("kafka-topic", po::value<std::string>()->value_name("NAME")->default_value("cores"),
            "Kafka topic")
        ("kafka-property,X", po::value<std::vector<std::string>>()->value_name("K=V"),
            "extra librdkafka property, repeatable")
        ("rest-url", po::value<std::string>()->value_name("URL"),
            "http:// or https:// endpoint; enables the REST sink")
        ("rest-header", po::value<std::vector<std::string>>()->value_name("\"NAME: VALUE\""),
            "extra header for the REST sink, repeatable")
        ("rest-timeout", po::value<std::string>()->value_name("SECONDS")->default_value("10"),
            "deadline of one REST request")
        ("rest-header-file", po::value<std::string>()->value_name("FILE"),
            "extra HTTP headers, one \"NAME: VALUE\" per line ('#' comments); "
            "same permission rule as --config")
        ("rest-insecure", po::bool_switch(),
            "do not verify the REST endpoint's TLS certificate")
        ("rest-ca-file", po::value<std::string>()->value_name("FILE"),
            "PEM bundle of the CAs that sign the https REST endpoint's certificate, trusted "
            "instead of the system CAs")
        ("rest-client-cert", po::value<std::string>()->value_name("FILE"),
            "PEM client certificate (and chain) for a REST endpoint that asks for one "
            "(mutual TLS); needs --rest-client-key")
        ("rest-client-key", po::value<std::string>()->value_name("FILE"),
            "unencrypted PEM private key of --rest-client-cert; not readable by other users")
        ("hostname", po::value<std::string>()->value_name("NAME"),
            "host name in notifications (default: this machine's)")
        ("dump-pattern", po::value<std::vector<std::string>>()->value_name("GLOB"),
            "basename glob of a candidate dump, repeatable "
            "(default: core, core.*, *.core, *.hprof)")
        ("dump-path", po::value<std::vector<std::string>>()->value_name("DIR"),
            "directory (a volume or bind mount) probed for dumps too, repeatable; its dumps "
            "are copied into the image under /core_interceptor/dumps")
        ("max-dump-size", po::value<std::string>()->value_name("SIZE")->default_value("2G"),
            "bytes copied from --dump-path directories per container (suffix K, M, G, T); "
            "a larger dump is reported, not copied")
        ("max-notes-size", po::value<std::string>()->value_name("SIZE")->default_value("4M"),
            "bytes of a core's start read for its notes (signal, executable, frame; 1K to 256M, "
            "suffix K or M); notes beyond it are left out of the triage")
        ("max-volume-dumps", po::value<std::string>()->value_name("N")->default_value("16"),
            "dumps taken from --dump-path directories per container; the rest are left there")
        ("state-reserve", po::value<std::string>()->value_name("SIZE")->default_value("64M"),
            "free space in --state-dir that dump copies leave to the rest of the state; "
            "a copy that does not fit is reported, not copied")
        ("max-concurrency", po::value<std::string>()->value_name("N")->default_value("4"),
            "containers handled at once")
        ("keep-image", po::bool_switch(),
            "keep the committed image locally after a successful push")
        ("push-retry-window", po::value<std::string>()->value_name("SECONDS")->default_value("180"),
            "keep retrying a failing push this long before announcing pushed: false")
        ("shutdown-grace", po::value<std::string>()->value_name("SECONDS")->default_value("2"),
            "on SIGTERM, let in-flight work finish this long before cancelling it")
        ("include-label", po::value<std::vector<std::string>>()->value_name("K[=V]"),
            "handle only containers with this label (and value), repeatable")
        ("exclude-label", po::value<std::vector<std::string>>()->value_name("K[=V]"),
            "never handle containers with this label (and value), repeatable; "
            "core_interceptor.skip=true always opts a container out")
        ("include-image", po::value<std::vector<std::string>>()->value_name("GLOB"),
            "handle only containers whose image reference matches, repeatable")
        ("state-dir", po::value<std::string>()->value_name("DIR")->default_value("/var/lib/core_interceptor"),
            "durable state: last event, unfinished work, undelivered notifications")
        ("catch-up-since", po::value<std::string>()->value_name("DURATION"),
            "on a first run, also handle containers that exited this long ago (e.g. 30s, 10m, 2h)")
        ("max-per-container", po::value<std::string>()->value_name("N")->default_value("10"),
            "images committed per container per hour (0: no limit)")
        ("max-per-signature", po::value<std::string>()->value_name("N")->default_value("3"),
            "images committed per crash signature per hour on this host (0: no limit); past it "
            "a death with the same crash is announced as a duplicate, not committed")
        ("retry-max-backoff", po::value<std::string>()->value_name("SECONDS")->default_value("60"),
            "longest wait between retries of a push or a notification")
        ("metrics-address", po::value<std::string>()->value_name("HOST:PORT"),
            "serve Prometheus /metrics and /healthz here (e.g. 127.0.0.1:9464); unset: no server")
        ("process", po::value<std::vector<std::string>>()->multitoken()->value_name("CONTAINER..."),
            "handle these exited containers (names or IDs) now and exit, without watching events; "
            "takes several names and is repeatable")
        ("dry-run", po::bool_switch(),
            "probe and log what would be committed, pushed and notified; change nothing")
        ("log-level", po::value<std::string>()->value_name("LEVEL")->default_value("info"),
            "trace|debug|info|warning|error")
        ("verbosity,v", po::value<std::string>()->value_name("N"),
            "1 = debug, 2 = trace (overrides --log-level)")
        ("log-format", po::value<std::string>()->value_name("FORMAT")->default_value("text"),
            "text|json: stderr's lines; json is one object a line with the journal's fields "
            "(PRIORITY, MESSAGE, CONTAINER_ID, ...) for log shippers; under systemd records go "
            "to the journal either way");
    // clang-format on
    return general;
}

/// Modes of the command line only: they make no sense in the configuration file.
po::options_description describe_modes()
{
    po::options_description modes("Command-line modes");
    // clang-format off
    modes.add_options()
        ("check", po::bool_switch(),
            "check the configuration and every connection a run needs (Docker, core_pattern, "
            "state directory, registry, Kafka, REST), print one line per check, exit 0 when "
            "none failed, else 1");
    // clang-format on
    return modes;
}

template <class T> T integer(const std::string& option, const std::string& text, T min, T max)
{
    T v{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
        throw bad_option{option,
                         "invalid value '" + text + "' (expected an integer from " +
                             std::to_string(min) + " to " + std::to_string(max) + ")"};
    return v;
}

/// "2G", "64M", "1048576": bytes, or bad_option naming `option`.
std::uint64_t byte_size(const std::string& option, const std::string& text)
{
    auto size = domain::parse_byte_size(text);
    if (!size)
        throw bad_option{
            option, "invalid value '" + text + "' (expected bytes, or a number with K, M, G or T)"};
    return *size;
}

/// Reads a file that may hold secrets (--config, --registry-auth, --rest-header-file). It must
/// be a regular file owned by root or by the user running the daemon, readable by no other
/// user than its owner and group, writable by its owner only: the packages install the
/// configuration 0640 root:core_interceptor, which the service's user reads through its group.
std::string read_private_file(const std::string& option, const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        throw bad_option{option, "cannot read '" + path + "'"};
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_fd{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        throw bad_option{option, "'" + path + "' is not a regular file"};
    if (st.st_mode & S_IROTH)
        throw bad_option{option,
                         "'" + path +
                             "' is readable by other users; restrict it (chmod 600, or 640 for the "
                             "service's group) first"};
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        throw bad_option{option,
                         "'" + path +
                             "' is writable by other users than its owner; restrict it (chmod 600 "
                             "or 640) first"};
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        throw bad_option{option,
                         "'" + path + "' is owned by user " + std::to_string(st.st_uid) +
                             ", neither root nor the user running core_interceptor"};
    std::string content;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || content.size() > (std::size_t{16} << 20))
            throw bad_option{option, "cannot read '" + path + "'"};
        if (n == 0)
            return content;
        content.append(buf, static_cast<std::size_t>(n));
    }
}

/// "90", "30s", "10m", "2h", "1d" -> seconds.
std::chrono::seconds duration(const std::string& option, const std::string& text)
{
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
        ++digits;
    std::string unit = text.substr(digits);
    long long scale = unit.empty() || unit == "s" ? 1
                      : unit == "m"               ? 60
                      : unit == "h"               ? 3600
                      : unit == "d"               ? 86400
                                                  : 0;
    if (digits == 0 || scale == 0 || digits > 9)
        throw bad_option{
            option, "invalid value '" + text + "' (expected a duration such as 30s, 10m, 2h, 1d)"};
    // At most 100 years: more is surely a mistake, and would overflow the clock's arithmetic.
    constexpr long long max_seconds = 100LL * 366 * 86400;
    const long long n = std::stoll(text.substr(0, digits));
    if (n > max_seconds / scale)
        throw bad_option{option, "invalid value '" + text + "' (at most 100 years)"};
    return std::chrono::seconds(n * scale);
}

std::string machine_hostname()
{
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0)
        return "localhost";
    return buf;
}

bool valid_header_name(std::string_view name)
{
    if (name.empty())
        return false;
    for (char c : name) {
        bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!tchar)
            return false;
    }
    return true;
}

/// "NAME: VALUE" -> {NAME, VALUE}. A malformed header names the option (and `where`, a line of
/// a file), never the text: it may be a token ("Authorization Bearer …").
std::pair<std::string, std::string>
header(const std::string& option, const std::string& h, const std::string& where)
{
    auto colon = h.find(':');
    std::string name = colon == std::string::npos ? "" : h.substr(0, colon);
    if (colon == std::string::npos || !valid_header_name(name))
        throw bad_option{option, where + "invalid value (expected \"NAME: VALUE\")"};
    std::string value = h.substr(colon + 1);
    auto first = value.find_first_not_of(" \t");
    auto last = value.find_last_not_of(" \t\r");
    value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
    if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos)
        throw bad_option{option, where + "value of '" + name + "' has a line break"};
    return {std::move(name), std::move(value)};
}

/// `--rest-header-file`: one "NAME: VALUE" a line; blank lines and '#' comments skipped.
std::vector<std::pair<std::string, std::string>> header_file(const std::string& path)
{
    const std::string text = read_private_file("rest-header-file", path);
    std::vector<std::pair<std::string, std::string>> headers;
    std::size_t line = 0, pos = 0;
    while (pos < text.size()) {
        ++line;
        auto end = text.find('\n', pos);
        std::string l = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        pos = end == std::string::npos ? text.size() : end + 1;
        auto first = l.find_first_not_of(" \t\r");
        if (first == std::string::npos || l[first] == '#')
            continue;
        headers.push_back(
            header("rest-header-file", l.substr(first), "line " + std::to_string(line) + ": "));
    }
    return headers;
}

/// "127.0.0.1:9464", "[::1]:9464": an IP literal and a port from 1 to 65535.
metrics::config listen_address(const std::string& option, const std::string& text)
{
    const bad_option bad{option,
                         "invalid value '" + text +
                             "' (expected HOST:PORT with an IP address, "
                             "e.g. 127.0.0.1:9464 or [::1]:9464)"};
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
        throw bad;
    std::string host = text.substr(0, colon);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']')
            throw bad;
        host = host.substr(1, host.size() - 2);
        if (!boost::urls::parse_ipv6_address(host))
            throw bad;
    } else if (!boost::urls::parse_ipv4_address(host)) {
        throw bad;
    }
    metrics::config m;
    m.host = std::move(host);
    const std::string port = text.substr(colon + 1);
    std::uint16_t p{};
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p == 0)
        throw bad;
    m.port = p;
    return m;
}

/// A file the daemon reads at start: it must exist and be readable now, so that a typo is
/// a usage error rather than a failure at the first notification.
void readable_file(const std::string& option, const std::string& path)
{
    if (path.empty())
        throw bad_option{option, "is empty"};
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw bad_option{option, "cannot read '" + path + "': " + std::strerror(errno)};
}

/// `--rest-ca-file`, `--rest-client-cert`, `--rest-client-key`: files only; OpenSSL parses them
/// when the REST sink starts (an unusable one is then a usage error too).
void rest_tls_files(const po::variables_map& vm, sinks::rest_config& r)
{
    const bool https = r.url.starts_with("https://");
    for (const char* opt : {"rest-ca-file", "rest-client-cert", "rest-client-key"}) {
        if (!vm.count(opt))
            continue;
        if (!https)
            throw bad_option{opt, "given with an http:// --rest-url; it is for https:// only"};
        readable_file(opt, vm[opt].as<std::string>());
    }
    if (vm.count("rest-ca-file")) {
        if (r.insecure)
            throw bad_option{"rest-ca-file", "given with --rest-insecure, which verifies nothing"};
        r.ca_file = vm["rest-ca-file"].as<std::string>();
    }
    if (vm.count("rest-client-cert") != vm.count("rest-client-key"))
        throw bad_option{vm.count("rest-client-cert") ? "rest-client-cert" : "rest-client-key",
                         vm.count("rest-client-cert") ? "given without --rest-client-key"
                                                      : "given without --rest-client-cert"};
    if (!vm.count("rest-client-key"))
        return;
    r.client_cert_file = vm["rest-client-cert"].as<std::string>();
    r.client_key_file = vm["rest-client-key"].as<std::string>();
    // A key readable by other users is refused: anyone on the host could pose as this client.
    struct stat st {};
    if (::stat(r.client_key_file.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
        throw bad_option{"rest-client-key",
                         "'" + r.client_key_file +
                             "' is readable by other users; restrict it (chmod 600) first"};
}

app_config build(const po::variables_map& vm)
{
    app_config cfg;
    auto str = [&](const char* name) -> const std::string* {
        return vm.count(name) ? &vm[name].as<std::string>() : nullptr;
    };

    // Logging
    if (auto v = str("log-level")) {
        auto l = log::parse_level(*v);
        if (!l)
            throw bad_option{"log-level",
                             "invalid value '" + *v +
                                 "' (expected trace|debug|info|warning|error)"};
        cfg.logging.min_level = *l;
    }
    if (auto v = str("log-format")) {
        auto f = log::parse_format(*v);
        if (!f)
            throw bad_option{"log-format", "invalid value '" + *v + "' (expected text|json)"};
        cfg.logging.output = *f;
    }
    if (auto v = str("verbosity")) {
        int n = integer<int>("verbosity", *v, 0, 9);
        if (n >= 2)
            cfg.logging.min_level = log::level::trace;
        else if (n == 1)
            cfg.logging.min_level = log::level::debug;
    }

    // Docker
    if (auto v = str("docker-host"))
        cfg.docker.host = *v;
    else if (const char* env = std::getenv("DOCKER_HOST"); env && *env)
        cfg.docker.host = env;
    {
        const std::string& h = cfg.docker.host;
        bool ok = (h.starts_with("unix://") && h.size() > 7) ||
                  ((h.starts_with("tcp://") || h.starts_with("http://")) &&
                   boost::urls::parse_uri(h).has_value());
        if (!ok)
            throw bad_option{"docker-host",
                             "invalid value '" + h +
                                 "' (expected unix:///path or tcp://host:port)"};
    }

    // Registry
    if (auto v = str("registry")) {
        cfg.pipeline.registry = domain::parse_registry(*v);
        if (!cfg.pipeline.registry)
            throw bad_option{"registry",
                             "invalid value '" + *v + "' (expected HOST[:PORT][/PREFIX])"};
    }
    std::string auth_file;
    if (auto v = str("registry-auth")) {
        if (!cfg.pipeline.registry)
            throw bad_option{"registry-auth", "given without --registry"};
        // Credentials readable by other users are refused: they would be as good as public.
        auth_file = read_private_file("registry-auth", *v);
        cfg.registry_auth_file = *v;
    }
    if (cfg.pipeline.registry) {
        auto header = domain::registry_auth_header(auth_file, cfg.pipeline.registry->host);
        if (!header)
            throw bad_option{"registry-auth", header.error().describe()};
        cfg.pipeline.registry_auth = std::move(*header);
    }

    // Sinks
    if (auto v = str("kafka-brokers")) {
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

    if (auto v = str("rest-url")) {
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
        if (auto file = str("rest-header-file"))
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

    // Job
    cfg.pipeline.hostname = str("hostname") ? *str("hostname") : machine_hostname();
    if (cfg.pipeline.hostname.empty())
        throw bad_option{"hostname", "is empty"};
    if (vm.count("dump-pattern")) {
        cfg.pipeline.dump_patterns = vm["dump-pattern"].as<std::vector<std::string>>();
        for (const auto& p : cfg.pipeline.dump_patterns)
            if (p.empty() || p.find('/') != std::string::npos)
                throw bad_option{"dump-pattern",
                                 "invalid value '" + p + "' (expected a basename glob)"};
    } else {
        cfg.pipeline.dump_patterns = domain::default_dump_patterns();
    }
    if (vm.count("dump-path")) {
        for (const auto& d : vm["dump-path"].as<std::vector<std::string>>()) {
            auto dir = domain::normalize_dump_dir(d);
            if (!dir)
                throw bad_option{"dump-path",
                                 "invalid value '" + d +
                                     "' (expected an absolute directory other than /)"};
            if (std::find(cfg.pipeline.dump_paths.begin(), cfg.pipeline.dump_paths.end(), *dir) ==
                cfg.pipeline.dump_paths.end())
                cfg.pipeline.dump_paths.push_back(std::move(*dir));
        }
    }
    cfg.pipeline.max_dump_size = byte_size("max-dump-size", vm["max-dump-size"].as<std::string>());
    {
        const auto& text = vm["max-notes-size"].as<std::string>();
        auto size = domain::parse_byte_size(text);
        // Below 1K not even the program headers of a small core fit; above 256M a probe would
        // hold more than any real note segment in memory.
        if (!size || *size < 1024 || *size > (std::uint64_t{256} << 20))
            throw bad_option{"max-notes-size",
                             "invalid value '" + text +
                                 "' (expected 1K to 256M: bytes, or a number with K or M)"};
        cfg.pipeline.max_notes_size = static_cast<std::size_t>(*size);
    }
    cfg.pipeline.max_volume_dumps = integer<std::size_t>(
        "max-volume-dumps", vm["max-volume-dumps"].as<std::string>(), 1, 100000);
    cfg.pipeline.state_reserve = byte_size("state-reserve", vm["state-reserve"].as<std::string>());
    cfg.max_concurrency =
        integer<std::size_t>("max-concurrency", vm["max-concurrency"].as<std::string>(), 1, 1024);
    cfg.pipeline.keep_image = vm["keep-image"].as<bool>();
    cfg.pipeline.push_retry_window = std::chrono::seconds(
        integer<int>("push-retry-window", vm["push-retry-window"].as<std::string>(), 0, 86400));
    for (const char* opt : {"include-label", "exclude-label"}) {
        if (!vm.count(opt))
            continue;
        for (const auto& text : vm[opt].as<std::vector<std::string>>()) {
            auto m = domain::parse_label_match(text);
            if (!m)
                throw bad_option{opt, "invalid value '" + text + "' (expected KEY or KEY=VALUE)"};
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
    cfg.state_dir = vm["state-dir"].as<std::string>();
    if (cfg.state_dir.empty())
        throw bad_option{"state-dir", "is empty"};
    // Dump copies in a directory of their own, its free space checked before each (issue 10).
    cfg.docker.spool_dir = (cfg.state_dir / "dump-spool").string();
    cfg.pipeline.dump_spool_dir = cfg.docker.spool_dir;
    if (auto v = str("catch-up-since"))
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
    if (auto v = str("metrics-address"))
        cfg.metrics = listen_address("metrics-address", *v);
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
    return cfg;
}

/// An environment variable of our prefix that names no option.
struct bad_variable {
    std::string name;
    std::string why;
};

/// CORE_INTERCEPTOR_ variables that are not options: the package's extra arguments of the
/// service (/etc/default/core_interceptor) and the project's own test and benchmark harness,
/// whose variables reach the daemons it starts.
constexpr std::array<std::string_view, 17> not_options{
    "OPTS",
    "BIN",
    "SOURCE_ROOT",
    "RUN_SINKS",
    "INSTALLED_CACHE",
    "REQUIRE_PARTS",
    "DEB",
    "DEB_JOBS",
    "KEEP_TEMP",
    "KAFKA_DEBUG",
    "HAVE_KAFKA",
    "HAVE_SYSTEMD",
    "EXPECTED_VERSION",
    "CHAOS_SEED",
    "BENCH_DIR",
    "BENCH_STATE",
    "MONITORING_DIR",
};

/// CORE_INTERCEPTOR_<OPTION> variables as options: CORE_INTERCEPTOR_METRICS_ADDRESS is
/// --metrics-address. An empty value counts as unset; a repeatable option takes one value per
/// line. A variable of the prefix that names no option (nor one of `not_options`) is an error.
po::parsed_options environment_options(const po::options_description& options,
                                       const char* const* envp)
{
    constexpr std::string_view prefix = "CORE_INTERCEPTOR_";
    po::parsed_options parsed(&options);
    for (; envp && *envp; ++envp) {
        const std::string_view entry(*envp);
        const auto eq = entry.find('=');
        if (eq == std::string_view::npos || !entry.starts_with(prefix))
            continue;
        const std::string variable(entry.substr(0, eq));
        const std::string_view suffix = entry.substr(prefix.size(), eq - prefix.size());
        if (std::find(not_options.begin(), not_options.end(), suffix) != not_options.end())
            continue;
        std::string name;
        for (char c : suffix)
            name += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto* d = options.find_nothrow(name, false);
        bool upper = !suffix.empty();
        for (char c : suffix)
            upper = upper && (std::isupper(static_cast<unsigned char>(c)) ||
                              std::isdigit(static_cast<unsigned char>(c)) || c == '_');
        if (!d || !upper || name == "help" || name == "version")
            throw bad_variable{variable,
                               "names no option that the environment can set "
                               "(CORE_INTERCEPTOR_REGISTRY sets --registry, "
                               "CORE_INTERCEPTOR_METRICS_ADDRESS --metrics-address)"};
        const std::string_view value = entry.substr(eq + 1);
        if (value.empty())
            continue;
        std::size_t start = 0;
        while (start <= value.size()) {
            auto end = value.find('\n', start);
            if (end == std::string_view::npos)
                end = value.size();
            if (end > start) {
                po::option o;
                o.string_key = name;
                o.value.emplace_back(value.substr(start, end - start));
                parsed.options.push_back(std::move(o));
            }
            start = end + 1;
        }
    }
    return parsed;
}

/// Stores the `--config` file after the command line: values already there are kept, so the
/// command line wins. Errors name a line, never its text (the file holds secrets).
void store_config_file(const std::string& file,
                       const po::options_description& options,
                       po::variables_map& vm)
{
    auto entries = domain::parse_config_file(read_private_file("config", file));
    if (!entries)
        throw bad_option{"config", "'" + file + "' " + entries.error().message};
    po::parsed_options parsed(&options);
    for (auto& e : *entries) {
        if (!options.find_nothrow(e.name, false))
            throw bad_option{
                "config",
                "'" + file + "' line " + std::to_string(e.line) + ": unknown option" +
                    (domain::printable_option_name(e.name) ? " '" + e.name + "'" : "")};
        parsed.options.emplace_back(e.name, std::vector<std::string>{std::move(e.value)});
    }
    po::store(parsed, vm);
}

/// One line for an error of Boost.Program_options: the option's name and what is wrong, never
/// the value given (it may be a secret).
std::string describe(const po::error_with_option_name& e)
{
    std::string name = e.get_option_name();
    auto bare = std::string_view(name).substr(std::min(name.find_first_not_of('-'), name.size()));
    if (!domain::printable_option_name(bare))
        name = "option";
    if (dynamic_cast<const po::invalid_option_value*>(&e) ||
        dynamic_cast<const po::invalid_bool_value*>(&e))
        return name + ": invalid value";
    if (dynamic_cast<const po::unknown_option*>(&e))
        return name == "option" ? std::string("unknown option") : name + ": unknown option";
    if (dynamic_cast<const po::invalid_config_file_syntax*>(&e))
        return name + ": malformed line in the configuration file";
    return name + ": " + e.what();
}

}  // namespace

std::variant<app_config, int>
parse(int argc, const char* const argv[], std::ostream& out, std::ostream& err)
{
    return parse(argc, argv, environ, out, err);
}

std::variant<app_config, int> parse(int argc,
                                    const char* const argv[],
                                    const char* const* envp,
                                    std::ostream& out,
                                    std::ostream& err)
{
    const auto options = describe_options();
    po::options_description command_line;
    command_line.add(options).add(describe_modes());
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(command_line).run(), vm);
        if (vm.count("help")) {
            out << "Usage: core_interceptor [OPTIONS]\n\n"
                   "Commits containers that died leaving a core dump or Java heap dump, pushes "
                   "them to a\nregistry and announces them on Kafka and/or a REST endpoint.\n\n"
                << command_line << '\n';
            return 0;
        }
        if (vm.count("version")) {
            out << "core_interceptor " << CORE_INTERCEPTOR_VERSION << '\n';
            return 0;
        }
        if (vm.count("process"))
            for (const auto& name : vm["process"].as<std::vector<std::string>>())
                if (name.empty())
                    throw bad_option{"process", "empty container name"};
        // Stored after the command line, before the file: the command line wins over the
        // environment, the environment over the file.
        po::store(environment_options(options, envp), vm);
        if (vm.count("config"))
            store_config_file(vm["config"].as<std::string>(), options, vm);
        po::notify(vm);
        return build(vm);
    } catch (const bad_option& e) {
        err << "core_interceptor: --" << e.option << ": " << e.why << '\n';
    } catch (const bad_variable& e) {
        err << "core_interceptor: " << e.name << ": " << e.why << '\n';
    } catch (const po::error_with_option_name& e) {
        err << "core_interceptor: " << describe(e) << '\n';
    } catch (const po::error& e) {
        err << "core_interceptor: " << e.what() << '\n';
    }
    return exit_usage;
}

}  // namespace core_interceptor::config
