// SPDX-License-Identifier: MIT
#pragma once

#include "docker/api.hpp"
#include "domain/crash.hpp"
#include "domain/notification.hpp"
#include "log/log.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core_interceptor::pipeline {

/// What the probe reads of a candidate's start (issue 12): its magic, and for a core on to
/// the end of its note segment, never more than `notes_cap` bytes; the read stops there.
docker::prefix_need probe_need(std::size_t notes_cap);

/// Fills `d.crash` (a core's notes) or `d.heap` (an hprof's header) from the candidate's first
/// bytes; a field that cannot be read is left out, never guessed.
void read_triage(domain::dump_info& d, std::string_view head);

/// The journal fields of a crash, named as systemd-coredump names them: COREDUMP_SIGNAL,
/// COREDUMP_SIGNAL_NAME, COREDUMP_EXE, COREDUMP_CMDLINE, plus COREDUMP_SIGNATURE; an unknown
/// one is left out.
std::vector<log::field> crash_fields(const domain::crash_info& c);

/// The image labels of a crash: core_interceptor.signal ("SIGSEGV"), .signature, .executable;
/// an unknown one is left out.
std::vector<std::pair<std::string, std::string>> crash_labels(const domain::crash_info& c);

/// ", which died of SIGSEGV in /usr/bin/app (libfoo.so.1+0x1a2b)," for a log line; "" when
/// nothing is known of the crash.
std::string died_of(const domain::crash_info* c);

/// "SIGSEGV", or the number of a signal without a name ("" when unknown): the label of the
/// crashes metric.
std::string signal_label(const domain::crash_info& c);

}  // namespace core_interceptor::pipeline
