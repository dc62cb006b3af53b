// mysql.dump: one consistent snapshot of a database read by parallel connections, written as
// per-table SQL files compressed, tested and hashed as they are written, with a manifest
// rewritten after every finished table and a completion marker last (docs/dump-format.md).
#include <filesystem>

#include "../families.h"
#include "dump_snapshot.h"
#include "migrate/kinds/connections.h"
#include "migrate/steps/mysql/dump_format.h"
#include "migrate/steps/mysql/dump_manifest.h"
#include "migrate/util/clock.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"
#include "migrate/util/units.h"

namespace migrate::steps::mysql {
namespace {

namespace fs = std::filesystem;

DumpOptions options_of(const kinds::StepContext& context) {
    const kinds::Params& p = context.params;
    DumpOptions o;
    o.connection = p.string("connection");
    o.directory = p.string("to");
    o.database = p.has("database") ? p.string("database")
                                   : kinds::connection_spec(context, o.connection).database;
    if (o.database.empty())
        throw StepError("no database to dump: give 'database', or a 'database' in connection '" +
                            o.connection + "'",
                        false);
    o.include = p.has("include") ? p.string_list("include") : std::vector<std::string>{};
    o.exclude = p.has("exclude") ? p.string_list("exclude") : std::vector<std::string>{};
    o.schema = p.boolean("schema");
    o.data = p.boolean("data");
    o.triggers = p.boolean("triggers");
    o.views = p.boolean("views");
    o.routines = p.boolean("routines");
    std::string name = p.string("compression");
    std::optional<CompressionFormat> format = compression_from_name(name);
    if (!format)
        throw StepError("parameter 'compression': '" + name + "' is not one of: zstd, gzip", false);
    o.compressor.format = *format;
    LevelRange range = compression_levels(*format);
    // zstd's fastest level by default: the dump is on the downtime's critical path, and level 1
    // costs half the CPU of level 3 for about a tenth more bytes (docs/kinds/mysql.dump.md).
    int fallback = *format == CompressionFormat::zstd ? 1 : range.fallback;
    o.compressor.level = p.has("level") ? static_cast<int>(p.integer("level")) : fallback;
    if (o.compressor.level < range.lowest || o.compressor.level > range.highest)
        throw StepError("parameter 'level': " + name + " levels go from " +
                            std::to_string(range.lowest) + " to " + std::to_string(range.highest) +
                            ", not " + std::to_string(o.compressor.level),
                        false);
    o.threads = kinds::thread_count(p, "threads");
    std::int64_t chunk_rows = p.integer("chunk_rows");
    if (chunk_rows < 0)
        throw StepError("parameter 'chunk_rows' must be 0 (no chunks) or more", false);
    o.chunk_rows = static_cast<std::uint64_t>(chunk_rows);
    o.resume = p.string("resume");
    if (!o.schema && !o.data && !o.triggers && !o.views && !o.routines)
        throw StepError("schema, data, triggers, views and routines are all false: nothing to dump",
                        false);
    return o;
}

std::string describe_options(const DumpOptions& o) {
    std::string what = "database '" + o.database + "' on connection '" + o.connection + "' -> " +
                       o.directory + " (" + compression_name(o.compressor.format) + " level " +
                       std::to_string(o.compressor.level) + ", " + std::to_string(o.threads) +
                       (o.threads == 1 ? " connection" : " connections");
    if (!o.exclude.empty()) what += ", " + std::to_string(o.exclude.size()) + " exclude patterns";
    if (!o.include.empty()) what += ", " + std::to_string(o.include.size()) + " include entries";
    return what + ")";
}

// The dry run: what would be read, roughly how much, and whether it fits.
void preview(kinds::StepContext& context, const DumpOptions& options) {
    std::unique_ptr<io::db::Session> session = connect(context, options.connection);
    context.events.say(session->spec().describe() + " accepts connections: server " +
                       session->server_version());
    DatabaseObjects objects = list_objects(*session, options);
    std::uint64_t bytes = 0;
    for (const TableInfo& table : objects.tables) {
        bytes += table.data_length;
        context.events.say("  table " + table.name + ": about " +
                           std::to_string(table.estimated_rows) + " rows, " +
                           format_bytes(table.data_length));
    }
    for (const std::string& view : objects.views) context.events.say("  view " + view);
    if (!objects.excluded.empty())
        context.events.say("  excluded: " + join(objects.excluded, ", "));
    context.events.say(std::to_string(objects.tables.size()) + " tables, " +
                       std::to_string(objects.views.size()) + " views, about " +
                       format_bytes(bytes) + " of data");
    check_directory_for_dry_run(context, options);
    fs::path existing = fs::absolute(options.directory);
    while (!existing.empty() && !fs::exists(existing)) existing = existing.parent_path();
    std::error_code error;
    fs::space_info space = fs::space(existing, error);
    // Compressed SQL is mostly well under a third of the table space it came from.
    std::uint64_t needed = bytes / 3;
    if (!error && space.available < needed)
        throw StepError(existing.string() + " has " + format_bytes(space.available) +
                            " free; the dump needs roughly " + format_bytes(needed),
                        false);
    if (!error)
        context.events.say(existing.string() + ": " + format_bytes(space.available) +
                           " free, roughly " + format_bytes(needed) + " needed");
}

// The run, with library and file-system failures turned into step errors.
DumpResult dump_or_fail(kinds::StepContext& context, const DumpOptions& options) {
    try {
        return run_dump(context, options);
    } catch (const FileError& e) {  // a file of the dump: the disk may have room again
        throw StepError(e.what(), true);
    } catch (const StepError&) {
        throw;
    } catch (const CompressionStopped&) {
        throw StepError("stopped while writing the dump", true);
    } catch (const CompressionError& e) {
        throw StepError(std::string(e.what()) + " (writing the dump in " + options.directory + ")",
                        false);
    } catch (const std::system_error& e) {
        throw StepError(e.what(), true);
    } catch (const std::runtime_error& e) {
        throw StepError(e.what(), false);
    }
}

class DumpRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        try {
            return describe_options(options_of(context));
        } catch (const StepError&) {
            return "dump connection '" + context.params.string("connection") + "' to " +
                   context.params.string("to");
        }
    }

