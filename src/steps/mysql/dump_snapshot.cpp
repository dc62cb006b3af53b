// mysql.dump's server side before any file is written: what the database holds, the
// sessions' settings, and one snapshot shared by every reading connection.
#include "dump_snapshot.h"

#include "migrate/io/db/dialect.h"
#include "migrate/kinds/connections.h"
#include "migrate/steps/mysql/dump_format.h"
#include "migrate/util/error.h"

namespace migrate::steps::mysql {
namespace {

// Refusals of FLUSH TABLES WITH READ LOCK for want of a privilege (RELOAD).
bool is_privilege_error(unsigned code) {
    return code == 1044 || code == 1045 || code == 1142 || code == 1227;
}

std::optional<std::string> non_empty(std::string value) {
    if (value.empty()) return std::nullopt;
    return value;
}

// The GTID position: MariaDB's, else MySQL's; nullopt when the server has none.
std::optional<std::string> gtid_position(io::db::Session& session) {
    for (const char* sql : {"SELECT @@GLOBAL.gtid_binlog_pos", "SELECT @@GLOBAL.gtid_executed"}) {
        try {
            return non_empty(session.first_value(sql).value_or(""));
        } catch (const io::db::DbError& e) {
            if (e.retryable()) throw;
        }
    }
    return std::nullopt;
}

// Under the global read lock: the binary log position every reader's snapshot starts at.
SnapshotPosition position_under_lock(io::db::Session& session) {
    SnapshotPosition position;
    try {
        std::unique_ptr<io::db::Result> result = session.query("SHOW MASTER STATUS");
        io::db::Row row;
        if (result->next(row) && row.size() >= 2 && !row.is_null(0)) {
            position.binlog_file = std::string(row.view(0));
            position.binlog_position = std::stoull(std::string(row.view(1)));
        }
        while (result->next(row)) {
        }
    } catch (const io::db::DbError& e) {
        if (e.retryable()) throw;  // no binary log privilege: the position stays unknown
    }
    position.gtid = gtid_position(session);
    return position;
}

// Without the lock, MariaDB still tells where a consistent-snapshot transaction stands in the
// binary log (binlog_snapshot_file/position), and the GTID position there.
SnapshotPosition position_of_transaction(io::db::Session& session) {
    SnapshotPosition position;
    try {
        std::unique_ptr<io::db::Result> result =
            session.query("SHOW STATUS LIKE 'binlog_snapshot_%'");
        io::db::Row row;
        while (result->next(row)) {
            if (row.size() < 2 || row.is_null(1) || row.view(1).empty()) continue;
            if (row.view(0) == "Binlog_snapshot_file")
                position.binlog_file = std::string(row.view(1));
            if (row.view(0) == "Binlog_snapshot_position")
                position.binlog_position = std::stoull(std::string(row.view(1)));
        }
    } catch (const io::db::DbError& e) {
        if (e.retryable()) throw;
    }
    if (position.binlog_file && position.binlog_position) {
        try {
            position.gtid =
                non_empty(session
                              .first_value("SELECT BINLOG_GTID_POS('" +
                                           session.escape(*position.binlog_file) + "', " +
                                           std::to_string(*position.binlog_position) + ")")
                              .value_or(""));
        } catch (const io::db::DbError& e) {
            if (e.retryable()) throw;
        }
    } else {
        position.binlog_file.reset();
        position.binlog_position.reset();
    }
    return position;
}

void start_snapshot_transaction(io::db::Session& session) {
    session.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    session.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
}

}  // namespace

nlohmann::ordered_json DumpOptions::manifest_options() const {
    return {{"schema", schema},     {"data", data},       {"triggers", triggers}, {"views", views},
            {"routines", routines}, {"include", include}, {"exclude", exclude}};
}

DatabaseObjects list_objects(io::db::Session& session, const DumpOptions& options) {
    std::string database = session.escape(options.database);
    if (session.first_value(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '" + database +
            "'") == "0")
        throw StepError("the database '" + options.database + "' does not exist on " +
                            session.spec().describe(),
                        false);
    std::vector<TableInfo> tables;
    std::vector<std::string> views;
    std::vector<std::string> names;
    for (io::db::CatalogueTable& table :
         io::db::mysql_dialect().tables(session, options.database)) {
        if (table.kind == io::db::CatalogueTable::Kind::other)
            continue;  // sequences and temporary tables are not dumped
        names.push_back(table.name);
        if (table.kind == io::db::CatalogueTable::Kind::view)
            views.push_back(std::move(table.name));
        else
            tables.push_back(std::move(table));
    }
    TableSelection selection = select_tables(names, options.include, options.exclude);
    DatabaseObjects objects;
    objects.excluded = selection.excluded;
    for (const std::string& name : selection.chosen) {
        bool is_view = std::find(views.begin(), views.end(), name) != views.end();
        if (is_view) {
            if (options.views) objects.views.push_back(name);
            continue;
        }
        for (const TableInfo& table : tables)
            if (table.name == name) objects.tables.push_back(table);
    }
    return objects;
}

std::unique_ptr<io::db::Session> open_dump_session(kinds::StepContext& context,
                                                   const DumpOptions& options) {
    std::unique_ptr<io::db::Session> session = connect(context, options.connection);
    if (session->spec().database != options.database)
        session->execute("USE " + io::db::mysql_dialect().quote_identifier(options.database));
    // UTC for TIMESTAMPs; a reader slowed by the compressor must not be dropped by the server;
    // SHOW CREATE in the server's plain form (backticks, whatever the global sql_mode says).
    session->execute(
        "SET SESSION time_zone = '+00:00', SESSION net_write_timeout = 3600, SESSION "
        "net_read_timeout = 3600, "
        "SESSION sql_mode = '', SESSION sql_quote_show_create = 1");
    return session;
}

Snapshot take_snapshot(kinds::StepContext& context, const DumpOptions& options,
                       io::db::Session& control, int connections) {
    Snapshot snapshot;
    // The readers connect before the lock is taken: the lock lasts only as long as it takes to
    // start their transactions.
    for (int i = 0; i < connections; ++i)
        snapshot.readers.push_back(open_dump_session(context, options));
    bool locked = false;
    if (connections > 1) {
        try {
            control.execute("SET SESSION lock_wait_timeout = 60");
            control.execute("FLUSH TABLES WITH READ LOCK");
            locked = true;
        } catch (const io::db::DbError& e) {
            if (!is_privilege_error(e.code())) throw;
            snapshot.note = "FLUSH TABLES WITH READ LOCK was refused (" + std::string(e.what()) +
                            "); reading with one connection, still one snapshot";
            snapshot.readers.resize(1);
        }
    }
    try {
        if (locked) snapshot.position = position_under_lock(control);
        for (auto& reader : snapshot.readers) start_snapshot_transaction(*reader);
    } catch (...) {
        if (locked) control.execute("UNLOCK TABLES");
        throw;
    }
    if (locked)
        control.execute("UNLOCK TABLES");
    else
        snapshot.position = position_of_transaction(*snapshot.readers.front());
    return snapshot;
}

}  // namespace migrate::steps::mysql
