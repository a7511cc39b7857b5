// SPDX-License-Identifier: MIT
#include "metrics/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace core_interceptor::metrics {
namespace {

const char* type_name(kind k) noexcept
{
    switch (k) {
    case kind::counter: return "counter";
    case kind::gauge: return "gauge";
    case kind::histogram: return "histogram";
    }
    return "untyped";
}

/// `{a="x",b="y"}`, with `extra` (e.g. le) last; nothing for no labels at all.
void append_labels(std::string& out, const labels& ls, const label* extra = nullptr)
{
    if (ls.empty() && !extra)
        return;
    out += '{';
    bool first = true;
    auto one = [&](const label& l) {
        if (!first)
            out += ',';
        first = false;
        out += l.name;
        out += "=\"";
        out += escape_label_value(l.value);
        out += '"';
    };
    for (const auto& l : ls)
        one(l);
    if (extra)
        one(*extra);
    out += '}';
}

void append_line(std::string& out,
                 std::string_view name,
                 const labels& ls,
                 double v,
                 const label* extra = nullptr)
{
    out += name;
    append_labels(out, ls, extra);
    out += ' ';
    out += format_value(v);
    out += '\n';
}

}  // namespace

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1)
{
    if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
        std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end() ||
        std::any_of(bounds_.begin(), bounds_.end(), [](double b) { return !std::isfinite(b); }))
        throw std::invalid_argument("histogram bounds must be finite and strictly ascending");
}

void histogram::observe(double v) noexcept
{
    // Buckets are "less than or equal": the first bound >= v.
    auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
    ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
    sum_ += v;
    ++count_;
}

std::string escape_label_value(std::string_view v)
{
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string escape_help(std::string_view v)
{
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string format_value(double v)
{
    if (std::isnan(v))
        return "NaN";
    if (std::isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    // Counters are integers: exact up to 2^53, written without a fraction or exponent.
    if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
        return std::string(buf, ec == std::errc{} ? end : buf);
    }
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, ec == std::errc{} ? end : buf);
}

std::string render(const std::vector<family>& families)
{
    std::string out;
    for (const auto& f : families) {
        out += "# HELP ";
        out += f.name;
        out += ' ';
        out += escape_help(f.help);
        out += "\n# TYPE ";
        out += f.name;
        out += ' ';
        out += type_name(f.kind);
        out += '\n';
        if (f.kind != kind::histogram) {
            for (const auto& s : f.samples)
                append_line(out, f.name, s.labels, s.value);
            continue;
        }
        const std::string bucket = f.name + "_bucket";
        for (const auto& h : f.histograms) {
            if (!h.values)
                continue;
            const auto& bounds = h.values->upper_bounds();
            const auto& counts = h.values->bucket_counts();
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < counts.size(); ++i) {
                cumulative += counts[i];
                const label le{"le", i < bounds.size() ? format_value(bounds[i]) : "+Inf"};
                append_line(out, bucket, h.labels, static_cast<double>(cumulative), &le);
            }
            append_line(out, f.name + "_sum", h.labels, h.values->sum());
            append_line(out, f.name + "_count", h.labels, static_cast<double>(h.values->count()));
        }
    }
    return out;
}

}  // namespace core_interceptor::metrics
