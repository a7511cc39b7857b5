// SPDX-License-Identifier: MIT
#pragma once

#include "docker/api.hpp"
#include "domain/volume_dump.hpp"
#include "log/log.hpp"
#include "pipeline/config.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::pipeline {

/// Probes each `--dump-path` directory of a dead container (one archive call each, reading
/// member headers and the first bytes of candidates only; a missing directory holds nothing).
/// Completes with the directories to copy from: those where a dump was found, and those the
/// probe could not settle within `cfg.dump_path_probe_bytes`. A directory the Engine refuses
/// is logged and left out. Fails only with operation_aborted (terminal cancellation) or a
/// transient failure of the connection (see `transient`).
boost::asio::awaitable<result<std::vector<std::string>>>
probe_dump_paths(docker::api& docker,
                 std::string id,
                 std::string name,
                 const config& cfg,
                 domain::dump_filter skip,
                 std::vector<log::field> fields);

/// Copies the dumps of `dirs` into the container's own filesystem under
/// domain::copied_dumps_root, streaming each directory's archive into a PUT, within
/// `cfg.max_dump_size` for all of them together. Completes with every dump seen, copied or
/// not (`copied_to` empty): one too large is logged as a warning naming the container, the
/// path and its size; a failed copy is logged as an error and its dumps reported as not
/// copied. Fails like probe_dump_paths.
boost::asio::awaitable<result<std::vector<domain::archive_dump>>>
copy_dump_paths(docker::api& docker,
                std::string id,
                std::string name,
                std::vector<std::string> dirs,
                const config& cfg,
                domain::dump_filter skip,
                std::vector<log::field> fields);

}  // namespace core_interceptor::pipeline
