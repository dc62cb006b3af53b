// Positioned nodes to plain JSON: for hashing step definitions and for printing plans.
#pragma once

#include <nlohmann/json.hpp>

#include "migrate/runbook/document.h"

namespace migrate::runbook {

// Scalars stay strings (YAML does not tell "1" from 1 without a schema); nulls become null.
nlohmann::ordered_json node_to_json(const Node& node);

}  // namespace migrate::runbook
