// The parameter types of a kind's `with` and the checks of one value against them.
#include "migrate/runbook/kind_schema.h"

#include <algorithm>

#include "migrate/util/text.h"
#include "migrate/util/units.h"

namespace migrate::runbook {

std::string param_type_name(ParamType type) {
    switch (type) {
        case ParamType::string:
            return "string";
        case ParamType::text:
            return "text";
        case ParamType::integer:
            return "integer";
        case ParamType::boolean:
            return "boolean";
        case ParamType::duration:
            return "duration";
        case ParamType::size:
            return "size";
        case ParamType::string_list:
            return "list of strings";
        case ParamType::string_map:
            return "mapping of strings";
        case ParamType::any:
            return "any";
        case ParamType::connection:
            return "connection name";
        case ParamType::hosts:
            return "host pattern";
        case ParamType::step:
            return "step id";
    }
    return "?";
}

bool parse_bool(const std::string& value, bool& out) {
    if (value == "true" || value == "yes" || value == "on") return out = true, true;
    if (value == "false" || value == "no" || value == "off") return out = false, true;
    return false;
}

std::string check_scalar(ParamType type, const std::string& value,
                         const std::vector<std::string>& choices) {
    bool flag = false;
    switch (type) {
        case ParamType::integer:
            if (!is_whole_number(value, 18))
                return "expected a whole number, found '" + value + "'";
            break;
        case ParamType::boolean:
            if (!parse_bool(value, flag)) return "expected true or false, found '" + value + "'";
            break;
        case ParamType::duration:
            if (!parse_duration(value))
                return "bad duration '" + value + "'; write it like 90s, 15m, 2h or 1h30m";
            break;
        case ParamType::size:
            if (!parse_size(value))
                return "bad size '" + value + "'; write it like 512KiB, 30GB or 1.5GiB";
            break;
        case ParamType::step:
            if (!is_id(value)) return "'" + value + "' is not a step id";
            return "";  // its choices are kinds, checked against the runbook by the validator
        default:
            break;
    }
    if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end())
        return "'" + value + "' is not one of: " + join(choices, ", ") +
               did_you_mean(value, choices);
    return "";
}

const KindSchema* find_schema(const KindSchemas& kinds, const std::string& name) {
    for (const KindSchema* kind : kinds)
        if (kind->name == name) return kind;
    return nullptr;
}

std::vector<std::string> schema_names(const KindSchemas& kinds) {
    std::vector<std::string> names;
    for (const KindSchema* kind : kinds) names.push_back(kind->name);
    return names;
}

std::vector<std::string> outputs_of(const KindSchema& kind, const Node& with) {
    std::vector<std::string> names = kind.outputs;
    if (kind.declared_outputs) {
        auto more = kind.declared_outputs(with);
        names.insert(names.end(), more.begin(), more.end());
    }
    return names;
}

}  // namespace migrate::runbook
