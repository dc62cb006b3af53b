// The delta kind's look-ups in the servers' catalogues: a table entry resolved into a plan
// (columns, key, watermark; the target's columns checked), the watermark's index and lag.
#include "delta_catalogue.h"

#include <algorithm>

#include "migrate/io/db/dialect.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::mysql::delta {
namespace {

using ColumnInfo = io::db::CatalogueColumn;

std::string where_is(io::db::Session& session, const std::string& schema) {
    return "database '" + schema + "' on " + session.spec().describe();
}

// The table's columns, or a StepError naming the table and what there is instead.
std::vector<ColumnInfo> table_columns(io::db::Session& session, const std::string& schema,
                                      const std::string& table, const std::string& name) {
    const io::db::Dialect& dialect = io::db::mysql_dialect();
    std::vector<ColumnInfo> columns = dialect.table_columns(session, schema, table);
    if (!columns.empty()) return columns;
    std::vector<std::string> tables = dialect.table_names(session, schema);
    throw StepError(
        "table '" + name + "' is not in " + where_is(session, schema) + did_you_mean(table, tables),
        false);
}

const ColumnInfo* find_column(const std::vector<ColumnInfo>& columns, const std::string& name) {
    for (const ColumnInfo& column : columns)
        if (column.name == name) return &column;
    return nullptr;
}

std::vector<std::string> column_names(const std::vector<ColumnInfo>& columns) {
    std::vector<std::string> names;
    for (const ColumnInfo& column : columns) names.push_back(column.name);
    return names;
}

const ColumnInfo& source_column(const std::vector<ColumnInfo>& columns, const std::string& name,
                                const std::string& table, const std::string& role) {
    const ColumnInfo* column = find_column(columns, name);
    if (column == nullptr)
        throw StepError("table '" + table + "': the " + role + " column '" + name +
                            "' is not in the source table" +
                            did_you_mean(name, column_names(columns)),
                        false);
    return *column;
}

void add_column(TablePlan& plan, const ColumnInfo& column) {
    if (std::find(plan.columns.begin(), plan.columns.end(), column.name) != plan.columns.end())
        return;
    plan.columns.push_back(column.name);
    plan.literals.push_back(literal_of(column.data_type));
}

std::size_t index_of(const TablePlan& plan, const std::string& column) {
    return static_cast<std::size_t>(std::find(plan.columns.begin(), plan.columns.end(), column) -
                                    plan.columns.begin());
}

}  // namespace

TablePlan resolve_table(io::db::Session& source, io::db::Session& target,
                        const TableRequest& request) {
    TablePlan plan;
    plan.name = request.name;
    plan.where = request.where;
    plan.since = request.since;
    if (std::size_t dot = request.name.find('.'); dot != std::string::npos) {
        plan.schema = plan.target_schema = request.name.substr(0, dot);
        plan.table = request.name.substr(dot + 1);
    } else {
        plan.schema = source.spec().database;
        plan.target_schema = target.spec().database;
        plan.table = request.name;
        for (io::db::Session* session : {&source, &target})
            if (session->spec().database.empty())
                throw StepError("table '" + request.name + "': " + session->spec().describe() +
                                    " names no database; give the connection a 'database' or write "
                                    "the table as database.table",
                                false);
    }
    std::vector<ColumnInfo> columns = table_columns(source, plan.schema, plan.table, request.name);
    std::vector<std::string> key = request.key;
    if (key.empty())
        key = source.first_column(
            "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '" +
            source.escape(plan.schema) + "' AND TABLE_NAME = '" + source.escape(plan.table) +
            "' AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX");
    if (key.empty())
        throw StepError("table '" + request.name +
                            "' has no primary key; give 'key:' (columns that identify a row)",
                        false);
    if (request.columns.empty()) {
        for (const ColumnInfo& column : columns)
            if (!column.generated) add_column(plan, column);
    } else {
        for (const std::string& name : request.columns)
            add_column(plan, source_column(columns, name, request.name, "listed"));
    }
    for (const std::string& name : key)
        add_column(plan, source_column(columns, name, request.name, "key"));
    const ColumnInfo& watermark =
        source_column(columns, request.watermark, request.name, "watermark");
    add_column(plan, watermark);
    plan.watermark = index_of(plan, watermark.name);
    for (const std::string& name : key) plan.key.push_back(index_of(plan, name));
    plan.watermark_class = watermark_class(watermark.data_type);
    if (plan.watermark_class == WatermarkClass::other)
        throw StepError("table '" + request.name + "': the watermark column '" + watermark.name +
                            "' is " + watermark.data_type +
                            "; it must be a date and time or a number",
                        false);
    plan.watermark_is_key = plan.key.size() == 1 && plan.key[0] == plan.watermark;
    std::vector<ColumnInfo> target_columns =
        table_columns(target, plan.target_schema, plan.table, request.name);
    for (const std::string& name : plan.columns) {
        const ColumnInfo* column = find_column(target_columns, name);
        if (column == nullptr || column->generated)
            throw StepError("table '" + request.name + "': the column '" + name +
                                "' is not a stored column of the target's table" +
                                did_you_mean(name, column_names(target_columns)),
                            false);
    }
    return plan;
}

