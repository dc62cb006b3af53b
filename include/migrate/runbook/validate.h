// Everything that can be checked before a run: ids, needs and cycles, roles, kinds and their
// parameters, variables in every environment, step output references, the downtime window.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "migrate/runbook/kind_schema.h"
#include "migrate/runbook/model.h"

namespace migrate::runbook {

struct ValidateOptions {
    std::optional<std::string> env;           // unset: check every declared environment
    std::map<std::string, std::string> sets;  // --set k=v
};

void validate_runbook(const Runbook& book, const KindSchemas& kinds, const ValidateOptions& options,
                      Diagnostics& diagnostics);

// Names the engine defines for every run; a runbook may not declare them.
const std::vector<std::string>& builtin_variable_names();

// The variables of one environment before expansion: vars, then the environment's vars,
// then --set, then the built-ins.
std::map<std::string, std::string> raw_variables(
    const Runbook& book, const std::string& env, const std::map<std::string, std::string>& sets,
    const std::map<std::string, std::string>& builtins);

// Where, in the file, the reference at `offset` inside the scalar `node` stands.
Mark reference_mark(const SourceFile& source, const Mark& node_mark, const std::string& value,
                    std::size_t offset);
// reference_mark for several references of one value at once, in time linear in the value
// and the source (a value may hold 100,000 references).
std::vector<Mark> reference_marks(const SourceFile& source, const Mark& node_mark,
                                  const std::string& value,
                                  const std::vector<std::size_t>& offsets);

// Loads, parses and validates a runbook file. Returns the diagnostics; `book` is usable
// when they hold no errors.
struct LoadedRunbook {
    std::shared_ptr<Diagnostics> diagnostics;
    Runbook book;
};
LoadedRunbook load_and_validate(const std::string& path, const KindSchemas& kinds,
                                const ValidateOptions& options);

}  // namespace migrate::runbook
