// SPDX-License-Identifier: MIT
// The triage of a dump (issue 12): the notes of a core and the header of an hprof, read from
// the file's first bytes as the probe gets them from GET /containers/{id}/archive.
#include "domain/crash.hpp"
#include "fuzz_input.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace core_interceptor;
using namespace core_interceptor::domain;

namespace {

void check_valid_utf8_json(const boost::json::object& o)
{
    // The serializer and the parser agree: what goes to the sinks parses back.
    const auto text = boost::json::serialize(o);
    boost::system::error_code ec;
    const auto back = boost::json::parse(text, ec);
    FUZZ_CHECK(!ec);
    FUZZ_CHECK(back.is_object() && back.as_object() == o);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const fuzz::cut_input input(data, size);
    const std::string_view file = input.stream();
    // The cap: 0 is the default, else a small one to reach the edges.
    const std::size_t cap = input.param() == 0 ? default_notes_cap : input.param() * 16u;

    // The probe's loop: read until core_notes_end says the prefix is enough.
    std::string_view prefix = file.substr(0, 32);
    for (int rounds = 0;; ++rounds) {
        FUZZ_CHECK(rounds < 8);
        const auto end = core_notes_end(prefix, cap);
        FUZZ_CHECK(end >= prefix.size());
        if (end == prefix.size() || prefix.size() == file.size())
            break;  // enough, or the end of the file
        FUZZ_CHECK(end <= cap);
        prefix = file.substr(0, end);
    }

    auto whole = read_core_notes(file);
    auto cut = read_core_notes(prefix);
    FUZZ_CHECK(whole.has_value() == cut.has_value() || file.size() < 18 || prefix.size() < 18);
    if (whole) {
        if (whole->threads)
            FUZZ_CHECK(whole->complete && *whole->threads >= 0);
        if (whole->signature.empty() == false)
            FUZZ_CHECK(whole->signature.size() == 16 && whole->signal);
        check_valid_utf8_json(to_json(*whole));
        (void)summary(*whole);
        // What the probe reads when the file is cut nowhere is what the whole file says.
        if (cut && cut->complete)
            FUZZ_CHECK(*cut == *whole);
        // A cut prefix tells less, never something else (the signal aside: NT_PRSTATUS gives
        // it until NT_SIGINFO is in).
        if (cut) {
            FUZZ_CHECK(!cut->threads || cut->complete);
            FUZZ_CHECK(!cut->pid || cut->pid == whole->pid);
            FUZZ_CHECK(!cut->uid || cut->uid == whole->uid);
            FUZZ_CHECK(!cut->si_code || cut->si_code == whole->si_code);
            FUZZ_CHECK(!cut->fault_address || cut->fault_address == whole->fault_address);
            FUZZ_CHECK(cut->command.empty() || cut->command == whole->command);
            FUZZ_CHECK(cut->command_line.empty() || cut->command_line == whole->command_line);
            FUZZ_CHECK(cut->executable.empty() || cut->executable == whole->executable);
            FUZZ_CHECK(!cut->frame || cut->frame == whole->frame);
            FUZZ_CHECK(cut->signature.empty() || cut->signature == whole->signature);
        }
    }
    if (cut) {
        check_valid_utf8_json(to_json(*cut));
        (void)summary(*cut);
    }

    // Every cut of the stream's pieces gives a prefix the reader must survive.
    std::size_t at = 0;
    input.for_each_piece([&](std::string_view piece, bool) {
        at += piece.size();
        auto part = read_core_notes(file.substr(0, at));
        if (part)
            check_valid_utf8_json(to_json(*part));
        (void)core_notes_end(file.substr(0, at), cap);
    });

    if (auto heap = read_hprof_header(file)) {
        FUZZ_CHECK(heap->format.substr(0, 13) == "JAVA PROFILE ");
        check_valid_utf8_json(to_json(*heap));
    }
    (void)signal_name(static_cast<int>(input.param()) - 64);
    return 0;
}
