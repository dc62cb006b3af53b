// The reconcile kind's pure part: checks read from `with`, tolerances, key ranges and the
// table of differences (see reconcile_plan.h).
#include "migrate/steps/mysql/reconcile_plan.h"

#include <algorithm>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::mysql {
namespace {

const std::vector<std::string> k_what = {"count", "group_by", "sum", "checksum"};

std::string text_of(const nlohmann::ordered_json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_null()) return "";
    return value.dump();
}

bool truthy(const nlohmann::ordered_json& value) {
    std::string text = text_of(value);
    return text == "true" || text == "yes" || text == "on";
}

// A column list: a YAML list, or one text of names separated by commas.
std::vector<std::string> names_of(const nlohmann::ordered_json& value, const std::string& what) {
    std::vector<std::string> names;
    auto add = [&](const std::string& text) {
        std::size_t start = 0;
        while (start <= text.size()) {
            std::size_t comma = text.find(',', start);
            std::string name = trim(
                text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            if (!name.empty()) names.push_back(name);
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    };
    if (value.is_array()) {
        for (const auto& item : value) {
            if (!item.is_string()) throw UsageError("'" + what + "' must list column names");
            add(item.get<std::string>());
        }
    } else {
        add(text_of(value));
    }
    if (names.empty()) throw UsageError("'" + what + "' names no column");
    return names;
}

std::int64_t positive(const nlohmann::ordered_json& value, const std::string& what) {
    std::string text = text_of(value);
    if (text.empty() || text.size() > 12 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw UsageError("'" + what + "' must be a whole number, not '" + text + "'");
    return std::stoll(text);
}

std::string default_name(const ReconcileCheck& check) {
    switch (check.kind) {
        case CheckKind::count:
            return "count of " + check.table;
        case CheckKind::group_by:
            return check.table + " by " + join(check.columns, ", ");
        case CheckKind::sum:
            return "sum of " + join(check.columns, ", ") + " in " + check.table;
        case CheckKind::checksum:
            return "checksum of " + check.table;
    }
    return check.table;
}

ReconcileCheck check_from(const nlohmann::ordered_json& item) {
    if (!item.is_object())
        throw UsageError("expected a mapping with 'table' and one of: " + join(k_what, ", "));
    for (const auto& [field, value] : item.items())
        if (std::find(reconcile_check_fields().begin(), reconcile_check_fields().end(), field) ==
            reconcile_check_fields().end())
            throw UsageError("unknown field '" + field + "'" +
                             did_you_mean(field, reconcile_check_fields()) +
                             " (fields: " + join(reconcile_check_fields(), ", ") + ")");
    ReconcileCheck check;
    check.table = item.contains("table") ? trim(text_of(item["table"])) : "";
    if (check.table.empty()) throw UsageError("'table' is missing");
    check.target_table =
        item.contains("target_table") ? trim(text_of(item["target_table"])) : check.table;
    std::vector<std::string> given;
    for (const std::string& what : k_what)
        if (item.contains(what)) given.push_back(what);
    if (given.size() != 1)
        throw UsageError((given.empty() ? "needs one of: " : "takes only one of: ") +
                         join(k_what, ", "));
    const std::string& what = given.front();
    if (what == "count") {
        if (!truthy(item["count"])) throw UsageError("'count' must be true");
        check.kind = CheckKind::count;
    } else if (what == "group_by") {
        check.kind = CheckKind::group_by;
        check.columns = names_of(item["group_by"], "group_by");
    } else if (what == "sum") {
        check.kind = CheckKind::sum;
        check.columns = names_of(item["sum"], "sum");
    } else {
        if (!truthy(item["checksum"])) throw UsageError("'checksum' must be true");
        check.kind = CheckKind::checksum;
        if (item.contains("columns")) check.columns = names_of(item["columns"], "columns");
        if (item.contains("key")) check.key = names_of(item["key"], "key");
        if (item.contains("chunk")) check.chunk = positive(item["chunk"], "chunk");
        if (check.chunk < 1) throw UsageError("'chunk' must be 1 or more");
        if (item.contains("drill"))
            check.drill = static_cast<std::size_t>(positive(item["drill"], "drill"));
    }
    if (check.kind != CheckKind::checksum)
        for (const char* field : {"columns", "key", "chunk", "drill"})
            if (item.contains(field))
                throw UsageError(std::string("'") + field + "' goes with 'checksum'");
    if (item.contains("where")) check.where = trim(text_of(item["where"]));
    if (item.contains("tolerance")) {
        if (check.kind == CheckKind::checksum)
            throw UsageError(
                "'tolerance' does not apply to a checksum (a hash matches or not); "
                "narrow it with 'where' instead");
        check.tolerance = Tolerance::parse(trim(text_of(item["tolerance"])));
    }
    check.name = item.contains("name") ? trim(text_of(item["name"])) : "";
    if (check.name.empty()) check.name = default_name(check);
    return check;
}

}  // namespace

Tolerance Tolerance::parse(const std::string& text) {
    Tolerance tolerance;
    std::string number = text;
    bool percent = !number.empty() && number.back() == '%';
    if (percent) number = trim(number.substr(0, number.size() - 1));
    auto amount = Decimal::parse(number);
    bool plain = !number.empty() && number.find_first_not_of("0123456789.") == std::string::npos;
    if (!amount || !plain)
        throw UsageError("bad tolerance '" + text +
                         "'; write an amount (5, 0.01) or a percentage (0.5%)");
    tolerance.amount = *amount;
    tolerance.kind = amount->is_zero() ? Kind::exact : percent ? Kind::percent : Kind::absolute;
    return tolerance;
}

bool Tolerance::allows(const Decimal& source, const Decimal& target) const {
    Decimal gap = (target - source).abs();
    switch (kind) {
        case Kind::exact:
            return gap.is_zero();
        case Kind::absolute:
            return compare(gap, amount) <= 0;
        case Kind::percent:
            return compare(gap * Decimal::of(100), amount * source.abs()) <= 0;
    }
    return false;
}

std::string Tolerance::str() const {
    switch (kind) {
        case Kind::exact:
            return "exact";
        case Kind::absolute:
            return amount.str();
        case Kind::percent:
            return amount.str() + "%";
    }
    return "";
}

const std::vector<std::string>& reconcile_check_fields() {
    static const std::vector<std::string> k_fields = {
        "name",  "table", "target_table", "count", "group_by", "sum",      "checksum",
        "chunk", "key",   "columns",      "drill", "where",    "tolerance"};
    return k_fields;
}

std::vector<ReconcileCheck> reconcile_checks(const nlohmann::ordered_json& checks,
                                             const std::vector<std::string>& tables) {
    std::vector<ReconcileCheck> out;
    for (const std::string& table : tables) {
        ReconcileCheck check;
        check.table = check.target_table = table;
        check.name = default_name(check);
        out.push_back(check);
    }
    if (!checks.is_null() && !checks.is_array())
        throw UsageError("'checks' must be a list of mappings");
    for (std::size_t i = 0; !checks.is_null() && i < checks.size(); ++i) {
        try {
            out.push_back(check_from(checks[i]));
        } catch (const UsageError& e) {
            std::string table = checks[i].is_object() && checks[i].contains("table")
                                    ? text_of(checks[i]["table"])
                                    : "";
            throw UsageError("check " + std::to_string(i + 1) +
                             (table.empty() ? "" : " (table '" + table + "')") + ": " + e.what());
        }
    }
    if (out.empty()) throw UsageError("nothing to compare: give 'checks' or 'tables'");
    return out;
}

std::string key_name(const std::vector<std::string>& key, const KeyValues& values) {
    if (key.size() == 1) return key.front() + " " + (values.empty() ? "" : values.front());
    return "(" + join(key, ", ") + ") (" + join(values, ", ") + ")";
}

std::string key_range_name(const std::vector<std::string>& key, const KeyRange& range) {
    auto values = [&](const KeyValues& v) {
        return key.size() == 1 ? v.front() : "(" + join(v, ", ") + ")";
    };
    std::string columns = key.size() == 1 ? key.front() : "(" + join(key, ", ") + ")";
    if (range.first && range.last) {
        if (*range.first == *range.last) return columns + " " + values(*range.first);
        return columns + " " + values(*range.first) + ".." + values(*range.last);
    }
    if (range.upper && !range.lower)
        return columns + (range.upper->inclusive ? " <= " : " < ") + values(range.upper->values);
    if (range.lower && !range.upper)
        return columns + (range.lower->inclusive ? " >= " : " > ") + values(range.lower->values);
    if (range.lower && range.upper)
        return columns + " " + values(range.lower->values) + ".." + values(range.upper->values);
    return "all rows";
}

namespace {

// `key > bound` (or >=, <, <=) for a key of any width.
std::string bound_condition(
    const std::vector<std::string>& key, const KeyBound& bound, bool lower,
    const std::function<std::string(const std::string&)>& column,
    const std::function<std::string(std::size_t, const std::string&)>& literal) {
    std::string strict = lower ? " > " : " < ";
    std::string last = bound.inclusive ? (lower ? " >= " : " <= ") : strict;
    if (key.size() == 1) return column(key[0]) + last + literal(0, bound.values[0]);
    std::vector<std::string> alternatives;
    for (std::size_t i = 0; i < key.size(); ++i) {
        std::vector<std::string> terms;
        for (std::size_t j = 0; j < i; ++j)
            terms.push_back(column(key[j]) + " = " + literal(j, bound.values[j]));
        terms.push_back(column(key[i]) + (i + 1 == key.size() ? last : strict) +
                        literal(i, bound.values[i]));
        alternatives.push_back(terms.size() == 1 ? terms[0] : "(" + join(terms, " AND ") + ")");
    }
    return "(" + column(key[0]) + (lower ? " >= " : " <= ") + literal(0, bound.values[0]) +
           " AND (" + join(alternatives, " OR ") + "))";
}

}  // namespace

std::string key_range_condition(
    const std::vector<std::string>& key, const KeyRange& range,
    const std::function<std::string(const std::string&)>& column,
    const std::function<std::string(std::size_t, const std::string&)>& literal) {
    std::vector<std::string> parts;
    if (range.lower) parts.push_back(bound_condition(key, *range.lower, true, column, literal));
    if (range.upper) parts.push_back(bound_condition(key, *range.upper, false, column, literal));
    return parts.empty() ? "1" : join(parts, " AND ");
}

bool compare_numbers(const ReconcileCheck& check, const std::string& where,
                     const std::optional<std::string>& source,
                     const std::optional<std::string>& target, std::vector<Difference>& out) {
    std::string source_text = source.value_or("0");
    std::string target_text = target.value_or("0");
    auto a = Decimal::parse(source_text);
    auto b = Decimal::parse(target_text);
    Difference difference{
        check.name, check.table, where, source ? *source : "NULL", target ? *target : "NULL",
        "",         false,       {}};
    if (a && b) {
        if (*a == *b) return false;
        Decimal gap = *b - *a;
        difference.difference = (gap.negative() ? "" : "+") + gap.str();
        difference.tolerated = check.tolerance.allows(*a, *b);
    } else {
        if (source_text == target_text) return false;
        difference.difference = "differs";
    }
    out.push_back(std::move(difference));
    return true;
}

std::string group_name(const std::vector<std::string>& columns,
                       const std::vector<std::optional<std::string>>& values) {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < columns.size() && i < values.size(); ++i)
        parts.push_back(columns[i] + "=" + (values[i] ? *values[i] : "NULL"));
    return join(parts, ", ");
}

void compare_groups(const ReconcileCheck& check, const GroupCounts& source,
                    const GroupCounts& target, std::vector<Difference>& out) {
    std::vector<std::vector<std::optional<std::string>>> groups;
    for (const auto& [group, count] : source) groups.push_back(group);
    for (const auto& [group, count] : target)
        if (!source.count(group)) groups.push_back(group);
    std::sort(groups.begin(), groups.end());
    for (const auto& group : groups) {
        auto s = source.find(group);
        auto t = target.find(group);
        std::string a = s == source.end() ? "0" : s->second;
        std::string b = t == target.end() ? "0" : t->second;
        compare_numbers(check, group_name(check.columns, group), a, b, out);
    }
}

std::string difference_table(const std::vector<Difference>& differences) {
    std::vector<std::vector<std::string>> rows = {
        {"check", "table", "where", "source", "target", "difference"}};
    for (const Difference& d : differences)
        rows.push_back({d.check, d.table, d.where, d.source, d.target,
                        d.difference + (d.tolerated ? " (within tolerance)" : "")});
    std::vector<std::size_t> widths(rows[0].size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    std::string text;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        std::string line;
        for (std::size_t i = 0; i < rows[r].size(); ++i) {
            line += rows[r][i];
            if (i + 1 < rows[r].size()) line += std::string(widths[i] - rows[r][i].size() + 2, ' ');
        }
        text += line + "\n";
        if (r > 0)
            for (const std::string& key : differences[r - 1].keys) text += "    " + key + "\n";
    }
    return text;
}

nlohmann::ordered_json difference_json(const Difference& d) {
    nlohmann::ordered_json json{{"check", d.check},        {"table", d.table},
                                {"where", d.where},        {"source", d.source},
                                {"target", d.target},      {"difference", d.difference},
                                {"tolerated", d.tolerated}};
    if (!d.keys.empty()) json["keys"] = d.keys;
    return json;
}

}  // namespace migrate::steps::mysql
