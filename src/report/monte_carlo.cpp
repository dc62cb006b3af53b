// Monte Carlo over the graph of steps. Draws go in blocks, step by step in the graph's order
// across the block (the inner loops are over draws: no branching per step, no allocation).
// Normals come from a table of the inverse normal distribution, interpolated: a multiply and
// an add per draw instead of a logarithm and a square root.
#include "migrate/report/monte_carlo.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace migrate::report {

namespace {

// The standard normal's quantile function (Acklam's rational approximation, relative error
// below 1.2e-9): used once, to fill the table.
double inverse_normal(double p) {
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    const double low = 0.02425;
    if (p < low) {
        double q = std::sqrt(-2 * std::log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p > 1 - low) return -inverse_normal(1 - p);
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

constexpr int k_table_bits = 14;
constexpr int k_table_size = 1 << k_table_bits;

// table[i] = the quantile at (i + 0.5) / size; the ends reach about +-4 standard deviations.
const std::array<double, k_table_size + 1>& normal_table() {
    static const std::array<double, k_table_size + 1> table = [] {
        std::array<double, k_table_size + 1> t{};
        for (int i = 0; i < k_table_size; ++i)
            t[static_cast<std::size_t>(i)] = inverse_normal((i + 0.5) / k_table_size);
        t[k_table_size] = t[k_table_size - 1];
        return t;
    }();
    return table;
}

// splitmix64: small, fast, and the same stream on every platform for a seed.
class Random {
public:
    explicit Random(std::uint64_t seed) : m_state(seed), m_table(normal_table()) {}
    std::uint64_t next() {
        std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    // A standard normal: the table at the top bits of a 64-bit draw, interpolated by the
    // next ones.
    double normal() {
        std::uint64_t bits = next();
        auto index = static_cast<std::size_t>(bits >> (64 - k_table_bits));
        double fraction =
            static_cast<double>((bits >> (64 - k_table_bits - 32)) & 0xFFFFFFFFULL) * 0x1.0p-32;
        return m_table[index] + (m_table[index + 1] - m_table[index]) * fraction;
    }

private:
    std::uint64_t m_state;
    const std::array<double, k_table_size + 1>& m_table;
};

constexpr double k_z90 = 1.2815515655446004;  // the standard normal's 90th percentile
constexpr int k_block = 256;

}  // namespace

double quantile_of_sorted(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) return 0;
    double rank = q * static_cast<double>(sorted.size() - 1);
    auto low = static_cast<std::size_t>(std::floor(rank));
    auto high = static_cast<std::size_t>(std::ceil(rank));
    return sorted[low] + (sorted[high] - sorted[low]) * (rank - static_cast<double>(low));
}

std::vector<std::vector<double>> sample_spans(const std::vector<PathStep>& steps,
                                              const std::vector<SpanQuery>& queries, int draws,
                                              std::uint64_t seed) {
    std::vector<std::vector<double>> spans(queries.size());
    if (draws <= 0) return spans;
    for (auto& out : spans) out.reserve(static_cast<std::size_t>(draws));
    const std::size_t n = steps.size();
    int families = 1;
    std::vector<double> sigma(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const PathStep& step = steps[i];
        families = std::max(families, step.family + 1);
        if (step.p50_ms > 0 && step.p90_ms > step.p50_ms)
            sigma[i] = std::log(step.p90_ms / step.p50_ms) / k_z90;
    }
    bool any_latest = std::any_of(queries.begin(), queries.end(),
                                  [](const SpanQuery& query) { return query.to < 0; });
    Random random(seed);
    std::vector<double> finish(n * k_block), family_z(static_cast<std::size_t>(families) * k_block);
    std::vector<double> starts(n * k_block), latest(k_block), own(k_block);
    for (int done = 0; done < draws; done += k_block) {
        const int count = std::min(k_block, draws - done);
        for (double& z : family_z) z = random.normal();
        for (std::size_t i = 0; i < n; ++i) {
            const PathStep& step = steps[i];
            double* out = &finish[i * k_block];
            double* start = &starts[i * k_block];
            if (step.finished_at) {
                std::fill(out, out + count, *step.finished_at);
                std::fill(start, start + count, step.started_at.value_or(*step.finished_at));
                continue;
            }
            if (step.started_at) {
                std::fill(out, out + count, *step.started_at);
            } else {
                // The start: after every need, not before its earliest start.
                std::fill(out, out + count, step.earliest_start);
                for (int need : step.needs) {
                    const double* before = &finish[static_cast<std::size_t>(need) * k_block];
                    for (int d = 0; d < count; ++d) out[d] = std::max(out[d], before[d]);
                }
            }
            std::copy(out, out + count, start);
            if (sigma[i] == 0) {
                for (int d = 0; d < count; ++d)
                    out[d] = std::max(out[d] + step.p50_ms, step.earliest_finish);
                continue;
            }
            // z = a * z_family + b * z_own, a^2 + b^2 = 1: a standard normal again.
            const double* shared = &family_z[static_cast<std::size_t>(step.family) * k_block];
            double a = std::sqrt(std::clamp(step.shared, 0.0, 1.0)), b = std::sqrt(1 - a * a);
            double s = sigma[i], p50 = step.p50_ms, floor = step.earliest_finish;
            for (int d = 0; d < count; ++d) own[static_cast<std::size_t>(d)] = random.normal();
                // No calls but exp: the loop vectorizes (with libmvec's exp where the build
                // allows it, see src/report/CMakeLists.txt).
#pragma omp simd
            for (int d = 0; d < count; ++d) {
                double z = a * shared[d] + b * own[static_cast<std::size_t>(d)];
                double end = out[d] + p50 * std::exp(s * z);
                out[d] = end > floor ? end : floor;
            }
        }
        if (any_latest) {
            std::fill(latest.begin(), latest.begin() + count, 0.0);
            for (std::size_t i = 0; i < n; ++i)
                for (int d = 0; d < count; ++d)
                    latest[d] = std::max(latest[d], finish[i * k_block + d]);
        }
        for (std::size_t q = 0; q < queries.size(); ++q) {
            const SpanQuery& query = queries[q];
            const double* end = query.to >= 0
                                    ? &finish[static_cast<std::size_t>(query.to) * k_block]
                                    : latest.data();
            const double* begin =
                query.from >= 0 ? &starts[static_cast<std::size_t>(query.from) * k_block] : nullptr;
            for (int d = 0; d < count; ++d) spans[q].push_back(end[d] - (begin ? begin[d] : 0));
        }
    }
    for (auto& out : spans) std::sort(out.begin(), out.end());
    return spans;
}

std::vector<double> sample_spans(const std::vector<PathStep>& steps, int from, int to, int draws,
                                 std::uint64_t seed) {
    return std::move(sample_spans(steps, {SpanQuery{from, to}}, draws, seed).front());
}

}  // namespace migrate::report
