// Typed access to a step's interpolated parameters.
#include "migrate/kinds/kind.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::kinds {

std::string run_mode_name(RunMode mode) {
    switch (mode) {
        case RunMode::dry_run:
            return "dry-run";
        case RunMode::rehearsal:
            return "rehearsal";
        case RunMode::production:
            return "production";
    }
    return "?";
}

bool Params::has(const std::string& name) const {
    return m_values.contains(name) && !m_values[name].is_null();
}

std::optional<std::string> Params::scalar(const std::string& name) const {
    if (has(name)) {
        const auto& value = m_values[name];
        if (!value.is_string())
            throw StepError("parameter '" + name + "' must be a single value, not " + value.dump(),
                            false);
        return value.get<std::string>();
    }
    if (m_specs != nullptr)
        for (const runbook::ParamSpec& spec : *m_specs)
            if (spec.name == name && !spec.default_value.empty()) return spec.default_value;
    return std::nullopt;
}

std::string Params::string(const std::string& name) const { return scalar(name).value_or(""); }

std::int64_t Params::integer(const std::string& name) const {
    std::string value = scalar(name).value_or("0");
    if (std::string problem = runbook::check_scalar(runbook::ParamType::integer, value, {});
        !problem.empty())
        throw StepError("parameter '" + name + "': " + problem, false);
    return std::stoll(value);
}

bool Params::boolean(const std::string& name) const {
    bool out = false;
    std::string value = scalar(name).value_or("false");
    if (!runbook::parse_bool(value, out))
        throw StepError("parameter '" + name + "': expected true or false, found '" + value + "'",
                        false);
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
        if (!item.is_string())
            throw StepError("parameter '" + name + "' must be a list of single values", false);
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
        if (!item.is_string())
            throw StepError("parameter '" + name + "." + key + "' must be a single value", false);
        out[key] = item.get<std::string>();
    }
    return out;
}

const KindSpec* find_kind(const KindTable& table, const std::string& name) {
    for (const KindSpec& kind : table)
        if (kind.schema.name == name) return &kind;
    return nullptr;
}

std::vector<std::string> kind_names(const KindTable& table) {
    std::vector<std::string> names;
    for (const KindSpec& kind : table) names.push_back(kind.schema.name);
    return names;
}

runbook::KindSchemas schemas_of(const KindTable& table) {
    runbook::KindSchemas schemas;
    for (const KindSpec& kind : table) schemas.push_back(&kind.schema);
    return schemas;
}

}  // namespace migrate::kinds
