// SPDX-License-Identifier: MIT
#include "config/options.hpp"

#include "config/detail.hpp"

#include <boost/program_options.hpp>

#include <iostream>
#include <string>
#include <vector>

extern char** environ;

namespace po = boost::program_options;

namespace core_interceptor::config {
namespace {

using namespace detail;

/// The options of the command line, the environment and --config: the peers first.
void add_peer_options(po::options_description& general)
{
    // clang-format off
    general.add_options()
        ("help,h", "print this help and exit")
        ("version", "print the version and exit")
        ("config,c", po::value<std::string>()->value_name("FILE"),
            "INI file; keys are the long option names; the command line wins")
        ("docker-host", po::value<std::string>()->value_name("URL"),
            "Docker daemon: unix:///path or tcp://host:port "
            "(default: $DOCKER_HOST, else unix:///var/run/docker.sock)")
        ("docker-tls-verify", po::bool_switch(),
            "TLS to a tcp:// Docker daemon, verifying its certificate and presenting ours "
            "(default: on when $DOCKER_TLS_VERIFY is set)")
        ("docker-cert-path", po::value<std::string>()->value_name("DIR"),
            "directory of ca.pem, cert.pem and key.pem for --docker-tls-verify "
            "(default: $DOCKER_CERT_PATH, else $DOCKER_CONFIG, else ~/.docker)")
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
            "unencrypted PEM private key of --rest-client-cert; not readable by other users");
    // clang-format on
}

/// The options of a job, the state, the limits and the logs, in --help's order.
void add_job_options(po::options_description& general)
{
    // clang-format off
    general.add_options()
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
            "containers being captured (committed, pushed, deleted) at once; each is announced "
            "after its slot goes back")
        ("max-probes", po::value<std::string>()->value_name("N")->default_value("4"),
            "dead containers probed for dumps at once, in each of two lanes: failures, crashes "
            "(exit code 128 + a core-dumping signal) first; and clean exits, once no failure "
            "or capture waits or runs (or after 10 s)")
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
}

po::options_description describe_options()
{
    po::options_description general("Options");
    add_peer_options(general);
    add_job_options(general);
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
