// What the runbook format knows of a step kind: the parameters its `with` takes, the outputs
// it offers, and its extra checks. The validator reads it; kinds/ fills it, one per kind.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "migrate/runbook/diagnostics.h"
#include "migrate/runbook/document.h"

namespace migrate::runbook {

// `connection`: the name of an entry under the runbook's `connections:` (the validator checks
// it is declared). `hosts`: a host pattern over the runbook's inventory (checked against it).
// `step`: the id of another step that runs before (or is undone by) the one that names it;
// `choices` then lists the kinds it may be of.
enum class ParamType {
    string,
    text,
    integer,
    boolean,
    duration,
    size,
    string_list,
    string_map,
    any,
    connection,
    hosts,
    step
};

struct ParamSpec {
    std::string name;
    ParamType type = ParamType::string;
    bool required = false;
    std::string default_value;
    std::string help;
    std::vector<std::string> choices;
};

std::string param_type_name(ParamType type);

// true/yes/on and false/no/off; false when the text is neither.
bool parse_bool(const std::string& value, bool& out);

// Checks one scalar against a type; returns "" or what is wrong ("expected a duration...").
std::string check_scalar(ParamType type, const std::string& value,
                         const std::vector<std::string>& choices);

// Extra checks of a kind's `with` beyond the parameter table, reported at a mark.
using KindCheck = std::function<void(const Node& with, Diagnostics& diagnostics)>;

struct KindSchema {
    std::string name;
    std::string summary;
    std::vector<ParamSpec> params;
    std::vector<std::string> outputs;  // fixed output names
    // Fields each host offers when the kind works on hosts: ${steps.ID.hosts.HOST.FIELD}.
    std::vector<std::string> host_outputs;
    // Further output names declared in `with` (e.g. http's `outputs:` map).
    std::function<std::vector<std::string>(const Node& with)> declared_outputs;
    KindCheck check;
    // A step of this kind without a `timeout` may block for ever: the validator warns.
    bool warn_without_timeout = false;
    // A person does the work and confirms it (manual): its duration is people time, it waits
    // for a confirmation, and `migrate confirm` accepts it.
    bool people = false;
};

// The kinds a validation knows, in the order they are listed.
using KindSchemas = std::vector<const KindSchema*>;

const KindSchema* find_schema(const KindSchemas& kinds, const std::string& name);
std::vector<std::string> schema_names(const KindSchemas& kinds);
// Output names a step of this kind offers, fixed and declared.
std::vector<std::string> outputs_of(const KindSchema& kind, const Node& with);

}  // namespace migrate::runbook
