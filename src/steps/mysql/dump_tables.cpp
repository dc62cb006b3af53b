// mysql.dump's files: a table's schema, its rows as multi-row INSERTs formatted on the
// reader's thread and compressed (tested, hashed) as they are written, its triggers; the
// views and the routines.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "dump_snapshot.h"
#include "migrate/steps/mysql/dump_format.h"
#include "migrate/util/compressed_file.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::mysql {
namespace {

// An INSERT ends once it is this long: statements of about 1 MiB (docs/dump-format.md).
constexpr std::size_t k_statement_bytes = 1 << 20;
// Rows between two looks at the stop flag.
constexpr std::uint64_t k_stop_check_rows = 4096;

class SqlFile {
public:
    SqlFile(const DumpOptions& options, std::string name)
        : m_name(std::move(name)), m_writer(options.directory + "/" + m_name, options.compressor) {}
    void write(std::string_view text) { m_writer.write(text.data(), text.size()); }
    DumpFile commit() {
        CompressedFileResult result = m_writer.commit();
        return DumpFile{m_name, result.bytes_out, result.bytes_in, result.sha256};
    }

private:
    std::string m_name;
    CompressedFileWriter m_writer;
};

std::string file_name(const DumpOptions& options, std::string_view object, std::string_view what) {
    return encode_table_name(object) + "." + std::string(what) + ".sql" +
           compression_suffix(options.compressor.format);
}

DumpFile write_whole_file(const DumpOptions& options, const std::string& name,
                          std::string_view text) {
    SqlFile file(options, name);
    file.write(text);
    return file.commit();
}

std::vector<std::string> first_column(io::db::Session& session, const std::string& sql) {
    std::vector<std::string> values;
    std::unique_ptr<io::db::Result> result = session.query(sql);
    io::db::Row row;
    while (result->next(row)) values.emplace_back(row.view(0));
    return values;
}

// The named columns of the first row of `sql`'s result.
std::vector<std::string> row_of(io::db::Session& session, const std::string& sql,
                                const std::vector<std::string>& columns, const std::string& what) {
    std::unique_ptr<io::db::Result> result = session.query(sql);
    io::db::Row row;
    if (!result->next(row))
        throw StepError(what + ": the server returned nothing for " + sql, false);
    std::vector<std::string> values;
    for (const std::string& column : columns) {
        int index = result->column_index(column);
        if (index < 0 || row.is_null(static_cast<std::size_t>(index)))
            throw StepError(
                what +
                    ": the server did not show its definition (does the user have the privilege to "
                    "see it?)",
                false);
        values.emplace_back(row.view(static_cast<std::size_t>(index)));
    }
    while (result->next(row)) {
    }
    return values;
}

std::string in_database(io::db::Session& session, const DumpOptions& options) {
    return "'" + session.escape(options.database) + "'";
}

DumpFile write_schema(io::db::Session& session, const DumpOptions& options,
                      const std::string& table) {
    std::vector<std::string> create =
        row_of(session, "SHOW CREATE TABLE " + quote_identifier(table), {"Create Table"},
               "table '" + table + "'");
    std::string text =
        "/*!40101 SET NAMES utf8mb4 */;\n/*!40014 SET FOREIGN_KEY_CHECKS=0 */;\nDROP TABLE IF "
        "EXISTS " +
        quote_identifier(table) + ";\n" + create[0] + ";\n";
    return write_whole_file(options, file_name(options, table, "schema"), text);
}

// The columns a dump writes: stored ones (a generated column is computed again on load).
std::vector<std::string> stored_columns(io::db::Session& session, const DumpOptions& options,
                                        const std::string& table) {
    return first_column(
        session, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " +
                     in_database(session, options) + " AND TABLE_NAME = '" + session.escape(table) +
                     "' AND EXTRA NOT LIKE '%GENERATED%' AND EXTRA NOT LIKE '%PERSISTENT%' "
                     "ORDER BY ORDINAL_POSITION");
}

std::string column_list(const std::vector<std::string>& columns) {
    std::string list;
    for (const std::string& column : columns) {
        if (!list.empty()) list += ',';
        list += quote_identifier(column);
    }
    return list;
}

// The rows, streamed from the server, formatted into INSERTs of about 1 MiB, each handed to the
// compressor as soon as it ends. Returns the file and its row count.
// "WHERE `id` >= 1000 AND `id` < 2000", or "" for the whole table.
std::string where_clause(const std::optional<ChunkRange>& range) {
    if (!range) return "";
    std::vector<std::string> bounds;
    if (range->from)
        bounds.push_back(quote_identifier(range->column) + " >= " + std::to_string(*range->from));
    if (range->to)
        bounds.push_back(quote_identifier(range->column) + " < " + std::to_string(*range->to));
    return bounds.empty() ? "" : " WHERE " + join(bounds, " AND ");
}

std::string data_file_name(const DumpOptions& options, const TableTask& task) {
    if (task.chunks == 1) return file_name(options, task.table, "data");
    char number[16];
    std::snprintf(number, sizeof number, "data.%05zu", task.chunk + 1);
    return file_name(options, task.table, number);
}

DumpFile write_data(io::db::Session& session, const DumpOptions& options, const TableTask& task,
                    DumpCounters& counters) {
    const std::string& table = task.table;
    std::vector<std::string> columns = stored_columns(session, options, table);
    if (columns.empty()) throw StepError("table '" + table + "' has no column to read", false);
    std::string list = column_list(columns);
    std::string insert = "INSERT INTO " + quote_identifier(table) + " (" + list + ") VALUES ";
    SqlFile file(options, data_file_name(options, task));
    file.write(dump_file_header());
    std::unique_ptr<io::db::Result> result =
        session.query("SELECT /*!40001 SQL_NO_CACHE */ " + list + " FROM " +
                      quote_identifier(table) + where_clause(task.range));
    std::vector<ValueStyle> styles;
    for (const io::db::Column& column : result->columns()) styles.push_back(value_style(column));
    std::string buffer;
    buffer.reserve(k_statement_bytes + (k_statement_bytes >> 2));
    std::uint64_t rows = 0;
    std::uint64_t flushed_rows = 0;
    auto flush = [&] {
        buffer.append(";\n");
        file.write(buffer);
        counters.raw_bytes += buffer.size();
        counters.rows += rows - flushed_rows;
        flushed_rows = rows;
        buffer.clear();
    };
    io::db::Row row;
    while (result->next(row)) {
        if (buffer.empty()) {
            buffer.append(insert);
        } else {
            buffer.push_back(',');
        }
        buffer.push_back('(');
        for (std::size_t c = 0; c < styles.size(); ++c) {
            if (c > 0) buffer.push_back(',');
            append_value(buffer, styles[c], row.is_null(c), row.view(c));
        }
        buffer.push_back(')');
        ++rows;
        if (buffer.size() >= k_statement_bytes) flush();
        if (rows % k_stop_check_rows == 0 && counters.stop.load())
            throw StepError("stopped: another table's reader failed", false);
    }
    if (!buffer.empty()) flush();
    result.reset();
    DumpFile written = file.commit();
    written.rows = rows;
    return written;
}

// The statements between `DELIMITER ;;` and `DELIMITER ;` that create one trigger or routine
// under the sql_mode it was created with, as the loading user.
std::string delimited_create(const std::string& drop, const std::string& sql_mode,
                             const std::string& create) {
    return drop +
           ";;\nSET @migrate_saved_sql_mode = @@SESSION.sql_mode;;\nSET SESSION sql_mode = '" +
           sql_mode + "';;\n" + strip_definer(create) +
           ";;\nSET SESSION sql_mode = @migrate_saved_sql_mode;;\n";
}

std::optional<DumpFile> write_triggers(io::db::Session& session, const DumpOptions& options,
                                       const std::string& table) {
    std::vector<std::string> triggers = first_column(
        session, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = " +
                     in_database(session, options) + " AND EVENT_OBJECT_TABLE = '" +
                     session.escape(table) + "' ORDER BY ACTION_ORDER, TRIGGER_NAME");
    if (triggers.empty()) return std::nullopt;
    std::string text = "/*!40101 SET NAMES utf8mb4 */;\nDELIMITER ;;\n";
    for (const std::string& trigger : triggers) {
        std::vector<std::string> definition =
            row_of(session, "SHOW CREATE TRIGGER " + quote_identifier(trigger),
                   {"sql_mode", "SQL Original Statement"}, "trigger '" + trigger + "'");
        text += delimited_create("DROP TRIGGER IF EXISTS " + quote_identifier(trigger),
                                 definition[0], definition[1]);
    }
    text += "DELIMITER ;\n";
    return write_whole_file(options, file_name(options, table, "triggers"), text);
}

}  // namespace

