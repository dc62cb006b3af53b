// Dependency graph of the steps.
#include "migrate/runbook/graph.h"

#include <functional>

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
    for (std::size_t i = 0; i < m_order.size(); ++i) {
        const Step* step = m_order[i];
        std::vector<std::string>& needs = m_needs[step->id];
        if (!step->needs_given) {
            if (i > 0) needs.push_back(m_order[i - 1]->id);
            continue;
        }
        for (const std::string& need : step->needs)
            if (need != step->id && m_index.count(need) &&
                std::find(needs.begin(), needs.end(), need) == needs.end())
                needs.push_back(need);
    }
}

const std::vector<std::string>& StepGraph::needs(const std::string& id) const {
    static const std::vector<std::string> k_none;
    auto it = m_needs.find(id);
    return it == m_needs.end() ? k_none : it->second;
}

const Step* StepGraph::step(const std::string& id) const {
    auto it = m_index.find(id);
    return it == m_index.end() ? nullptr : m_order[it->second];
}

bool StepGraph::depends_on(const std::string& descendant, const std::string& ancestor) const {
    std::set<std::string> seen;
    std::vector<std::string> stack{descendant};
    while (!stack.empty()) {
        std::string current = stack.back();
        stack.pop_back();
        for (const std::string& need : needs(current)) {
            if (need == ancestor) return true;
            if (seen.insert(need).second) stack.push_back(need);
        }
    }
    return false;
}

std::vector<std::string> StepGraph::find_cycle() const {
    enum Color { white, grey, black };
    std::map<std::string, Color> color;
    std::vector<std::string> path;
    std::vector<std::string> cycle;
    std::function<bool(const std::string&)> visit = [&](const std::string& id) {
        color[id] = grey;
        path.push_back(id);
        for (const std::string& need : needs(id)) {
            if (color[need] == grey) {
                auto from = std::find(path.begin(), path.end(), need);
                cycle.assign(from, path.end());
                cycle.push_back(need);
                return true;
            }
            if (color[need] == white && visit(need)) return true;
        }
        path.pop_back();
        color[id] = black;
        return false;
    };
    for (const Step* step : m_order)
        if (color[step->id] == white && visit(step->id)) {
            // Show the cycle in the order the steps run: each one needs the one before it.
            std::reverse(cycle.begin(), cycle.end());
            return cycle;
        }
    return {};
}

std::vector<std::string> StepGraph::downtime_steps() const {
    std::vector<std::string> inside;
    if (!m_downtime_start) return inside;
    for (const Step* step : m_order) {
        bool after_start = step == m_downtime_start || depends_on(step->id, m_downtime_start->id);
        bool before_end =
            !m_downtime_end || step == m_downtime_end || depends_on(m_downtime_end->id, step->id);
        if (after_start && before_end) inside.push_back(step->id);
    }
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
