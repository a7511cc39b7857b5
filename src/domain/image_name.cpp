// SPDX-License-Identifier: MIT
#include "domain/image_name.hpp"

#include "domain/short_id.hpp"

#include <algorithm>
#include <vector>

namespace core_interceptor::domain {
namespace {

// A reference may be at most 255 characters long (distribution/reference NameTotalLengthMax);
// the tag we append is ":" + 12 characters.
constexpr std::size_t reference_max = 255;
constexpr std::size_t tag_suffix = 1 + short_id_length;
// A --registry that leaves less room than this for IMAGE_NAME is a configuration mistake.
constexpr std::size_t min_name_room = 32;

bool is_lower_alnum(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_hex(char c) noexcept
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool all_hex(std::string_view s) noexcept
{
    return !s.empty() && std::all_of(s.begin(), s.end(), is_hex);
}

char to_lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), to_lower);
    return out;
}

std::vector<std::string_view> split(std::string_view s, char sep)
{
    std::vector<std::string_view> parts;
    for (;;) {
        auto at = s.find(sep);
        parts.push_back(s.substr(0, at));
        if (at == std::string_view::npos)
            return parts;
        s.remove_prefix(at + 1);
    }
}

bool is_separator(std::string_view run) noexcept
{
    if (run == "." || run == "_" || run == "__")
        return true;
    return !run.empty() && std::all_of(run.begin(), run.end(), [](char c) { return c == '-'; });
}

// One path component made to match [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*: a run between two
// alphanumeric runs that is not a valid separator becomes "_"; runs at either end go.
std::string sanitise_component(std::string_view raw)
{
    std::string out;
    std::string run;
    for (char c : raw) {
        c = to_lower(c);
        if (is_lower_alnum(c)) {
            if (!out.empty() && !run.empty())
                out += is_separator(run) ? run : std::string("_");
            run.clear();
            out += c;
        } else {
            run += c;
        }
    }
    return out;
}

std::string sanitise_path(std::string_view raw)
{
    std::string out;
    for (auto part : split(raw, '/')) {
        auto component = sanitise_component(part);
        if (component.empty())
            continue;
        if (!out.empty())
            out += '/';
        out += component;
    }
    return out;
}

// Cuts a sanitised path to `max` characters. A prefix of a valid component that ends in an
// alphanumeric character is itself valid, so trimming trailing separators and '/' suffices.
std::string truncate_path(std::string path, std::size_t max)
{
    if (path.size() <= max)
        return path;
    path.resize(max);
    while (!path.empty() && !is_lower_alnum(path.back()))
        path.pop_back();
    return path;
}

std::string_view id_hex(std::string_view image_id) noexcept
{
    constexpr std::string_view algo = "sha256:";
    if (image_id.substr(0, algo.size()) == algo)
        image_id.remove_prefix(algo.size());
    return image_id;
}

// The hex digits of the image ID when `config_image` names the image by its ID rather than by
// a reference: "sha256:<hex>", a 64-hex ID, or a 12..64-hex prefix of `image_id`.
std::optional<std::string> image_id_of(std::string_view config_image, std::string_view image_id)
{
    constexpr std::string_view algo = "sha256:";
    const auto own_hex = lower(id_hex(image_id));
    if (config_image.substr(0, algo.size()) == algo) {
        auto hex = config_image.substr(algo.size());
        if (all_hex(hex) && hex.size() >= short_id_length)
            return lower(hex);
        return std::nullopt;
    }
    if (!all_hex(config_image) || config_image.size() < short_id_length || config_image.size() > 64)
        return std::nullopt;
    auto hex = lower(config_image);
    if (hex.size() == 64)
        return hex;
    if (all_hex(own_hex) && own_hex.substr(0, hex.size()) == hex)
        return own_hex;
    return std::nullopt;
}

bool is_domain(std::string_view component) noexcept
{
    return component.find_first_of(".:") != std::string_view::npos || component == "localhost";
}