std::vector<TableTask> plan_table(io::db::Session& session, const DumpOptions& options,
                                  const TableInfo& table) {
    TableTask whole{table.name, 0, 1, std::nullopt, table.data_length};
    // Chunks only pay when there is a table big enough to leave a reader idle at the end.
    if (!options.data || options.chunk_rows == 0 || table.estimated_rows < 2 * options.chunk_rows)
        return {whole};
    std::unique_ptr<io::db::Result> key = session.query(
        "SELECT k.COLUMN_NAME, c.DATA_TYPE FROM information_schema.KEY_COLUMN_USAGE k JOIN "
        "information_schema.COLUMNS c "
        "ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = "
        "k.COLUMN_NAME "
        "WHERE k.TABLE_SCHEMA = " +
        in_database(session, options) + " AND k.TABLE_NAME = '" + session.escape(table.name) +
        "' AND k.CONSTRAINT_NAME = 'PRIMARY'");
    std::vector<std::pair<std::string, std::string>> columns;
    io::db::Row row;
    while (key->next(row)) columns.emplace_back(row.view(0), row.view(1));
    key.reset();
    static const std::vector<std::string> k_integer_types = {"tinyint", "smallint", "mediumint",
                                                             "int", "bigint"};
    if (columns.size() != 1 || std::find(k_integer_types.begin(), k_integer_types.end(),
                                         columns[0].second) == k_integer_types.end())
        return {whole};
    std::string column = columns[0].first;
    std::unique_ptr<io::db::Result> limits =
        session.query("SELECT MIN(" + quote_identifier(column) + "), MAX(" +
                      quote_identifier(column) + ") FROM " + quote_identifier(table.name));
    if (!limits->next(row) || row.is_null(0) || row.is_null(1)) return {whole};
    std::int64_t lowest = 0, highest = 0;
    try {
        lowest = std::stoll(std::string(row.view(0)));
        highest = std::stoll(std::string(row.view(1)));
    } catch (const std::exception&) {
        return {whole};  // beyond a signed 64-bit integer: read in one piece
    }
    std::size_t count = static_cast<std::size_t>((table.estimated_rows + options.chunk_rows - 1) /
                                                 options.chunk_rows);
    long double span = static_cast<long double>(highest) - static_cast<long double>(lowest) + 1;
    if (span < static_cast<long double>(count)) return {whole};
    std::vector<TableTask> tasks;
    std::optional<std::int64_t>
        from;  // the first chunk is open below, the last above: no key is missed
    for (std::size_t i = 0; i < count; ++i) {
        std::optional<std::int64_t> to;
        if (i + 1 < count)
            to = lowest + static_cast<std::int64_t>(span * static_cast<long double>(i + 1) /
                                                    static_cast<long double>(count));
        tasks.push_back(TableTask{table.name, i, count, ChunkRange{column, from, to},
                                  table.data_length / count});
        from = to;
    }
    return tasks;
}

