// mysql.dump's run: the `to` directory checked (new, or an unfinished dump to resume), one
// snapshot, the tables read in parallel, the manifest rewritten and a checkpoint journaled
// after each finished table, then the views, the routines and the completion marker.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "dump_snapshot.h"
#include "migrate/steps/mysql/dump_format.h"
#include "migrate/util/clock.h"
#include "migrate/util/digest.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"
#include "migrate/util/units.h"
#include "migrate/util/work_pool.h"

namespace migrate::steps::mysql {
namespace {

namespace fs = std::filesystem;

constexpr Millis k_progress_interval{std::chrono::seconds(2)};

bool is_dump_file(const std::string& name) {
    for (const char* suffix : {".sql.zst", ".sql.gz", ".partial"})
        if (name.size() >= std::strlen(suffix) && name.ends_with(suffix)) return true;
    return false;
}

// What the `to` directory holds before the dump starts.
struct DirectoryState {
    std::optional<DumpManifest> earlier;  // an unfinished (or, resuming, finished) dump of ours
    bool complete = false;                // the earlier dump has a good marker
    std::vector<std::string> foreign;     // files that are no part of a dump
};

DirectoryState inspect_directory(const DumpOptions& options) {
    DirectoryState state;
    std::error_code error;
    if (!fs::exists(options.directory, error)) return state;
    if (!fs::is_directory(options.directory, error))
        throw StepError("'to': " + options.directory + " exists and is not a directory", false);
    try {
        state.earlier = read_manifest(options.directory);
        state.complete = state.earlier && marker_matches(options.directory);
    } catch (const std::runtime_error& e) {
        throw StepError(std::string(e.what()) + "; remove the directory or name another", false);
    }
    for (const fs::directory_entry& entry : fs::directory_iterator(options.directory)) {
        std::string name = entry.path().filename().string();
        if (name != k_dump_manifest && name != k_dump_marker && name != k_dump_checksums &&
            !is_dump_file(name))
            state.foreign.push_back(name);
    }
    if (state.earlier && state.earlier->database != options.database)
        throw StepError("'to': " + options.directory + " holds a dump of database '" +
                            state.earlier->database + "', not '" + options.database +
                            "'; remove it or name another directory",
                        false);
    return state;
}

// Refusals that hold for the dry run and the run alike.
void refuse_unusable(const DirectoryState& state, const DumpOptions& options, bool resuming) {
    if (state.earlier && state.complete && !resuming)
        throw StepError("'to': " + options.directory + " already holds a complete dump (finished " +
                            state.earlier->finished + "); remove it or name another directory",
                        false);
    if (!state.earlier && !state.foreign.empty())
        throw StepError("'to': " + options.directory + " is not empty (" +
                            join(state.foreign, ", ") +
                            ") and holds no unfinished dump; a dump needs a new or empty directory",
                        false);
}

std::string now_utc(kinds::StepContext& context) {
    return format_utc_ms(context.services.clock.wall_ms());
}

// Removes what no kept table needs: files of tables read again, .partial files, the marker.
void clear_unkept(const DumpOptions& options, const DumpManifest& manifest) {
    std::vector<std::string> keep;
    for (const DumpTable& table : manifest.tables)
        for (const DumpFile* file : table.files()) keep.push_back(file->file);
    for (const fs::directory_entry& entry : fs::directory_iterator(options.directory)) {
        std::string name = entry.path().filename().string();
        bool ours = is_dump_file(name) || name == k_dump_marker || name == k_dump_checksums;
        if (ours && std::find(keep.begin(), keep.end(), name) == keep.end())
            fs::remove(entry.path());
    }
}

// The snapshot index a table read now gets, adding the position if it is a new one.
std::size_t snapshot_index(DumpManifest& manifest, const SnapshotPosition& position) {
    if (position.known())
        for (std::size_t i = 0; i < manifest.snapshots.size(); ++i)
            if (manifest.snapshots[i] == position) return i;
    manifest.snapshots.push_back(position);
    return manifest.snapshots.size() - 1;
}

// Which finished tables of an earlier attempt stay: still chosen, read with the same
// options, and their files as recorded. Says why each other one is read again.
std::vector<DumpTable> tables_to_keep(kinds::StepContext& context, const DumpOptions& options,
                                      const DumpManifest& earlier,
                                      const std::vector<TableInfo>& chosen,
                                      const SnapshotPosition& now) {
    std::string prefix = context.step.id + ": ";
    if (options.resume == "restart") {
        if (!earlier.tables.empty())
            context.events.say(prefix + "resume: restart: the " +
                               std::to_string(earlier.tables.size()) +
                               " tables finished before are read again");
        return {};
    }
    // Compared without regard to key order: the manifest read back has its keys sorted.
    bool same_options = nlohmann::json::parse(earlier.options.dump()) ==
                        nlohmann::json::parse(options.manifest_options().dump());
    if (earlier.compression != compression_name(options.compressor.format) || !same_options) {
        context.events.say(
            prefix +
            "the options changed since the unfinished dump began; every table is read again");
        return {};
    }
    if (options.resume == "consistent")
        for (const DumpTable& table : earlier.tables)
            if (!now.known() || table.snapshot >= earlier.snapshots.size() ||
                earlier.snapshots[table.snapshot] != now) {
                context.events.say(
                    prefix +
                    "resume: consistent: the source changed since the finished tables were "
                    "read (or its binary log position is unknown); every table is read again");
                return {};
            }
    std::vector<DumpTable> kept;
    for (const DumpTable& table : earlier.tables) {
        bool still_chosen = std::any_of(chosen.begin(), chosen.end(),
                                        [&](const TableInfo& t) { return t.name == table.name; });
        if (!still_chosen) continue;
        std::string problem;
        for (const DumpFile* file : table.files())
            if (problem.empty()) problem = check_dump_file(options.directory, *file);
        if (problem.empty())
            kept.push_back(table);
        else
            context.events.say(prefix + "table " + table.name + " is read again: " + problem);
    }
    return kept;
}

nlohmann::ordered_json progress_metrics(const DumpManifest& manifest,
                                        const DumpCounters& counters) {
    return {{"rows", counters.rows.load()},
            {"raw_bytes", counters.raw_bytes.load()},
            {"tables", manifest.tables.size()},
            {"bytes", manifest.bytes()}};
}

// A table's parts as they arrive; the table once all have.
class TableAssembly {
public:
    // The whole table when `part` was its last one.
    std::optional<DumpTable> add(TablePart part, std::size_t snapshot_at) {
        std::vector<TablePart>& parts = m_parts[part.task.table];
        parts.push_back(std::move(part));
        if (parts.size() < parts.front().task.chunks) return std::nullopt;
        std::sort(parts.begin(), parts.end(), [](const TablePart& a, const TablePart& b) {
            return a.task.chunk < b.task.chunk;
        });
        DumpTable table;
        table.name = parts.front().task.table;
        table.snapshot = snapshot_at;
        table.schema = parts.front().schema;
        table.triggers = parts.front().triggers;
        for (TablePart& piece : parts)
            if (piece.data) {
                table.rows += piece.data->rows.value_or(0);
                table.data.push_back(std::move(*piece.data));
            }
        m_parts.erase(table.name);
        return table;
    }

private:
    std::map<std::string, std::vector<TablePart>> m_parts;
};

// Does `tasks` with the snapshot's readers, one thread each; this thread records each
// finished table (manifest, checkpoint) as its last part arrives.
void read_tables(kinds::StepContext& context, const DumpOptions& options, Snapshot& snapshot,
                 std::size_t snapshot_at, std::vector<TableTask> tasks, std::size_t total_tables,
                 DumpManifest& manifest) {
    TableAssembly assembly;
    DumpCounters counters;
    counters.rows = manifest.rows();
    counters.raw_bytes = manifest.raw_bytes();
    std::vector<std::optional<TablePart>> parts(tasks.size());
    // After a failure the other readers stop mid-table (counters.stop).
    WorkPool readers(
        tasks.size(), snapshot.readers.size(),
        [&](std::size_t task, std::size_t reader) {
            parts[task] =
                dump_table_part(*snapshot.readers[reader], options, tasks[task], counters);
        },
        nullptr, &counters.stop);
    std::int64_t last_report = context.services.clock.steady_ms();
    try {
        for (bool finished = false; !finished;) {
            finished = readers.done();  // then the parts ended before it are taken below
            for (std::size_t task : readers.wait_for(k_progress_interval)) {
                std::optional<DumpTable> table = assembly.add(std::move(*parts[task]), snapshot_at);
                parts[task].reset();
                if (!table) continue;
                std::string name = table->name;
                manifest.tables.push_back(std::move(*table));
                manifest.consistent = manifest.one_snapshot();
                write_manifest(options.directory, manifest);
                context.events.checkpoint(
                    {{"tables_done", manifest.tables.size()}, {"table", name}});
            }
            if (context.services.clock.steady_ms() - last_report >= k_progress_interval.count()) {
                last_report = context.services.clock.steady_ms();
                context.events.progress(std::to_string(manifest.tables.size()) + " of " +
                                            std::to_string(total_tables) + " tables, " +
                                            std::to_string(counters.rows.load()) + " rows",
                                        progress_metrics(manifest, counters));
            }
        }
    } catch (...) {
        readers.fail(std::current_exception());
    }
    readers.join();
}

DumpManifest new_manifest(kinds::StepContext& context, const DumpOptions& options,
                          io::db::Session& control, const DatabaseObjects& objects) {
    DumpManifest manifest;
    manifest.written_by = std::string("migrate ") + MIGRATE_VERSION;
    manifest.started = now_utc(context);
    manifest.database = options.database;
    manifest.compression = compression_name(options.compressor.format);
    manifest.server_version = control.server_version();
    manifest.server_connection = control.spec().describe();
    manifest.options = options.manifest_options();
    manifest.excluded = objects.excluded;
    return manifest;
}

// A dump an earlier attempt finished just before it was stopped: checked, then taken as it is.
std::optional<DumpResult> finished_before(kinds::StepContext& context, const DumpOptions& options,
                                          const DirectoryState& state) {
    if (!state.complete) return std::nullopt;
    for (const DumpTable& table : state.earlier->tables)
        for (const DumpFile* file : table.files())
            if (!check_dump_file(options.directory, *file).empty()) return std::nullopt;
    context.events.say(context.step.id + ": the dump in " + options.directory +
                       " was completed by the earlier attempt; its files check out");
    return DumpResult{*state.earlier,
                      hash_file(options.directory + "/" + k_dump_manifest, DigestAlgorithm::sha256),
                      state.earlier->tables.size()};
}

void check_selection(const DumpOptions& options, const DatabaseObjects& objects) {
    if (objects.tables.empty() && objects.views.empty() && !options.routines)
        throw StepError("nothing to dump: database '" + options.database +
                            "' has no table that 'include' and "
                            "'exclude' select",
                        false);
}

}  // namespace

void check_directory_for_dry_run(kinds::StepContext& context, const DumpOptions& options) {
    DirectoryState state = inspect_directory(options);
    refuse_unusable(state, options, false);
    if (state.earlier)
        context.events.say(options.directory + " holds an unfinished dump (" +
                           std::to_string(state.earlier->tables.size()) +
                           " tables finished): the run resumes it");
}

DumpResult run_dump(kinds::StepContext& context, const DumpOptions& given) {
    DumpOptions options = given;
    options.compressor.cancel = &context.cancel;
    options.compressor.threads =
        1;  // one zstd worker per file: compression overlaps the formatting
    DirectoryState state = inspect_directory(options);
    bool resuming = context.last_checkpoint.has_value();
    refuse_unusable(state, options, resuming);
    if (resuming)
        if (std::optional<DumpResult> done = finished_before(context, options, state)) return *done;
    fs::create_directories(options.directory);

    std::unique_ptr<io::db::Session> control = open_dump_session(context, options);
    DatabaseObjects objects = list_objects(*control, options);
    check_selection(options, objects);
    std::size_t pending = objects.tables.size();
    if (state.earlier) pending -= std::min(pending, state.earlier->tables.size());
    int connections =
        std::clamp<int>(options.threads, 1, static_cast<int>(std::max<std::size_t>(1, pending)));
    Snapshot snapshot = take_snapshot(context, options, *control, connections);
    if (!snapshot.note.empty()) context.events.say(context.step.id + ": " + snapshot.note);

    DumpManifest manifest = new_manifest(context, options, *control, objects);
    manifest.connections = static_cast<int>(snapshot.readers.size());
    if (state.earlier) {
        manifest.tables =
            tables_to_keep(context, options, *state.earlier, objects.tables, snapshot.position);
        if (!manifest.tables.empty()) {
            manifest.started = state.earlier->started;
            manifest.snapshots = state.earlier->snapshots;
        }
    }
    std::size_t kept = manifest.tables.size();
    std::size_t snapshot_at = snapshot_index(manifest, snapshot.position);
    manifest.consistent =
        manifest.one_snapshot() &&
        (manifest.tables.empty() || manifest.tables.front().snapshot == snapshot_at);
    if (kept > 0) {
        context.events.say(
            context.step.id + ": keeping " + std::to_string(kept) + " tables finished before" +
            (manifest.consistent ? " (the source has not changed since)"
                                 : "; the source changed since they were read: the dump is not one "
                                   "consistent snapshot"));
    }
    clear_unkept(options, manifest);
    write_manifest(options.directory, manifest);

    std::vector<TableTask> tasks;
    for (const TableInfo& table : objects.tables)
        if (!manifest.find_table(table.name))
            for (TableTask& task : plan_table(*control, options, table))
                tasks.push_back(std::move(task));
    // The biggest first, so that no reader is left with a big piece at the end.
    std::stable_sort(tasks.begin(), tasks.end(), [](const TableTask& a, const TableTask& b) {
        return a.estimated_bytes > b.estimated_bytes;
    });
    read_tables(context, options, snapshot, snapshot_at, std::move(tasks), objects.tables.size(),
                manifest);
    manifest.consistent =
        manifest.one_snapshot() && (kept == 0 || manifest.tables.front().snapshot == snapshot_at);
    for (auto& reader : snapshot.readers) reader->execute("COMMIT");
    snapshot.readers.clear();

    if (options.views) manifest.views = dump_views(*control, options, objects.views);
    if (options.routines) manifest.routines = dump_routines(*control, options);
    manifest.complete = true;
    manifest.finished = now_utc(context);
    std::string sha = write_manifest(options.directory, manifest);
    write_checksums(options.directory, manifest, sha);
    write_marker(options.directory, sha);
    return DumpResult{manifest, sha, kept};
}

}  // namespace migrate::steps::mysql
