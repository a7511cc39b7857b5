// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::metrics {

/// Content-Type of the Prometheus text exposition format 0.0.4.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

struct label {
    std::string name;
    std::string value;
};
using labels = std::vector<label>;

/// A distribution over fixed buckets. Loop thread only, like every counter it sits beside.
class histogram {
public:
    /// `upper_bounds`: finite, ascending; the +Inf bucket is implied.
    explicit histogram(std::vector<double> upper_bounds);

    void observe(double v) noexcept;

    const std::vector<double>& upper_bounds() const noexcept { return bounds_; }
    /// Observations per bucket, not cumulative; one more than `upper_bounds()` (the +Inf one).
    const std::vector<std::uint64_t>& bucket_counts() const noexcept { return counts_; }
    double sum() const noexcept { return sum_; }
    std::uint64_t count() const noexcept { return count_; }

private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> counts_;
    double sum_ = 0;
    std::uint64_t count_ = 0;
};

enum class kind { counter, gauge, histogram };

struct sample {
    metrics::labels labels;
    double value = 0;
};

struct histogram_sample {
    metrics::labels labels;
    const histogram* values = nullptr;  ///< must outlive the render call
};

/// One metric family: a name, its help text and type, and its samples (a counter's or a
/// gauge's `samples`, a histogram's `histograms`).
struct family {
    std::string name;
    std::string help;
    metrics::kind kind = kind::counter;
    std::vector<sample> samples;
    std::vector<histogram_sample> histograms;
};

/// The families in the Prometheus text exposition format 0.0.4: `# HELP`, `# TYPE`, then a
/// line per sample; a histogram gets cumulative `_bucket{le=...}` lines ending with `+Inf`,
/// `_sum` and `_count`. A family with no sample still gets its HELP and TYPE lines.
std::string render(const std::vector<family>& families);

/// A label value as the format quotes it: `\` -> `\\`, `"` -> `\"`, newline -> `\n`.
std::string escape_label_value(std::string_view v);

/// HELP text as the format wants it: `\` -> `\\`, newline -> `\n`.
std::string escape_help(std::string_view v);

/// A sample value: integers without a fraction, others in their shortest form, `+Inf`,
/// `-Inf`, `NaN`.
std::string format_value(double v);

}  // namespace core_interceptor::metrics
