// Typed access to a step's interpolated parameters.
#include <regex>

#include "migrate/steps/kind.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps {

std::string param_type_name(ParamType type) {
    switch (type) {
        case ParamType::string: return "string";
        case ParamType::text: return "text";
        case ParamType::integer: return "integer";
        case ParamType::boolean: return "boolean";
        case ParamType::duration: return "duration";
        case ParamType::size: return "size";
        case ParamType::string_list: return "list of strings";
        case ParamType::string_map: return "mapping of strings";
        case ParamType::any: return "any";
        case ParamType::connection: return "connection name";
    }
    return "?";
}

std::string run_mode_name(RunMode mode) {
    switch (mode) {
        case RunMode::dry_run: return "dry-run";
        case RunMode::rehearsal: return "rehearsal";
        case RunMode::production: return "production";
    }
    return "?";
}

namespace {

bool parse_bool(const std::string& value, bool& out) {
    if (value == "true" || value == "yes" || value == "on") return out = true, true;
    if (value == "false" || value == "no" || value == "off") return out = false, true;
    return false;
}

}  // namespace

std::string check_scalar(ParamType type, const std::string& value, const std::vector<std::string>& choices) {
    static const std::regex integer("-?[0-9]{1,18}");
    bool flag = false;
    switch (type) {
        case ParamType::integer:
            if (!std::regex_match(value, integer)) return "expected a whole number, found '" + value + "'";
            break;
        case ParamType::boolean:
            if (!parse_bool(value, flag)) return "expected true or false, found '" + value + "'";
            break;
        case ParamType::duration:
            if (!parse_duration(value)) return "bad duration '" + value + "'; write it like 90s, 15m, 2h or 1h30m";
            break;
        case ParamType::size:
            if (!parse_size(value)) return "bad size '" + value + "'; write it like 512KiB, 30GB or 1.5GiB";
            break;
        default: break;
    }
    if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end())
        return "'" + value + "' is not one of: " + join(choices, ", ") + did_you_mean(value, choices);
    return "";
}

bool Params::has(const std::string& name) const { return m_values.contains(name) && !m_values[name].is_null(); }

std::optional<std::string> Params::scalar(const std::string& name) const {
    if (has(name)) {
        const auto& value = m_values[name];
        if (!value.is_string())
            throw StepError("parameter '" + name + "' must be a single value, not " + value.dump(), false);
        return value.get<std::string>();
    }
    if (m_specs != nullptr)
        for (const ParamSpec& spec : *m_specs)
            if (spec.name == name && !spec.default_value.empty()) return spec.default_value;
    return std::nullopt;
}

std::string Params::string(const std::string& name) const { return scalar(name).value_or(""); }

std::int64_t Params::integer(const std::string& name) const {
    std::string value = scalar(name).value_or("0");
    if (std::string problem = check_scalar(ParamType::integer, value, {}); !problem.empty())
        throw StepError("parameter '" + name + "': " + problem, false);
    return std::stoll(value);
}

bool Params::boolean(const std::string& name) const {
    bool out = false;
    std::string value = scalar(name).value_or("false");
    if (!parse_bool(value, out)) throw StepError("parameter '" + name + "': expected true or false, found '" + value + "'", false);
    return out;
}

Millis Params::duration(const std::string& name) const {
    std::string value = scalar(name).value_or("0s");
    auto parsed = parse_duration(value);
    if (!parsed) throw StepError("parameter '" + name + "': bad duration '" + value + "'", false);
    return *parsed;
}

std::vector<std::string> Params::string_list(const std::string& name) const {
    std::vector<std::string> out;
    if (!has(name)) return out;
    const auto& value = m_values[name];
    if (value.is_string()) return {value.get<std::string>()};
    if (!value.is_array()) throw StepError("parameter '" + name + "' must be a list", false);
    for (const auto& item : value) {
        if (!item.is_string()) throw StepError("parameter '" + name + "' must be a list of single values", false);
        out.push_back(item.get<std::string>());
    }
    return out;
}

std::map<std::string, std::string> Params::string_map(const std::string& name) const {
    std::map<std::string, std::string> out;
    if (!has(name)) return out;
    const auto& value = m_values[name];
    if (!value.is_object()) throw StepError("parameter '" + name + "' must be a mapping", false);
    for (const auto& [key, item] : value.items()) {
        if (!item.is_string()) throw StepError("parameter '" + name + "." + key + "' must be a single value", false);
        out[key] = item.get<std::string>();
    }
    return out;
}

const KindSpec* find_kind(const KindTable& table, const std::string& name) {
    for (const KindSpec& kind : table)
        if (kind.name == name) return &kind;
    return nullptr;
}

std::vector<std::string> kind_names(const KindTable& table) {
    std::vector<std::string> names;
    for (const KindSpec& kind : table) names.push_back(kind.name);
    return names;
}

std::vector<std::string> outputs_of(const KindSpec& kind, const runbook::Node& with) {
    std::vector<std::string> names = kind.outputs;
    if (kind.declared_outputs) {
        auto more = kind.declared_outputs(with);
        names.insert(names.end(), more.begin(), more.end());
    }
    return names;
}

}  // namespace migrate::steps
