// SPDX-License-Identifier: MIT
// HEAD /containers/{id}/archive: the X-Docker-Container-Path-Stat header, base64 of JSON.
#include "domain/path_stat.hpp"
#include "domain/registry_auth.hpp"
#include "fuzz_input.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace core_interceptor;
using namespace core_interceptor::domain;

namespace {

void check(const result<path_stat>& st, std::size_t header_size)
{
    if (!st) {
        const auto& code = st.error().code;
        FUZZ_CHECK(code == make_error_code(errc::malformed_response) ||
                   code == make_error_code(errc::limit_exceeded));
        return;
    }
    FUZZ_CHECK(header_size <= 64 * 1024);
    // The probe treats only a regular file as a dump: the mode predicates must not overlap.
    if (st->is_regular())
        FUZZ_CHECK(!st->is_dir() && !st->is_symlink());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    // The input as the header value itself: mostly exercises the base64 decoder.
    check(decode_path_stat(bytes), bytes.size());

    // The input as the JSON inside the header: the fuzzer would rarely find valid base64 of
    // JSON on its own, so the JSON side is reached through a real encoding.
    const auto header = base64_encode(bytes);
    check(decode_path_stat(header), header.size());

    // Both alphabets decode back to the bytes; path_stat relies on that for the standard one.
    auto back = base64_decode(header);
    FUZZ_CHECK(back && *back == bytes);
    auto back_url = base64_decode(base64url_encode(bytes));
    FUZZ_CHECK(back_url && *back_url == bytes);
    return 0;
}