    void preflight(kinds::StepContext& context) override { preview(context, options_of(context)); }

    void run(kinds::StepContext& context) override {
        DumpOptions options = options_of(context);
        DumpResult result = dump_or_fail(context, options);
        const DumpManifest& m = result.manifest;
        context.outputs["dir"] = options.directory;
        context.outputs["manifest_sha256"] = result.manifest_sha256;
        const SnapshotPosition& position =
            m.snapshots.empty() ? SnapshotPosition{} : m.snapshots.front();
        context.outputs["binlog_file"] = position.binlog_file.value_or("");
        context.outputs["binlog_position"] =
            position.binlog_position ? std::to_string(*position.binlog_position) : std::string();
        context.outputs["gtid"] = position.gtid.value_or("");
        context.metrics["rows"] = m.rows();
        context.metrics["bytes"] = m.bytes();
        context.metrics["raw_bytes"] = m.raw_bytes();
        context.metrics["tables"] = m.tables.size();
        context.metrics["tables_kept"] = result.tables_kept;
        context.metrics["connections"] = m.connections;
        context.details["consistent"] = m.consistent;
    }
};

}  // namespace

kinds::KindSpec mysql_dump_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "mysql.dump",
                .summary = "one consistent snapshot of a database as per-table compressed SQL "
                           "files, a manifest and a "
                           "completion marker",
                .params = {{"connection", runbook::ParamType::connection, true, "",
                            "a name under 'connections:'"},
                           {"to", runbook::ParamType::string, true, "",
                            "the dump directory: new or empty, or an unfinished dump to resume"},
                           {"database", runbook::ParamType::string, false, "",
                            "the database to dump (default: the connection's)"},
                           {"include", runbook::ParamType::string_list, false, "",
                            "tables and views to dump, by name or glob (default: all)"},
                           {"exclude", runbook::ParamType::string_list, false, "",
                            "tables and views to leave out, by name or glob"},
                           {"schema", runbook::ParamType::boolean, false, "true",
                            "DROP/CREATE TABLE of each table"},
                           {"data", runbook::ParamType::boolean, false, "true", "the rows"},
                           {"triggers", runbook::ParamType::boolean, false, "true",
                            "the tables' triggers"},
                           {"views", runbook::ParamType::boolean, false, "true", "the views"},
                           {"routines", runbook::ParamType::boolean, false, "true",
                            "stored procedures and functions"},
                           {"compression",
                            runbook::ParamType::string,
                            false,
                            "zstd",
                            "zstd or gzip",
                            {"zstd", "gzip"}},
                           {"level", runbook::ParamType::integer, false, "",
                            "compression level (default: zstd 1, gzip 6)"},
                           {"threads", runbook::ParamType::integer, false, "2",
                            "connections reading tables in parallel (0: one per core)"},
                           {"chunk_rows", runbook::ParamType::integer, false, "250000",
                            "cut a table of at least twice this many rows (estimated) into data "
                            "files of about this "
                            "many, by ranges "
                            "of its integer primary key, so that the readers share it (0: one data "
                            "file per table)"},
                           {"resume",
                            runbook::ParamType::string,
                            false,
                            "keep",
                            "on resume, when the source changed since the finished tables were "
                            "read: keep them (the "
                            "dump says it is "
                            "not one snapshot), consistent (read them again), restart (always "
                            "start over)",
                            {"keep", "consistent", "restart"}}},
                .outputs = {"dir", "manifest_sha256", "binlog_file", "binlog_position", "gtid"},
            },
        .resumable_inside = true,
        .make = [] { return std::make_unique<DumpRunner>(); },
    };
}

}  // namespace migrate::steps::mysql
