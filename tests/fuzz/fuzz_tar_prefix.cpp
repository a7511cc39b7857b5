// SPDX-License-Identifier: MIT
// The dump probe (SPEC §4): the changes list, and the first bytes of the tar stream from
// GET /containers/{id}/archive, read until the candidate's first bytes are in.
#include "domain/dump.hpp"
#include "fuzz_input.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace core_interceptor;
using namespace core_interceptor::domain;

namespace {

struct outcome {
    std::size_t used = 0;
    bool done = false;
    bool failed = false;
    std::string content;
    std::int64_t file_size = 0;

    bool operator==(const outcome&) const = default;
};

outcome summarise(const tar_prefix_reader& reader, std::size_t used)
{
    outcome o{used, reader.done(), reader.failed(), {}, 0};
    if (reader.done()) {
        o.content = reader.content();
        o.file_size = reader.file_size();
    }
    return o;
}

void check_candidates(std::string_view body,
                      const std::vector<std::string>& patterns,
                      std::size_t max_entries)
{
    auto found = dump_candidates(body, patterns, max_entries);
    if (!found) {
        const auto& code = found.error().code;
        FUZZ_CHECK(code == make_error_code(errc::malformed_response) ||
                   code == make_error_code(errc::limit_exceeded));
        return;
    }
    FUZZ_CHECK(found->size() <= max_entries);
    for (const auto& path : *found)
        FUZZ_CHECK(matches_dump_pattern(patterns, path));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const fuzz::cut_input input(data, size);
    // 0: what classify needs; else 0..254 bytes, to reach the edges (want 0, want 1, ...).
    const std::size_t want = input.param() == 0 ? magic_bytes : input.param() - 1u;

    tar_prefix_reader whole_reader(want);
    const auto whole = summarise(whole_reader, whole_reader.feed(input.stream()));

    tar_prefix_reader reader(want);
    std::size_t used = 0;
    input.for_each_piece([&](std::string_view piece, bool) {
        auto n = reader.feed(piece);
        FUZZ_CHECK(n <= piece.size());
        // A reader that has not finished takes every byte it is given.
        if (!reader.done() && !reader.failed())
            FUZZ_CHECK(n == piece.size());
        used += n;
    });
    const auto pieces = summarise(reader, used);

    // How the socket cuts the archive must not change what is read from it.
    FUZZ_CHECK(pieces == whole);
    FUZZ_CHECK(!(whole.done && whole.failed));
    if (whole.done) {
        FUZZ_CHECK(whole.file_size >= 0);
        const auto expected =
            std::min<std::uint64_t>(want, static_cast<std::uint64_t>(whole.file_size));
        FUZZ_CHECK(whole.content.size() == expected);
        (void)classify(whole.content);
    }
    // Once finished, the reader takes nothing more: the probe drops the connection there.
    if (reader.done() || reader.failed())
        FUZZ_CHECK(reader.feed("more bytes") == 0);

    (void)classify(input.stream());

    // The same bytes as a GET /containers/{id}/changes body.
    const auto patterns = default_dump_patterns();
    check_candidates(input.stream(), patterns, 1'000'000);
    check_candidates(input.stream(), patterns, input.param());
    return 0;
}
