// SPDX-License-Identifier: MIT
// GET /events: a stream of newline-delimited JSON from dockerd, cut wherever the socket cuts it.
#include "domain/event.hpp"
#include "domain/ndjson.hpp"
#include "fuzz_input.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace core_interceptor;
using namespace core_interceptor::domain;

namespace {

struct framed {
    std::vector<std::string> lines;
    std::size_t dropped = 0;
    std::size_t pending = 0;
};

void drain(line_framer& framer, std::vector<std::string>& lines, std::size_t max_line)
{
    while (auto line = framer.next()) {
        FUZZ_CHECK(!line->empty());
        FUZZ_CHECK(line->size() <= max_line);
        FUZZ_CHECK(line->find('\n') == std::string::npos);
        lines.push_back(std::move(*line));
    }
}

// What the framer promises, written the obvious way over the whole stream: lines longer than
// max_line are dropped, one trailing '\r' goes, empty lines are skipped, and the incomplete
// last line is pending unless it is already too long.
framed reference(std::string_view stream, std::size_t max_line)
{
    framed out;
    for (;;) {
        auto nl = stream.find('\n');
        auto line = stream.substr(0, nl);
        if (line.size() > max_line) {
            ++out.dropped;
        } else if (nl == std::string_view::npos) {
            out.pending = line.size();
        } else {
            if (!line.empty() && line.back() == '\r')
                line.remove_suffix(1);
            if (!line.empty())
                out.lines.emplace_back(line);
        }
        if (nl == std::string_view::npos)
            return out;
        stream.remove_prefix(nl + 1);
    }
}

void check_event(std::string_view line)
{
    auto parsed = parse_event_line(line);
    if (!parsed) {
        FUZZ_CHECK(parsed.error().code == make_error_code(errc::malformed_event));
        return;
    }
    const auto& ev = parsed->event;
    if (parsed->kind == event_kind::die) {
        // The ID is put into request paths: it must be one the Engine could have made.
        FUZZ_CHECK(!ev.id.empty() && ev.id.size() <= 128);
        FUZZ_CHECK(std::all_of(ev.id.begin(), ev.id.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   c == '_' || c == '.' || c == '-';
        }));
        // The dedupe key and since= come from time_nano; since_param must not choke on it.
        FUZZ_CHECK(!since_param(ev.time_nano).empty());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const fuzz::cut_input input(data, size);
    // 0: the daemon's default; else small limits, so that dropping over-long lines is reached.
    const std::size_t max_line = input.param() == 0 ? std::size_t{1} << 20 : input.param() * 4u;

    // The whole stream in one feed.
    framed whole;
    {
        line_framer framer(max_line);
        framer.feed(input.stream());
        drain(framer, whole.lines, max_line);
        whole.dropped = framer.dropped();
        whole.pending = framer.pending();
    }

    // The same stream in pieces, reading lines at the points the input chooses.
    framed pieces;
    {
        line_framer framer(max_line);
        input.for_each_piece([&](std::string_view piece, bool read_now) {
            framer.feed(piece);
            if (read_now)
                drain(framer, pieces.lines, max_line);
        });
        drain(framer, pieces.lines, max_line);
        pieces.dropped = framer.dropped();
        pieces.pending = framer.pending();
    }

    const auto expected = reference(input.stream(), max_line);
    FUZZ_CHECK(whole.lines == expected.lines);
    FUZZ_CHECK(whole.dropped == expected.dropped);
    FUZZ_CHECK(whole.pending == expected.pending);

    // Where the socket cuts the stream must not change what is read from it.
    FUZZ_CHECK(pieces.lines == whole.lines);
    FUZZ_CHECK(pieces.dropped == whole.dropped);
    FUZZ_CHECK(pieces.pending == whole.pending);

    for (const auto& line : whole.lines)
        check_event(line);
    return 0;
}
