// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "domain/api_version.hpp"
#include "domain/engine_answers.hpp"
#include "domain/image_name.hpp"

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::check {

/// How one check ended. A warning is printed but does not fail `--check`.
enum class verdict { ok, warn, fail };

/// One line of `--check`: which check, how it ended, and why.
struct outcome {
    std::string name;
    verdict v = verdict::fail;
    std::string reason;
};

/// A failed check of `name`, for `reason`.
outcome failed(std::string name, std::string reason);

/// "OK   docker: unix:///var/run/docker.sock, Docker Engine 20.10.24, API 1.41, image store
/// overlay2 (…)": the verdict padded
/// to one column, the name, the reason; no line break (any in the reason become spaces).
std::string format(const outcome& o);

/// Exit status of `--check`: 0 when nothing failed (warnings included), 1 otherwise.
int exit_status(std::span<const outcome> outcomes);

/// What `GET /version` of the Engine says, and its parser (one for the daemon and the check).
using domain::engine_version;
using domain::parse_engine_version;

/// The oldest Engine API `--check` accepts: 1.25 (Engine 1.13, 2017). Older Engines are long
/// out of support and were never tried with the calls the jobs make.
inline constexpr domain::api_version oldest_api_version{1, 25};

/// The docker check's verdict once `GET /version` answered: OK with the version in use, FAIL
/// when the daemon is older than oldest_api_version, WARN when its minimum is newer than ours
/// (its answers may carry fields we do not know). The engine is named (Docker Engine or Podman
/// Engine, with its version); `image_store` (domain::parse_image_store, or why it is unknown)
/// follows the API version when given.
outcome docker_outcome(std::string_view endpoint,
                       const engine_version& v,
                       std::string_view image_store = {});

/// A connection or exchange failure in an operator's words: "127.0.0.1:5999 refused the
/// connection", "/run/docker.sock does not exist", "… did not answer within 5 s".
/// `where` names the peer (an address, a socket path or a URL); `timeout` is the deadline
/// that applied, for the words of a timeout.
std::string
describe_failure(const failure& f, std::string_view where, std::chrono::seconds timeout);

/// The reason of a docker check that got EACCES on a unix socket: names the socket, its
/// owner and mode, and that `user` needs access to it (e.g. through group `group`).
std::string socket_access_reason(std::string_view socket_path,
                                 std::string_view owner,
                                 std::string_view group,
                                 unsigned mode,
                                 std::string_view user);

/// The core_pattern check's verdict for the content of /proc/sys/kernel/core_pattern
/// (nullopt: unreadable, with `why`). A pipe is a WARN, as at start-up (SPEC §4.4): heap
/// dumps and cores the applications write themselves are still found.
outcome core_pattern_outcome(const std::optional<std::string>& pattern, std::string_view why = {});

/// Whether a registry host ("127.0.0.1:5000", "localhost", "[::1]:5000") is on loopback.
bool is_loopback_registry(std::string_view host);

/// Where `--check` asks a registry directly: `http://HOST/v2/` for a loopback host (the
/// Docker daemon treats 127.0.0.0/8 as an insecure registry and speaks plain HTTP to it),
/// `https://HOST/v2/` for every other host (with certificate verification).
std::string registry_probe_url(const domain::registry_target& r);

/// The direct registry check's verdict for the answer to `GET /v2/`: 200 is OK; 401 is OK
/// only when credentials were given and the registry asks for a token login (checked
/// through the Docker daemon); 401 without credentials, 401 to Basic credentials and any
/// other status are FAIL.
outcome registry_outcome(std::string_view url,
                         unsigned status,
                         const std::string* www_authenticate,
                         bool have_credentials);

/// The verdict of the Docker daemon's `POST /auth` for `host`: 200 is OK, anything else FAIL
/// with the daemon's message.
outcome registry_dockerd_outcome(std::string_view host,
                                 unsigned status,
                                 std::string_view body,
                                 bool have_credentials);

/// The registry-dockerd verdict when the Engine is Podman: its `POST /auth` tries HTTPS only
/// (but for "localhost:"), while its pushes follow registries.conf, which may mark the
/// registry insecure (plain HTTP). A login that failed only on that is a WARN saying so.
outcome podman_login_outcome(outcome o, std::string_view host);

/// The `POST /auth` body for `host` from an X-Registry-Auth value (base64url JSON): its
/// credentials, always with `serveraddress` set to `host`, so that the daemon never falls
/// back to its default registry.
result<std::string> auth_request_body(std::string_view registry_auth, std::string_view host);

/// `Authorization: Basic …` for the credentials in an X-Registry-Auth value; nullopt when it
/// has no username and password.
std::optional<std::string> basic_authorization(std::string_view registry_auth);

/// What a Kafka metadata request found.
struct kafka_answer {
    std::vector<std::string> brokers;  ///< the brokers of the cluster ("host:port")
    bool topic_found = false;
    int partitions = 0;
    std::string topic_error;  ///< an error the cluster reported for the topic, if any
};

/// The Kafka check's verdict: FAIL when no broker answered (`r` failed: its message, else its
/// description, is the reason), when the topic does
/// not exist or reports an error; OK with the broker and partition count otherwise.
outcome
kafka_outcome(std::string_view brokers, std::string_view topic, const result<kafka_answer>& r);

/// The URL as it may be printed: userinfo, query and fragment (where tokens go) replaced by
/// "***" ("https://***@host/path?***"); text that is no URL becomes "(the --rest-url value)".
std::string redact_url(std::string_view url);

/// The REST check's verdict for `OPTIONS <url>`: any HTTP status means the endpoint is
/// reachable (no notification is sent); a connection or TLS failure is FAIL, its message
/// (describe_failure's words) the reason.
outcome rest_outcome(std::string_view url, const result<unsigned>& status);

}  // namespace core_interceptor::check
