// Deferring a table's secondary keys to after its data (load_keys.h).
#include "migrate/steps/mysql/load_keys.h"

#include "migrate/io/db/dialect.h"
#include "migrate/io/db/session.h"

namespace migrate::steps::mysql {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    for (std::size_t pos = 0;;) {
        std::size_t end = text.find('\n', pos);
        lines.push_back(text.substr(pos, end == std::string_view::npos ? end : end - pos));
        if (end == std::string_view::npos) return lines;
        pos = end + 1;
    }
}

}  // namespace

std::optional<DeferredKeys> defer_secondary_keys(std::string_view create_table) {
    if (!starts_with(create_table, "CREATE TABLE ")) return std::nullopt;
    std::vector<std::string_view> lines = lines_of(create_table);
    if (lines.size() < 3 || lines.front().empty() || lines.front().back() != '(')
        return std::nullopt;
    std::size_t close = lines.size() - 1;
    while (close > 0 && !starts_with(lines[close], ")")) --close;
    if (close < 2) return std::nullopt;
    DeferredKeys result;
    std::string_view head = lines.front();  // CREATE TABLE `name` (
    head.remove_prefix(std::string_view("CREATE TABLE ").size());
    head.remove_suffix(1);
    while (!head.empty() && head.back() == ' ') head.remove_suffix(1);
    if (head.size() < 2 || head.front() != '`' || head.back() != '`') return std::nullopt;
    result.table = std::string(head);
    std::vector<std::string_view> kept;
    for (std::size_t i = 1; i < close; ++i) {
        std::string_view line = lines[i];
        // A line out of form (a value with a line break in it, say): leave the table alone.
        if (!starts_with(line, "  ") || starts_with(line, "   ")) return std::nullopt;
        std::string_view definition = line.substr(2);
        bool last = i + 1 == close;
        if (!last) {
            if (definition.empty() || definition.back() != ',') return std::nullopt;
            definition.remove_suffix(1);
        }
        if ((starts_with(definition, "CONSTRAINT ") || starts_with(definition, "FOREIGN KEY")) &&
            definition.find("FOREIGN KEY") != std::string_view::npos)
            return std::nullopt;
        if (starts_with(definition, "KEY "))
            result.keys.emplace_back(definition);
        else
            kept.push_back(definition);
    }
    if (result.keys.empty() || kept.empty()) return std::nullopt;
    result.create = std::string(lines.front()) + "\n";
    for (std::size_t i = 0; i < kept.size(); ++i)
        result.create += "  " + std::string(kept[i]) + (i + 1 < kept.size() ? ",\n" : "\n");
    for (std::size_t i = close; i < lines.size(); ++i)
        result.create += std::string(lines[i]) + (i + 1 < lines.size() ? "\n" : "");
    return result;
}

std::string add_keys_statement(const DeferredKeys& deferred) {
    std::string statement = "ALTER TABLE " + deferred.table;
    for (std::size_t i = 0; i < deferred.keys.size(); ++i)
        statement += (i == 0 ? " ADD " : ", ADD ") + deferred.keys[i];
    return statement;
}

void add_deferred_keys(io::db::Session& session, const DeferredKeys& deferred) {
    std::string statement = add_keys_statement(deferred);
    try {
        session.execute(statement);
    } catch (const io::db::DbError& e) {
        throw io::db::DbError("adding the secondary keys of " + deferred.table +
                                  " after its data (" + statement + "): " + e.what(),
                              e.code(), e.retryable());
    }
}

std::optional<std::string> place_deferred_keys(io::db::Session& session, DeferredKeys& deferred,
                                               std::string_view original) {
    constexpr unsigned k_table_access_denied = 1142;  // "ALTER command denied to user ..."
    std::string probe;
    try {
        if (deferred.table.find("`.`") == std::string::npos)
            if (std::optional<std::string> database = session.first_value("SELECT DATABASE()"))
                deferred.table =
                    io::db::mysql_dialect().quote_identifier(*database) + "." + deferred.table;
        probe = "ALTER TABLE " + deferred.table;
        session.execute(probe);
        return std::nullopt;
    } catch (const io::db::DbError& e) {
        if (e.code() == k_table_access_denied) {
            session.execute("DROP TABLE IF EXISTS " + deferred.table);
            session.execute(original);
            return "defer_keys: secondary keys are built during the load, as the user may not "
                   "add them after it: " +
                   std::string(e.what());
        }
        throw io::db::DbError("checking that " + deferred.table + " may be altered after its data" +
                                  (probe.empty() ? "" : " (" + probe + ")") + ": " + e.what(),
                              e.code(), e.retryable());
    }
}

std::vector<std::string> stop_earlier_key_builds(io::db::Session& session,
                                                 const std::string& database) {
    std::string prefix = "ALTER TABLE " + io::db::mysql_dialect().quote_identifier(database) + ".";
    struct Found {
        std::string id, seconds, statement;
    };
    std::vector<Found> found;
    {
        std::unique_ptr<io::db::Result> result = session.query(
            "SELECT ID, TIME, INFO FROM information_schema.PROCESSLIST WHERE ID <> "
            "CONNECTION_ID() AND USER = SUBSTRING_INDEX(USER(), '@', 1) AND INFO "
            "LIKE 'ALTER TABLE %'");
        io::db::Row row;
        while (result->next(row)) {
            std::string_view info = row.view(2);
            if (info.substr(0, prefix.size()) == prefix &&
                info.find(" ADD KEY ") != std::string_view::npos)
                found.push_back({std::string(row.view(0)), std::string(row.view(1)),
                                 std::string(info.substr(0, 200))});
        }
    }
    std::vector<std::string> lines;
    for (const Found& statement : found) {
        std::string line =
            "an ALTER TABLE of an earlier attempt still ran on the server "
            "(connection " +
            statement.id + ", for " + statement.seconds + " s: " + statement.statement + ")";
        try {
            session.execute("KILL QUERY " + statement.id);
            lines.push_back(line + ": stopped, as its table is loaded again from scratch");
        } catch (const io::db::DbError& e) {
            lines.push_back(line + ": could not stop it (" + e.what() +
                            "); the load waits for it to end");
        }
    }
    return lines;
}

}  // namespace migrate::steps::mysql
