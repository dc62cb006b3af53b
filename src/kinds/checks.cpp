// Checks and parameter helpers more than one kind uses.
#include "migrate/kinds/checks.h"

#include <algorithm>
#include <thread>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::kinds {

std::vector<std::string> outputs_map_names(const runbook::Node& with) {
    std::vector<std::string> names;
    if (const runbook::Node* outputs = with.find("outputs"))
        for (const auto& [key, value] : outputs->entries) names.push_back(key.value);
    return names;
}

void check_exactly_one(const runbook::Node& with, const std::vector<std::string>& names,
                       const std::string& kind, runbook::Diagnostics& diagnostics) {
    std::vector<const runbook::Node*> found;
    for (const std::string& name : names)
        if (const runbook::Node* node = with.find(name)) found.push_back(node);
    if (found.empty())
        diagnostics.error(with.mark, "a " + kind + " step needs one of: " + join(names, ", "));
    for (std::size_t i = 1; i < found.size(); ++i)
        diagnostics.error(found[i]->mark,
                          "a " + kind + " step takes only one of: " + join(names, ", "));
}

int thread_count(const Params& params, const std::string& name) {
    std::int64_t threads = params.integer(name);
    if (threads < 0)
        throw StepError("parameter '" + name + "' must be 0 (one per core) or more", false);
    if (threads == 0) return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return static_cast<int>(threads);
}

}  // namespace migrate::kinds
