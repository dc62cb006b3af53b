// Monte Carlo over the graph of steps. Draws go in blocks, step by step in the graph's order
// across the block (the inner loops are over draws: no branching per step, no allocation).
#include "migrate/report/monte_carlo.h"

#include <algorithm>
#include <cmath>

namespace migrate::report {

namespace {

// splitmix64: small, fast, and the same stream on every platform for a seed.
class Random {
public:
    explicit Random(std::uint64_t seed) : m_state(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    // Standard normal (Marsaglia's polar method; the second value kept for the next call).
    double normal() {
        if (m_has_spare) {
            m_has_spare = false;
            return m_spare;
        }
        double u = 0, v = 0, s = 0;
        do {
            u = 2 * uniform() - 1;
            v = 2 * uniform() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double factor = std::sqrt(-2 * std::log(s) / s);
        m_spare = v * factor;
        m_has_spare = true;
        return u * factor;
    }

private:
    std::uint64_t m_state;
    double m_spare = 0;
    bool m_has_spare = false;
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

std::vector<double> sample_spans(const std::vector<PathStep>& steps, int from, int to, int draws,
                                 std::uint64_t seed) {
    std::vector<double> spans;
    if (draws <= 0) return spans;
    spans.reserve(static_cast<std::size_t>(draws));
    const std::size_t n = steps.size();
    int families = 1;
    std::vector<double> sigma(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const PathStep& step = steps[i];
        families = std::max(families, step.family + 1);
        if (step.p50_ms > 0 && step.p90_ms > step.p50_ms)
            sigma[i] = std::log(step.p90_ms / step.p50_ms) / k_z90;
    }
    Random random(seed);
    std::vector<double> finish(n * k_block), family_z(static_cast<std::size_t>(families) * k_block);
    std::vector<double> window_start(k_block, 0), latest(k_block);
    for (int done = 0; done < draws; done += k_block) {
        const int count = std::min(k_block, draws - done);
        for (double& z : family_z) z = random.normal();
        for (std::size_t i = 0; i < n; ++i) {
            const PathStep& step = steps[i];
            double* out = &finish[i * k_block];
            if (step.finished_at) {
                std::fill(out, out + count, *step.finished_at);
            } else {
                // The start: after every need, not before its earliest start.
                std::fill(out, out + count, step.earliest_start);
                for (int need : step.needs) {
                    const double* before = &finish[static_cast<std::size_t>(need) * k_block];
                    for (int d = 0; d < count; ++d) out[d] = std::max(out[d], before[d]);
                }
                if (step.started_at) std::fill(out, out + count, *step.started_at);
            }
            if (static_cast<int>(i) == from) {
                if (step.started_at)
                    std::fill(window_start.begin(), window_start.begin() + count, *step.started_at);
                else if (!step.finished_at)
                    std::copy(out, out + count, window_start.begin());
            }
            if (step.finished_at) continue;
            if (sigma[i] == 0) {
                for (int d = 0; d < count; ++d)
                    out[d] = std::max(out[d] + step.p50_ms, step.earliest_finish);
            } else {
                // z = a * z_family + b * z_own, a^2 + b^2 = 1: a standard normal again.
                const double* shared = &family_z[static_cast<std::size_t>(step.family) * k_block];
                double a = std::sqrt(std::clamp(step.shared, 0.0, 1.0)), b = std::sqrt(1 - a * a);
                for (int d = 0; d < count; ++d) {
                    double z = a * shared[d] + b * random.normal();
                    out[d] = std::max(out[d] + step.p50_ms * std::exp(sigma[i] * z),
                                      step.earliest_finish);
                }
            }
        }
        if (to >= 0) {
            const double* end = &finish[static_cast<std::size_t>(to) * k_block];
            std::copy(end, end + count, latest.begin());
        } else {
            std::fill(latest.begin(), latest.begin() + count, 0.0);
            for (std::size_t i = 0; i < n; ++i)
                for (int d = 0; d < count; ++d)
                    latest[d] = std::max(latest[d], finish[i * k_block + d]);
        }
        for (int d = 0; d < count; ++d)
            spans.push_back(latest[d] - (from >= 0 ? window_start[d] : 0));
    }
    std::sort(spans.begin(), spans.end());
    return spans;
}

}  // namespace migrate::report
