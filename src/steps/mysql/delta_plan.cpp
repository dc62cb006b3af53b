// The delta kind's plan: table entries from the parameters, the keyset-paginated batch query,
// the upsert statement, cursors and values in JSON. No I/O; the runner is src/steps/delta.cpp.
#include "migrate/steps/mysql/delta_plan.h"
#include "migrate/io/db/dialect.h"

#include <algorithm>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::mysql::delta {
namespace {

using Json = nlohmann::ordered_json;

const std::vector<std::string> k_table_fields = {"table",   "watermark", "key",
                                                 "columns", "where",     "since"};

std::vector<std::string> names_of(const Json& value, const std::string& what) {
    if (value.is_string()) return {value.get<std::string>()};
    std::vector<std::string> out;
    if (!value.is_array()) throw StepError(what + " must be a name or a list of names", false);
    for (const Json& item : value) {
        if (!item.is_string())
            throw StepError(what + " must list names, found " + item.dump(), false);
        out.push_back(item.get<std::string>());
    }
    return out;
}

std::string text_of(const Json& entry, const std::string& field, const std::string& what) {
    if (!entry.contains(field) || entry[field].is_null()) return "";
    if (!entry[field].is_string())
        throw StepError(what + "." + field + " must be a single value", false);
    return entry[field].get<std::string>();
}

TableRequest request_of(const Json& entry, std::size_t index, const kinds::Params& params) {
    std::string what = "tables[" + std::to_string(index + 1) + "]";
    TableRequest request;
    request.watermark = params.string("watermark");
    request.since = params.string("since");
    if (entry.is_string()) {
        request.name = entry.get<std::string>();
    } else if (entry.is_object()) {
        for (const auto& [field, value] : entry.items())
            if (std::find(k_table_fields.begin(), k_table_fields.end(), field) ==
                k_table_fields.end())
                throw StepError(what + ": unknown field '" + field + "'" +
                                    did_you_mean(field, k_table_fields) +
                                    " (fields: " + join(k_table_fields, ", ") + ")",
                                false);
        request.name = text_of(entry, "table", what);
        if (request.name.empty())
            throw StepError(what + " needs 'table' (the table's name)", false);
        what = "table '" + request.name + "'";
        if (std::string column = text_of(entry, "watermark", what); !column.empty())
            request.watermark = column;
        if (entry.contains("key")) request.key = names_of(entry["key"], what + ".key");
        if (entry.contains("columns"))
            request.columns = names_of(entry["columns"], what + ".columns");
        request.where = text_of(entry, "where", what);
        if (std::string since = text_of(entry, "since", what); !since.empty())
            request.since = since;
    } else {
        throw StepError(
            what + " must be a table name or a mapping {table, watermark, key, columns, where}",
            false);
    }
    if (request.name.empty()) throw StepError(what + " is an empty table name", false);
    if (request.watermark.empty())
        throw StepError("table '" + request.name +
                            "' has no watermark column: give 'watermark:' in its entry or the "
                            "step's 'watermark'",
                        false);
    if (request.since.empty())
        throw StepError(
            "table '" + request.name + "' has no 'since' (the watermark value to copy from)",
            false);
    return request;
}

void append_hex(std::string& out, std::string_view bytes) {
    out += hex_encode(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

// "(c1 > v1 OR (c1 = v1 AND (c2 > v2 ...)))" for the key columns from `at` on.
void append_key_after(std::string& out, const TablePlan& plan, const Cursor& cursor, std::size_t at,
                      io::db::Session& escaper) {
    std::size_t column = plan.key[at];
    std::string name = io::db::mysql_dialect().quote_identifier(plan.columns[column]);
    out += name + " > ";
    append_literal(out, cursor.key[at], plan.literals[column], escaper);
    if (at + 1 == plan.key.size()) return;
    out += " OR (" + name + " = ";
    append_literal(out, cursor.key[at], plan.literals[column], escaper);
    out += " AND (";
    append_key_after(out, plan, cursor, at + 1, escaper);
    out += "))";
}

void append_rows_filter(std::string& out, const TablePlan& plan, io::db::Session& escaper) {
    const std::string wm = io::db::mysql_dialect().quote_identifier(plan.columns[plan.watermark]);
    out += " WHERE " + wm + (plan.watermark_class == WatermarkClass::time ? " >= " : " > ");
    append_literal(out, plan.since, plan.literals[plan.watermark], escaper);
    if (!plan.where.empty()) out += " AND (" + plan.where + ")";
}

}  // namespace

std::vector<TableRequest> table_requests(const kinds::Params& params) {
    if (!params.has("tables")) throw StepError("'tables' lists no table", false);
    Json tables = params.raw()["tables"];
    if (!tables.is_array()) tables = Json::array({tables});
    if (tables.empty()) throw StepError("'tables' lists no table", false);
    std::vector<TableRequest> requests;
    for (std::size_t i = 0; i < tables.size(); ++i) {
        TableRequest request = request_of(tables[i], i, params);
        for (const TableRequest& other : requests)
            if (other.name == request.name)
                throw StepError("table '" + request.name + "' is listed twice in 'tables'", false);
        requests.push_back(std::move(request));
    }
    return requests;
}

WatermarkClass watermark_class(const std::string& data_type) {
    static const std::vector<std::string> k_time = {"timestamp", "datetime", "date"};
    static const std::vector<std::string> k_number = {
        "tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double", "year"};
    if (std::find(k_time.begin(), k_time.end(), data_type) != k_time.end())
        return WatermarkClass::time;
    if (std::find(k_number.begin(), k_number.end(), data_type) != k_number.end())
        return WatermarkClass::number;
    return WatermarkClass::other;
}

Literal literal_of(const std::string& data_type) {
    static const std::vector<std::string> k_binary = {"binary", "varbinary",  "tinyblob",
                                                      "blob",   "mediumblob", "longblob"};
    if (data_type == "bit") return Literal::bit;
    if (watermark_class(data_type) == WatermarkClass::number) return Literal::number;
    if (std::find(k_binary.begin(), k_binary.end(), data_type) != k_binary.end())
        return Literal::binary;
    return Literal::text;
}

std::string qualified_name(const TablePlan& plan) {
    return io::db::mysql_dialect().quote_identifier(plan.schema) + "." +
           io::db::mysql_dialect().quote_identifier(plan.table);
}

std::string target_name(const TablePlan& plan) {
    return io::db::mysql_dialect().quote_identifier(plan.target_schema) + "." +
           io::db::mysql_dialect().quote_identifier(plan.table);
}

void append_literal(std::string& out, const Value& value, Literal literal,
                    io::db::Session& escaper) {
    if (!value) {
        out += "NULL";
        return;
    }
    switch (literal) {
        case Literal::number:
            // A number as the server printed it; anything else (never expected) is quoted.
            if (!value->empty() &&
                value->find_first_not_of("0123456789.-+eE") == std::string::npos) {
                out += *value;
                return;
            }
            break;
        case Literal::bit:
            out += "0x";
            if (value->empty()) out += "00";
            append_hex(out, *value);
            return;
        case Literal::binary:
            out += "_binary";
            break;
        case Literal::text:
            break;
    }
    out += '\'';
    escaper.append_escaped(out, *value);
    out += '\'';
}

std::string batch_query(const TablePlan& plan, const Cursor& cursor, const Value& until,
                        std::size_t limit, io::db::Session& escaper) {
    std::string sql = "SELECT ";
    for (std::size_t i = 0; i < plan.columns.size(); ++i)
        sql += (i ? ", " : "") + io::db::mysql_dialect().quote_identifier(plan.columns[i]);
    sql += " FROM " + qualified_name(plan);
    const std::string wm = io::db::mysql_dialect().quote_identifier(plan.columns[plan.watermark]);
    const Literal wm_literal = plan.literals[plan.watermark];
    if (!cursor.started) {
        append_rows_filter(sql, plan, escaper);
    } else {
        sql += " WHERE (" + wm + " > ";
        append_literal(sql, cursor.watermark, wm_literal, escaper);
        if (!plan.watermark_is_key) {
            sql += " OR (" + wm + " = ";
            append_literal(sql, cursor.watermark, wm_literal, escaper);
            sql += " AND (";
            append_key_after(sql, plan, cursor, 0, escaper);
            sql += "))";
        }
        sql += ")";
        if (!plan.where.empty()) sql += " AND (" + plan.where + ")";
    }
    if (until) {
        sql += " AND " + wm + " <= ";
        append_literal(sql, until, wm_literal, escaper);
    }
    sql += " ORDER BY " + wm;
    if (!plan.watermark_is_key)
        for (std::size_t k : plan.key)
            sql += ", " + io::db::mysql_dialect().quote_identifier(plan.columns[k]);
    sql += " LIMIT " + std::to_string(limit);
    return sql;
}

std::string bound_query(const TablePlan& plan, io::db::Session& escaper, bool count) {
    std::string sql = std::string("SELECT ") + (count ? "COUNT(*), " : "") + "MAX(" +
                      io::db::mysql_dialect().quote_identifier(plan.columns[plan.watermark]) +
                      ") FROM " + qualified_name(plan);
    append_rows_filter(sql, plan, escaper);
    return sql;
}

std::string upsert_statement(const TablePlan& plan, const std::vector<Row>& rows, std::size_t first,
                             std::size_t last, bool upsert, io::db::Session& escaper) {
    std::string sql = "INSERT INTO " + target_name(plan) + " (";
    for (std::size_t i = 0; i < plan.columns.size(); ++i)
        sql += (i ? ", " : "") + io::db::mysql_dialect().quote_identifier(plan.columns[i]);
    sql += ") VALUES ";
    for (std::size_t r = first; r < last; ++r) {
        sql += r == first ? "(" : ",(";
        const Row& row = rows[r];
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i) sql += ',';
            append_literal(sql, row[i], plan.literals[i], escaper);
        }
        sql += ')';
    }
    // The key columns first: a row that meets a target row with another key (on a secondary
    // unique index) sets a key column to NULL, which the server refuses (error 1048), instead
    // of overwriting that other row.
    sql += " ON DUPLICATE KEY UPDATE ";
    for (std::size_t n = 0; n < plan.key.size(); ++n) {
        std::string name = io::db::mysql_dialect().quote_identifier(plan.columns[plan.key[n]]);
        sql += (n ? ", " : "") + name + " = IF(" + name + " <=> VALUES(" + name + "), " + name +
               ", NULL)";
    }
    if (!upsert) return sql;
    for (std::size_t i = 0; i < plan.columns.size(); ++i) {
        if (std::find(plan.key.begin(), plan.key.end(), i) != plan.key.end()) continue;
        std::string name = io::db::mysql_dialect().quote_identifier(plan.columns[i]);
        sql += ", " + name + " = VALUES(" + name + ")";
    }
    return sql;
}

