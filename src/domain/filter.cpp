// SPDX-License-Identifier: MIT
#include "domain/filter.hpp"

#include <fnmatch.h>

#include <algorithm>

namespace core_interceptor::domain {
namespace {

const std::string* attribute(const die_event& ev, std::string_view key)
{
    for (const auto& [k, v] : ev.attributes)
        if (k == key)
            return &v;
    return nullptr;
}

bool matches(const label_match& m, const die_event& ev)
{
    const std::string* v = attribute(ev, m.key);
    return v && (!m.value || *v == *m.value);
}

std::string describe(const label_match& m)
{
    return m.value ? m.key + "=" + *m.value : m.key;
}

}  // namespace

std::optional<label_match> parse_label_match(std::string_view text)
{
    auto eq = text.find('=');
    label_match m;
    m.key = std::string(text.substr(0, eq));
    if (m.key.empty())
        return std::nullopt;
    if (eq != std::string_view::npos)
        m.value = std::string(text.substr(eq + 1));
    return m;
}

std::string familiar_reference(std::string_view image)
{
    for (std::string_view hub : {"docker.io/", "index.docker.io/", "registry-1.docker.io/"})
        if (image.starts_with(hub)) {
            image.remove_prefix(hub.size());
            constexpr std::string_view library = "library/";
            const auto rest = image.substr(std::min(library.size(), image.size()));
            if (image.starts_with(library) && !rest.empty() &&
                rest.find('/') == std::string_view::npos)
                image = rest;
            break;
        }
    return std::string(image);
}

bool accepts(const container_filter& f, const die_event& ev, std::string* why)
{
    auto no = [&](std::string reason) {
        if (why)
            *why = std::move(reason);
        return false;
    };
    if (const std::string* skip = attribute(ev, skip_label); skip && *skip == "true")
        return no(std::string(skip_label) + "=true");
    for (const auto& m : f.exclude_labels)
        if (matches(m, ev))
            return no("--exclude-label " + describe(m));
    for (const auto& m : f.include_labels)
        if (!matches(m, ev))
            return no("--include-label " + describe(m) + " not matched");
    const std::string familiar = familiar_reference(ev.image);
    if (!f.include_images.empty() &&
        std::none_of(f.include_images.begin(), f.include_images.end(), [&](const std::string& g) {
            return ::fnmatch(g.c_str(), ev.image.c_str(), 0) == 0 ||
                   ::fnmatch(g.c_str(), familiar.c_str(), 0) == 0;
        }))
        return no("--include-image not matched by " + ev.image);
    return true;
}

}  // namespace core_interceptor::domain
