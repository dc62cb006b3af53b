// Checks and parameter helpers more than one kind uses.
#pragma once

#include <string>
#include <vector>

#include "migrate/kinds/kind.h"

namespace migrate::kinds {

// The names declared under `with.outputs` (http's and sql's `outputs:` maps).
std::vector<std::string> outputs_map_names(const runbook::Node& with);
// Checks `with` for at least one of and at most one of the named parameters.
void check_exactly_one(const runbook::Node& with, const std::vector<std::string>& names,
                       const std::string& kind, runbook::Diagnostics& diagnostics);
// A thread-count parameter: 0 means one per core. Throws StepError for a negative count.
int thread_count(const Params& params, const std::string& name);

}  // namespace migrate::kinds