Cursor cursor_after(const TablePlan& plan, const Row& row) {
    Cursor cursor;
    cursor.started = true;
    cursor.watermark = row[plan.watermark];
    for (std::size_t k : plan.key) cursor.key.push_back(row[k]);
    return cursor;
}

nlohmann::ordered_json value_json(const Value& value, bool binary) {
    if (!value) return nullptr;
    if (!binary && migrate::valid_utf8(*value)) return *value;
    std::string hex;
    append_hex(hex, *value);
    return Json{{"hex", hex}};
}

Value value_from_json(const nlohmann::ordered_json& json) {
    if (json.is_null()) return std::nullopt;
    if (json.is_string()) return json.get<std::string>();
    if (json.is_object() && json.contains("hex") && json["hex"].is_string()) {
        const std::string hex = json["hex"].get<std::string>();
        std::string bytes;
        for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
            bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
        return bytes;
    }
    throw StepError("a checkpoint holds a value that is neither text, hex nor null: " + json.dump(),
                    false);
}

Json state_json(const std::vector<TablePlan>& plans, const CopyState& state) {
    Json tables = Json::array();
    for (std::size_t i = 0; i < plans.size(); ++i) {
        const TableState& t = state.tables[i];
        Json entry{{"table", plans[i].name},
                   {"since", plans[i].since},
                   {"rows", t.rows},
                   {"quarantined", t.quarantined},
                   {"done", t.done}};
        if (t.bounded) entry["until"] = value_json(t.until, false);
        if (t.cursor.started) {
            Json key = Json::array();
            for (std::size_t k = 0; k < t.cursor.key.size(); ++k)
                key.push_back(value_json(t.cursor.key[k],
                                         plans[i].literals[plans[i].key[k]] == Literal::binary));
            entry["after"] =
                Json{{"watermark", value_json(t.cursor.watermark, false)}, {"key", key}};
        }
        tables.push_back(entry);
    }
    Json state_out{{"tables", tables},
                   {"rows", state.rows},
                   {"batches", state.batches},
                   {"quarantined", state.quarantined}};
    if (state.lag_ms) state_out["watermark_lag_ms"] = *state.lag_ms;
    return state_out;
}

