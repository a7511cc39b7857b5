// SPDX-License-Identifier: MIT
// IMAGE_NAME (SPEC §3) from a container's Config.Image, and --registry: whatever the Engine
// reports, the reference we commit and push as must be one a registry accepts.
#include "domain/image_name.hpp"
#include "fuzz_input.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace core_interceptor::domain;

namespace {

bool is_lower_alnum(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One component matches [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* (SPEC §3).
bool valid_component(std::string_view c) noexcept
{
    if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back()))
        return false;
    std::size_t i = 0;
    while (i < c.size()) {
        if (is_lower_alnum(c[i])) {
            ++i;
            continue;
        }
        auto end = i;
        while (end < c.size() && !is_lower_alnum(c[end]))
            ++end;
        auto run = c.substr(i, end - i);
        bool dashes = run.find_first_not_of('-') == std::string_view::npos;
        if (run != "." && run != "_" && run != "__" && !dashes)
            return false;
        i = end;
    }
    return true;
}

// Components separated by single '/'.
bool valid_repository_path(std::string_view path) noexcept
{
    for (;;) {
        auto slash = path.find('/');
        if (!valid_component(path.substr(0, slash)))
            return false;
        if (slash == std::string_view::npos)
            return true;
        path.remove_prefix(slash + 1);
    }
}

// The next '\n'-terminated field; the last field is the rest of the input.
std::string_view next_field(std::string_view& rest, bool last = false)
{
    auto nl = last ? std::string_view::npos : rest.find('\n');
    auto field = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    return field;
}

}  // namespace

// Input, one field a line: max_length (decimal; empty or not a number: the default),
// Config.Image, the image ID, --registry (the rest of the input).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    const auto max_text = next_field(rest);
    const auto config_image = next_field(rest);
    const auto image_id = next_field(rest);
    const auto registry_text = next_field(rest, true);

    std::size_t max_length = 255 - 13;
    const bool explicit_max = !max_text.empty() && max_text.size() <= 4 &&
                              max_text.find_first_not_of("0123456789") == std::string_view::npos;
    if (explicit_max)
        max_length = std::stoul(std::string(max_text));

    const auto name = explicit_max ? image_name(config_image, image_id, max_length)
                                   : image_name(config_image, image_id);
    FUZZ_CHECK(name.size() <= max_length);
    // The contract holds for any room of at least one character ("image" is cut to fit).
    if (max_length >= 1)
        FUZZ_CHECK(valid_repository_path(name));

    const auto tag = image_tag(config_image);
    FUZZ_CHECK(tag.size() <= 12);

    const auto registry = parse_registry(registry_text);
    if (registry) {
        FUZZ_CHECK(!registry->host.empty());
        FUZZ_CHECK(registry->host.find('/') == std::string::npos);
        // Docker reads a first component with no '.' or ':' as a Docker Hub path.
        FUZZ_CHECK(registry->host.find_first_of(".:") != std::string::npos ||
                   registry->host == "localhost");
        FUZZ_CHECK(registry->prefix.empty() || valid_repository_path(registry->prefix));
        const auto room = max_image_name_length(registry);
        FUZZ_CHECK(room >= 32);

        // The pushed reference REGISTRY/[PREFIX/]IMAGE_NAME:TAG stays within 255.
        const auto pushed = image_name(config_image, image_id, room);
        const auto repo = repository(registry, pushed);
        FUZZ_CHECK(repo.size() + 1 + 12 <= 255);
        FUZZ_CHECK(repo.substr(0, registry->host.size() + 1) == registry->host + "/");
        FUZZ_CHECK(valid_repository_path(std::string_view(repo).substr(registry->host.size() + 1)));
    }
    // Without a registry the image stays local under its bare name.
    FUZZ_CHECK(repository(std::nullopt, name) == name);
    return 0;
}