TablePart dump_table_part(io::db::Session& session, const DumpOptions& options,
                          const TableTask& task, DumpCounters& counters) {
    TablePart part{task, std::nullopt, std::nullopt, std::nullopt};
    if (task.chunk == 0 && options.schema) part.schema = write_schema(session, options, task.table);
    if (options.data) part.data = write_data(session, options, task, counters);
    if (task.chunk == 0 && options.triggers)
        part.triggers = write_triggers(session, options, task.table);
    return part;
}

std::vector<DumpView> dump_views(io::db::Session& session, const DumpOptions& options,
                                 const std::vector<std::string>& views) {
    std::vector<DumpView> written;
    for (const std::string& view : views) {
        std::string create = row_of(session, "SHOW CREATE VIEW " + quote_identifier(view),
                                    {"Create View"}, "view '" + view + "'")[0];
        create = strip_definer(create);
        if (create.rfind("CREATE ", 0) == 0) create.insert(std::strlen("CREATE "), "OR REPLACE ");
        std::string text = "/*!40101 SET NAMES utf8mb4 */;\n" + create + ";\n";
        written.push_back(
            DumpView{view, write_whole_file(options, file_name(options, view, "view"), text)});
    }
    return written;
}

std::optional<DumpFile> dump_routines(io::db::Session& session, const DumpOptions& options) {
    std::vector<std::pair<std::string, std::string>> routines;
    {
        std::unique_ptr<io::db::Result> result = session.query(
            "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE "
            "ROUTINE_SCHEMA = " +
            in_database(session, options) +
            " AND ROUTINE_TYPE IN ('PROCEDURE', 'FUNCTION') ORDER BY 1, 2");
        io::db::Row row;
        while (result->next(row)) routines.emplace_back(row.view(0), row.view(1));
    }
    if (routines.empty()) return std::nullopt;
    std::string text = "/*!40101 SET NAMES utf8mb4 */;\nDELIMITER ;;\n";
    for (const auto& [type, name] : routines) {
        std::string create_column = type == "PROCEDURE" ? "Create Procedure" : "Create Function";
        std::vector<std::string> definition =
            row_of(session, "SHOW CREATE " + type + " " + quote_identifier(name),
                   {"sql_mode", create_column},
                   (type == "PROCEDURE" ? "procedure '" : "function '") + name + "'");
        text += delimited_create("DROP " + type + " IF EXISTS " + quote_identifier(name),
                                 definition[0], definition[1]);
    }
    text += "DELIMITER ;\n";
    SqlFile file(options, "routines.sql" + compression_suffix(options.compressor.format));
    file.write(text);
    return file.commit();
}

}  // namespace migrate::steps::mysql
