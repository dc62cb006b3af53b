// The critical path's length as a distribution: every step's duration drawn jointly, the
// graph of `needs` walked once per draw (docs/estimating-downtime.md).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace migrate::report {

struct PathStep {
    std::vector<int> needs;  // indices of steps earlier in the list
    // A log-normal duration through its median and 90th percentile; equal: a fixed duration.
    double p50_ms = 0, p90_ms = 0;
    // Steps of one family share this part of their variance (a slow line is slow for every
    // network step): 0 independent, 1 all alike.
    int family = 0;
    double shared = 0;
    // A live run: when the step started (it runs or ran), and when it ended (done).
    std::optional<double> started_at;
    std::optional<double> finished_at;
    double earliest_start = 0;   // not before (a live run: now, for steps not started)
    double earliest_finish = 0;  // not before (a live run: now, for steps still running)
};

// A span to measure in each draw: from the start of step `from` (-1: time 0) to the finish
// of step `to` (-1: the latest finish of any step).
struct SpanQuery {
    int from = -1;
    int to = -1;
};

// For each query, one span per draw, sorted; every query reads the same draws.
// Deterministic for a seed.
std::vector<std::vector<double>> sample_spans(const std::vector<PathStep>& steps,
                                              const std::vector<SpanQuery>& queries, int draws,
                                              std::uint64_t seed);
// One query.
std::vector<double> sample_spans(const std::vector<PathStep>& steps, int from, int to, int draws,
                                 std::uint64_t seed);

// The value at quantile q of sorted samples (0 when there are none).
double quantile_of_sorted(const std::vector<double>& sorted, double q);

}  // namespace migrate::report