bool valid_host(std::string_view host) noexcept
{
    if (host.empty())
        return false;
    std::string_view name = host;
    std::string_view port;
    if (host.front() == '[') {
        // [IPv6]:port
        auto close = host.find(']');
        if (close == std::string_view::npos || close == 1)
            return false;
        auto inner = host.substr(1, close - 1);
        if (!std::all_of(inner.begin(), inner.end(), [](char c) { return is_hex(c) || c == ':'; }))
            return false;
        auto rest = host.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return false;
            port = rest.substr(1);
            if (port.empty())
                return false;
        }
        name = {};
    } else if (auto colon = host.find(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port = host.substr(colon + 1);
        if (port.empty())
            return false;
    }
    if (!port.empty()) {
        if (port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return false;
        if (std::stoul(std::string(port)) > 65535)
            return false;
    }
    if (host.front() == '[')
        return true;
    if (name.empty())
        return false;
    // Hostname labels: alphanumerics and inner hyphens, separated by single dots.
    for (auto label : split(name, '.')) {
        if (label.empty() || label.front() == '-' || label.back() == '-')
            return false;
        for (char c : label) {
            if (!is_lower_alnum(to_lower(c)) && c != '-')
                return false;
        }
    }
    return true;
}

bool is_docker_hub(std::string_view domain) noexcept
{
    return domain == "docker.io" || domain == "index.docker.io" || domain == "registry-1.docker.io";
}

/// The repository path as the docker CLI shows it: without its registry domain, and for Docker
/// Hub without "library/" (Podman reports "docker.io/library/app" where Docker says "app").
std::string_view familiar_path(std::string_view name) noexcept
{
    auto components = split(name, '/');
    bool hub = true;
    if (components.size() > 1 && is_domain(components.front())) {
        hub = is_docker_hub(components.front());
        name.remove_prefix(components.front().size() + 1);
    }
    constexpr std::string_view library = "library/";
    if (hub && name.substr(0, library.size()) == library &&
        name.find('/', library.size()) == std::string_view::npos && name.size() > library.size())
        name.remove_prefix(library.size());
    return name;
}

}  // namespace

std::optional<registry_target> parse_registry(std::string_view text)
{
    if (text.find("://") != std::string_view::npos)
        return std::nullopt;
    while (!text.empty() && text.back() == '/')
        text.remove_suffix(1);
    if (text.empty())
        return std::nullopt;

    registry_target target;
    auto slash = text.find('/');
    target.host = std::string(text.substr(0, slash));
    if (slash != std::string_view::npos)
        target.prefix = std::string(text.substr(slash + 1));

    if (!valid_host(target.host))
        return std::nullopt;
    // Docker reads a first component without '.' or ':' that is not "localhost" as a path on
    // Docker Hub: such a --registry would silently push there.
    if (!is_domain(target.host))
        return std::nullopt;
    if (!target.prefix.empty()) {
        for (auto part : split(target.prefix, '/')) {
            if (part.empty() || sanitise_component(part) != part)
                return std::nullopt;
        }
    }
    if (max_image_name_length(target) < min_name_room)
        return std::nullopt;
    return target;
}

std::string
image_name(std::string_view config_image, std::string_view image_id, std::size_t max_length)
{
    std::string raw;
    if (auto id = image_id_of(config_image, image_id)) {
        raw = "image_" + short_id(*id);
    } else {
        std::string_view name = config_image;
        std::string suffix;

        // "name@algo:hex": the digest pins the content, and Docker ignores a tag next to it.
        if (auto at = name.rfind('@'); at != std::string_view::npos) {
            auto digest = name.substr(at + 1);
            auto colon = digest.find(':');
            if (colon != std::string_view::npos && colon > 0 && all_hex(digest.substr(colon + 1))) {
                suffix = std::string(digest.substr(colon + 1, short_id_length));
                name = name.substr(0, at);
            }
        }
        // A ':' after the last '/' starts the tag; one before it belongs to a host:port.
        auto last_slash = name.rfind('/');
        auto colon = name.rfind(':');
        if (colon != std::string_view::npos &&
            (last_slash == std::string_view::npos || colon > last_slash)) {
            if (suffix.empty())
                suffix = std::string(name.substr(colon + 1));
            name = name.substr(0, colon);
        }

        name = familiar_path(name);

        // The tag never holds a '/': it is what follows the last ':' after the last '/'.
        raw = std::string(name);
        if (!suffix.empty())
            raw += "_" + suffix;
    }

    auto out = truncate_path(sanitise_path(raw), max_length);
    if (out.empty())
        out = truncate_path("image", max_length);
    return out;
}

std::string image_tag(std::string_view container_id)
{
    return short_id(container_id);
}

std::string repository(const std::optional<registry_target>& registry, std::string_view name)
{
    std::string out;
    if (registry) {
        out = registry->host + "/";
        if (!registry->prefix.empty())
            out += registry->prefix + "/";
    }
    out += name;
    return out;
}

std::size_t max_image_name_length(const std::optional<registry_target>& registry)
{
    auto used = repository(registry, "").size() + tag_suffix;
    return used >= reference_max ? 0 : reference_max - used;
}

}  // namespace core_interceptor::domain
