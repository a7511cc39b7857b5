// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace core_interceptor::docker {

/// Settings of the Engine API client. Every request/response call has a deadline; streams
/// (events, push progress) have none and are ended by their owner.
struct client_config {
    /// unix:///path, tcp://host:port (SPEC §2 `--docker-host`).
    std::string host = "unix:///var/run/docker.sock";
    /// TLS to a tcp:// Engine, as the docker CLI's DOCKER_TLS_VERIFY: the Engine's certificate
    /// is verified against `cert_path`/ca.pem and must name the host; `cert_path`/cert.pem and
    /// key.pem are the client certificate the Engine asks for.
    bool tls_verify = false;
    /// The directory of ca.pem, cert.pem and key.pem (DOCKER_CERT_PATH; ~/.docker when unset).
    std::string cert_path;
    std::chrono::seconds connect_timeout{5};
    /// inspect, changes, archive stat/probe, delete, version.
    std::chrono::seconds request_timeout{30};
    /// POST /commit writes the whole writable layer (a dump can be gigabytes).
    std::chrono::seconds commit_timeout{600};
    /// Longest silence on a push progress stream before the push is abandoned.
    std::chrono::seconds push_idle_timeout{300};
    /// Largest response body read whole (inspect, changes): a container with a million
    /// changed files still fits; beyond it the container is reported, the daemon carries on.
    std::size_t max_body_bytes = 64 * 1024 * 1024;
    /// Largest response header block: Engine headers are a few hundred bytes.
    std::size_t max_header_bytes = 64 * 1024;
    /// Longest line of a streamed NDJSON body (events, push progress).
    std::size_t max_line_bytes = 1024 * 1024;
    /// Where copied dumps wait, in an unlinked file, between the archive read and the archive
    /// write: the Engine locks a container while its archive is read, so the two cannot overlap.
    std::string spool_dir = "/var/tmp";
    /// Connections kept open between calls (HTTP/1.1 keep-alive), so that a call finds one
    /// ready instead of connecting; the event stream and a probe that hangs up early never go
    /// back. The daemon keeps one for each probe and capture that may run at once, plus a few
    /// (config: build).
    std::size_t max_idle_connections = 6;
    /// An idle connection is not reused after this long (closed at the next call).
    std::chrono::milliseconds idle_timeout{4000};
};

}  // namespace core_interceptor::docker
