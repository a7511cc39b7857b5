// SPDX-License-Identifier: MIT
// POST /images/{name}/push: the progress stream from dockerd, framed and folded into an outcome.
#include "domain/ndjson.hpp"
#include "domain/push_stream.hpp"
#include "fuzz_input.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

using namespace core_interceptor;
using namespace core_interceptor::domain;

namespace {

// Tags the pipeline pushes (12 characters of a container ID) and a few the seeds use.
constexpr std::string_view tags[] = {"", "abc", "latest", "5e68961453ff"};

struct outcome {
    std::size_t lines = 0;
    bool failed = false;
    bool succeeded = false;
    std::string error;
    std::string digest;
    std::size_t malformed = 0;

    bool operator==(const outcome&) const = default;
};

outcome summarise(const push_stream_parser& parser, std::size_t lines)
{
    return {lines,
            parser.failed(),
            parser.succeeded(),
            parser.error(),
            parser.digest(),
            parser.malformed_lines()};
}

void check(const outcome& o)
{
    FUZZ_CHECK(o.malformed <= o.lines);
    FUZZ_CHECK(!(o.succeeded && o.failed));
    // A failure is reported with a message, never an empty one.
    FUZZ_CHECK(o.failed == !o.error.empty());
    if (o.succeeded)
        FUZZ_CHECK(!o.digest.empty());
    if (!o.digest.empty()) {
        // "<algorithm>:<hex>": the digest ends up in the notification as it is.
        auto colon = o.digest.find(':');
        FUZZ_CHECK(colon != std::string::npos && colon > 0);
        FUZZ_CHECK(o.digest.size() - colon - 1 >= 32);
        FUZZ_CHECK(std::all_of(o.digest.begin() + colon + 1, o.digest.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        }));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const fuzz::cut_input input(data, size);
    const std::string tag(tags[input.param() & 3]);
    const std::size_t max_line =
        (input.param() >> 2) == 0 ? std::size_t{1} << 20 : (input.param() >> 2) * 16u;

    auto run = [&](auto&& feed_all) {
        line_framer framer(max_line);
        push_stream_parser parser(tag);
        std::size_t lines = 0;
        auto read_lines = [&] {
            while (auto line = framer.next()) {
                parser.on_line(*line);
                ++lines;
            }
        };
        feed_all(framer, read_lines);
        read_lines();
        return summarise(parser, lines);
    };

    auto whole = run([&](line_framer& framer, auto&&) { framer.feed(input.stream()); });
    auto pieces = run([&](line_framer& framer, auto&& read_lines) {
        input.for_each_piece([&](std::string_view piece, bool read_now) {
            framer.feed(piece);
            if (read_now)
                read_lines();
        });
    });

    check(whole);
    FUZZ_CHECK(pieces == whole);
    return 0;
}
