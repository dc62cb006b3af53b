// Dependency graph of the steps.
#include "migrate/runbook/graph.h"

#include <algorithm>
#include <functional>
#include <queue>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::runbook {

StepGraph::StepGraph(const Runbook& book) {
    for (const Step* step : book.steps()) {
        if (m_index.count(step->id)) continue;  // duplicates are reported by the validator
        m_index[step->id] = m_order.size();
        m_order.push_back(step);
        if (step->downtime == DowntimeMarker::start && !m_downtime_start) m_downtime_start = step;
        if (step->downtime == DowntimeMarker::end && !m_downtime_end) m_downtime_end = step;
    }
    m_needs.resize(m_order.size());
    m_need_index.resize(m_order.size());
    for (std::size_t i = 0; i < m_order.size(); ++i) {
        const Step* step = m_order[i];
        std::vector<std::string>& needs = m_needs[i];
        if (!step->needs_given) {
            if (i > 0) {
                needs.push_back(m_order[i - 1]->id);
                m_need_index[i].push_back(i - 1);
            }
            continue;
        }
        std::set<std::size_t> seen;
        for (const std::string& need : step->needs) {
            auto it = m_index.find(need);
            if (need == step->id || it == m_index.end() || !seen.insert(it->second).second)
                continue;
            needs.push_back(need);
            m_need_index[i].push_back(it->second);
        }
    }
    order_topologically();
}

// Kahn's algorithm: a rank per step such that every step ranks after the steps it needs
// (steps on a cycle get none). Ranks prune the ancestry searches.
void StepGraph::order_topologically() {
    std::size_t count = m_order.size();
    std::vector<std::size_t> waiting(count);
    std::vector<std::vector<std::size_t>> needed_by(count);
    for (std::size_t i = 0; i < count; ++i) {
        waiting[i] = m_need_index[i].size();
        for (std::size_t need : m_need_index[i]) needed_by[need].push_back(i);
    }
    m_rank.assign(count, k_no_rank);
    // The first ready step in file order first: ranks then follow the file where they can,
    // which keeps the searches short for the usual runbook.
    std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
    for (std::size_t i = 0; i < count; ++i)
        if (waiting[i] == 0) ready.push(i);
    std::size_t rank = 0;
    while (!ready.empty()) {
        std::size_t current = ready.top();
        ready.pop();
        m_rank[current] = rank++;
        for (std::size_t next : needed_by[current])
            if (--waiting[next] == 0) ready.push(next);
    }
    m_needed_by = std::move(needed_by);
}

const std::vector<std::string>& StepGraph::needs(const std::string& id) const {
    static const std::vector<std::string> k_none;
    auto it = m_index.find(id);
    return it == m_index.end() ? k_none : m_needs[it->second];
}

const Step* StepGraph::step(const std::string& id) const {
    auto it = m_index.find(id);
    return it == m_index.end() ? nullptr : m_order[it->second];
}

bool StepGraph::depends_on(const std::string& descendant, const std::string& ancestor) const {
    auto from = m_index.find(descendant), to = m_index.find(ancestor);
    if (from == m_index.end() || to == m_index.end()) return false;
    std::size_t target = to->second;
    // Only steps ranked after the ancestor can lead to it (when both have a rank).
    std::size_t floor = m_rank[target] == k_no_rank ? 0 : m_rank[target];
    std::vector<bool> seen(m_order.size());
    std::vector<std::size_t> stack{from->second};
    while (!stack.empty()) {
        std::size_t current = stack.back();
        stack.pop_back();
        for (std::size_t need : m_need_index[current]) {
            if (need == target) return true;
            if (seen[need] || (m_rank[need] != k_no_rank && m_rank[need] < floor)) continue;
            seen[need] = true;
            stack.push_back(need);
        }
    }
    return false;
}

std::vector<std::string> StepGraph::find_cycle() const {
    // Depth first with an explicit stack: a chain of 100,000 steps must not deepen the
    // call stack.
    enum Color : char { white, grey, black };
    std::vector<Color> color(m_order.size(), white);
    std::vector<std::pair<std::size_t, std::size_t>> path;  // step, next need to visit
    for (std::size_t root = 0; root < m_order.size(); ++root) {
        if (color[root] != white) continue;
        color[root] = grey;
        path.emplace_back(root, 0);
        while (!path.empty()) {
            auto& [current, next] = path.back();
            if (next == m_need_index[current].size()) {
                color[current] = black;
                path.pop_back();
                continue;
            }
            std::size_t need = m_need_index[current][next++];
            if (color[need] == grey) {
                std::vector<std::string> cycle;
                auto from = std::find_if(path.begin(), path.end(),
                                         [&](const auto& entry) { return entry.first == need; });
                for (auto it = from; it != path.end(); ++it)
                    cycle.push_back(m_order[it->first]->id);
                cycle.push_back(m_order[need]->id);
                // Show the cycle in the order the steps run: each one needs the one before it.
                std::reverse(cycle.begin(), cycle.end());
                return cycle;
            }
            if (color[need] == white) {
                color[need] = grey;
                path.emplace_back(need, 0);
            }
        }
    }
    return {};
}

std::vector<std::string> StepGraph::downtime_steps() const {
    std::vector<std::string> inside;
    if (!m_downtime_start) return inside;
    // After the start: the start and what (transitively) needs it. Before the end: the end
    // and what it (transitively) needs. Two walks, each over every edge at most once.
    auto reach = [&](std::size_t from, const std::vector<std::vector<std::size_t>>& edges) {
        std::vector<bool> reached(m_order.size());
        reached[from] = true;
        std::vector<std::size_t> stack{from};
        while (!stack.empty()) {
            std::size_t current = stack.back();
            stack.pop_back();
            for (std::size_t next : edges[current])
                if (!reached[next]) {
                    reached[next] = true;
                    stack.push_back(next);
                }
        }
        return reached;
    };
    std::vector<bool> after_start = reach(m_index.at(m_downtime_start->id), m_needed_by);
    std::vector<bool> before_end = m_downtime_end
                                       ? reach(m_index.at(m_downtime_end->id), m_need_index)
                                       : std::vector<bool>(m_order.size(), true);
    for (std::size_t i = 0; i < m_order.size(); ++i)
        if (after_start[i] && before_end[i]) inside.push_back(m_order[i]->id);
    return inside;
}

namespace {

std::string unquote(std::string text) {
    text = trim(text);
    if (text.size() >= 2 && (text.front() == '\'' || text.front() == '"') &&
        text.back() == text.front())
        return text.substr(1, text.size() - 2);
    return text;
}

}  // namespace

bool evaluate_condition(const std::string& expanded) {
    std::size_t equal = expanded.find("=="), differ = expanded.find("!=");
    std::size_t pos = std::min(equal, differ);
    if (pos != std::string::npos) {
        std::string rest = expanded.substr(pos + 2);
        if (rest.find("==") != std::string::npos || rest.find("!=") != std::string::npos)
            throw UsageError("a condition compares two values once: write 'A == B' or 'A != B'");
        std::string left = unquote(expanded.substr(0, pos));
        std::string right = unquote(rest);
        return (left == right) == (pos == equal);
    }
    std::string value = unquote(expanded);
    return !(value.empty() || value == "false" || value == "no" || value == "off" || value == "0");
}

}  // namespace migrate::runbook
