// The steps as a dependency graph: resolved `needs` (default: the step before), cycles,
// ancestry, the downtime window's steps.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "migrate/runbook/model.h"

namespace migrate::runbook {

class StepGraph {
public:
    explicit StepGraph(const Runbook& book);

    const std::vector<const Step*>& order() const { return m_order; }
    // Resolved dependencies (unknown ids dropped: the validator reports them).
    const std::vector<std::string>& needs(const std::string& id) const;
    const Step* step(const std::string& id) const;
    std::size_t index(const std::string& id) const { return m_index.at(id); }
    bool contains(const std::string& id) const { return m_index.count(id) > 0; }
    // True when `descendant` cannot start before `ancestor` has ended.
    bool depends_on(const std::string& descendant, const std::string& ancestor) const;
    // A cycle as the list of step ids that form it ("a", "b", "a"); empty when there is none.
    std::vector<std::string> find_cycle() const;
    // Steps inside the downtime window: reachable from the start marker and leading to the
    // end marker (or every step after the start marker when there is no end marker).
    std::vector<std::string> downtime_steps() const;
    const Step* downtime_start() const { return m_downtime_start; }
    const Step* downtime_end() const { return m_downtime_end; }

private:
    static constexpr std::size_t k_no_rank = static_cast<std::size_t>(-1);
    void order_topologically();

    std::vector<const Step*> m_order;
    std::map<std::string, std::size_t> m_index;
    // Per step, by position in m_order: its needs (ids and positions), the steps that
    // need it, and its rank in a topological order (k_no_rank on a cycle).
    std::vector<std::vector<std::string>> m_needs;
    std::vector<std::vector<std::size_t>> m_need_index;
    std::vector<std::vector<std::size_t>> m_needed_by;
    std::vector<std::size_t> m_rank;
    const Step* m_downtime_start = nullptr;
    const Step* m_downtime_end = nullptr;
};

// Evaluates a `when` condition after interpolation: "A == B", "A != B", or a bare value
// (true unless empty, false, no, off or 0). Quotes around a side are removed.
// Throws UsageError on a malformed condition.
bool evaluate_condition(const std::string& expanded);

}  // namespace migrate::runbook