const Json* checkpoint_entry(const Json& checkpoint, const TablePlan& plan) {
    if (!checkpoint.contains("tables") || !checkpoint["tables"].is_array()) return nullptr;
    for (const Json& entry : checkpoint["tables"])
        if (entry.value("table", "") == plan.name && entry.value("since", "") == plan.since)
            return &entry;
    return nullptr;
}

TableState table_state_of(const Json& entry, const TablePlan& plan) {
    TableState t;
    t.rows = entry.value("rows", std::uint64_t{0});
    t.quarantined = entry.value("quarantined", std::uint64_t{0});
    t.done = entry.value("done", false);
    if (entry.contains("until")) {
        t.bounded = true;
        t.until = value_from_json(entry["until"]);
    }
    if (entry.contains("after") && entry["after"].is_object()) {
        const Json& after = entry["after"];
        t.cursor.started = true;
        t.cursor.watermark = value_from_json(after.value("watermark", Json()));
        for (const Json& key : after.value("key", Json::array()))
            t.cursor.key.push_back(value_from_json(key));
        if (t.cursor.key.size() != plan.key.size())
            throw StepError("table '" + plan.name + "': the checkpoint's key has " +
                                std::to_string(t.cursor.key.size()) + " columns, the table's key " +
                                std::to_string(plan.key.size()),
                            false);
    }
    return t;
}

bool error_is_about_rows(unsigned code) {
    switch (code) {
        case 1048:  // column cannot be null (and the unique-key guard of upsert_statement)
        case 1062:  // duplicate entry
        case 1264:  // out of range
        case 1265:  // data truncated
        case 1292:  // incorrect date/time value
        case 1366:  // incorrect value for the column
        case 1406:  // data too long
        case 1451:  // a child row exists (foreign key)
        case 1452:  // no parent row (foreign key)
        case 1586:  // duplicate entry for a key name
        case 1859:  // duplicate entry for an unnamed key
        case 3819:  // CHECK constraint (MySQL)
        case 4025:  // CHECK constraint (MariaDB)
        case 4078:  // illegal value for a JSON column
            return true;
        default:
            return false;
    }
}

}  // namespace migrate::steps::mysql::delta