// Milliseconds from the watermark to now, as the source's clock sees it, for a date-and-time
// watermark; nullopt for numbers. Throws StepError for a `since` that is no date and time.
std::optional<std::int64_t> watermark_lag_ms(io::db::Session& source, const TablePlan& plan,
                                             const std::string& type) {
    if (plan.watermark_class != WatermarkClass::time) {
        if (!is_plain_number(plan.since))
            throw StepError("table '" + plan.name + "': since '" + plan.since +
                                "' is not a number, and the watermark column '" +
                                plan.columns[plan.watermark] + "' is " + type,
                            false);
        return std::nullopt;
    }
    // A TIMESTAMP is compared in UTC (the session's zone); a DATETIME as written, in the
    // server's own time zone.
    std::string now = type == "timestamp"
                          ? "UTC_TIMESTAMP(3)"
                          : "CONVERT_TZ(UTC_TIMESTAMP(3), '+00:00', @@global.time_zone)";
    std::unique_ptr<io::db::Result> result =
        source.query("SELECT CAST('" + source.escape(plan.since) +
                     "' AS DATETIME(6)), TIMESTAMPDIFF(MICROSECOND, '" + source.escape(plan.since) +
                     "', " + now + ") DIV 1000, TIMESTAMPDIFF(MICROSECOND, '" +
                     source.escape(plan.since) + "', NOW(3)) DIV 1000");
    io::db::Row row;
    if (!result->next(row) || row.is_null(0))
        throw StepError(
            "table '" + plan.name + "': since '" + plan.since +
                "' is not a date and time (like 2026-03-01 04:00:00), and the watermark column '" +
                plan.columns[plan.watermark] + "' is " + type,
            false);
    std::size_t column =
        row.is_null(1) ? 2 : 1;  // CONVERT_TZ is NULL for a named zone without the zone tables
    if (row.is_null(column)) return std::nullopt;
    return std::stoll(std::string(row.view(column)));
}

std::string column_type(io::db::Session& source, const TablePlan& plan) {
    std::vector<std::string> types = source.first_column(
        "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '" +
        source.escape(plan.schema) + "' AND TABLE_NAME = '" + source.escape(plan.table) +
        "' AND COLUMN_NAME = '" + source.escape(plan.columns[plan.watermark]) + "'");
    return types.empty() ? "?" : types.front();
}

bool watermark_indexed(io::db::Session& source, const TablePlan& plan) {
    return !source
                .first_column("SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '" +
                              source.escape(plan.schema) + "' AND TABLE_NAME = '" +
                              source.escape(plan.table) + "' AND COLUMN_NAME = '" +
                              source.escape(plan.columns[plan.watermark]) +
                              "' AND SEQ_IN_INDEX = 1 LIMIT 1")
                .empty();
}

}  // namespace migrate::steps::mysql::delta
