// mysql.load: a mysql.dump directory (checked whole first; schemas, then the tables' data
// in parallel, biggest first, then triggers, views, routines; resumed by finished table)
// or one plain .sql/.sql.gz/.sql.zst file as mysqldump writes it, into a target database.
#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "../families.h"
#include "migrate/io/db/dialect.h"
#include "migrate/kinds/connections.h"
#include "migrate/runbook/diagnostics.h"
#include "migrate/steps/files/archive_stream.h"
#include "migrate/steps/mysql/dump_format.h"
#include "migrate/steps/mysql/dump_manifest.h"
#include "migrate/steps/mysql/load_keys.h"
#include "migrate/steps/mysql/sql_file_load.h"
#include "migrate/util/clock.h"
#include "migrate/util/error.h"
#include "migrate/util/progress_line.h"
#include "migrate/util/text.h"
#include "migrate/util/units.h"
#include "migrate/util/work_pool.h"

namespace migrate::steps::mysql {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// A table's rows are committed in transactions of about this much SQL: one log flush per
// 16 MiB instead of one per INSERT.
constexpr std::uint64_t k_commit_bytes = 16 << 20;
constexpr std::int64_t k_progress_ms = 250;
constexpr unsigned k_no_such_table = 1146;
constexpr unsigned k_view_invalid = 1356;
constexpr unsigned k_routine_exists = 1304;

// The first names in alphabetical order (the same message whatever order they were found in).
std::string names_list(std::vector<std::string> names, std::size_t shown = 5) {
    std::sort(names.begin(), names.end());
    std::vector<std::string> quoted;
    for (std::size_t i = 0; i < names.size() && i < shown; ++i)
        quoted.push_back(io::db::mysql_dialect().quote_identifier(names[i]));
    std::string text = join(quoted, ", ");
    if (names.size() > shown) text += " and " + std::to_string(names.size() - shown) + " more";
    return text;
}

// Where the load goes: the connection, and the database (the step's or the connection's).
struct LoadTarget {
    io::db::ConnectionSpec spec;
    std::string database;
};

LoadTarget target_of(const kinds::StepContext& context) {
    LoadTarget target{kinds::connection_spec(context, context.params.string("connection")), ""};
    target.database =
        context.params.has("database") ? context.params.string("database") : target.spec.database;
    if (target.database.empty())
        throw StepError("no database to load into: give 'database', or 'database' on connection '" +
                            target.spec.name + "'",
                        false);
    return target;
}

std::string from_of(const kinds::Params& params) {
    std::string from = params.string("from");
    while (from.size() > 1 && from.back() == '/') from.pop_back();
    return from;
}

// The tables of a dump that the step's `include` (or its old name `tables`) and `exclude`
// select, in the dump's order.
std::vector<const DumpTable*> selected_tables(const DumpManifest& manifest,
                                              const kinds::Params& params) {
    std::string parameter = !params.has("include") && params.has("tables") ? "tables" : "include";
    std::vector<std::string> include =
        params.has(parameter) ? params.string_list(parameter) : std::vector<std::string>{};
    std::vector<std::string> exclude =
        params.has("exclude") ? params.string_list("exclude") : std::vector<std::string>{};
    std::vector<std::string> names;
    for (const DumpTable& table : manifest.tables) names.push_back(table.name);
    TableSelection selection = select_tables(names, include, exclude, parameter, "the dump");
    std::vector<const DumpTable*> selected;
    for (const std::string& name : selection.chosen) selected.push_back(manifest.find_table(name));
    return selected;
}

// Opens a session on the target, set up for loading: no foreign key or unique checks (a
// dump is consistent; mysqldump sets the same), transactions committed by the loader,
// optionally no binary log.
std::unique_ptr<io::db::Session> open_session(kinds::StepContext& context,
                                              const io::db::ConnectionSpec& spec) {
    std::unique_ptr<io::db::Session> session =
        context.services.database.connect(spec, context.cancel);
    session->execute("SET SESSION foreign_key_checks = 0, unique_checks = 0, autocommit = 0");
    if (!context.params.boolean("write_binlog")) {
        try {
            session->execute("SET SESSION sql_log_bin = 0");
        } catch (const io::db::DbError& e) {
            throw StepError(
                std::string("write_binlog: false: ") + e.what() +
                    " (needs the SUPER or BINLOG ADMIN privilege; leave write_binlog at true)",
                false);
        }
    }
    return session;
}

// A session on the server without a database, which makes the database when it is missing
// and then uses it.
std::unique_ptr<io::db::Session> open_admin_session(kinds::StepContext& context,
                                                    const LoadTarget& target) {
    io::db::ConnectionSpec spec = target.spec;
    spec.database.clear();
    std::unique_ptr<io::db::Session> session = open_session(context, spec);
    std::unique_ptr<io::db::Result> result =
        session->query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = " +
                       io::db::mysql_dialect().string_literal(*session, target.database));
    io::db::Row row;
    bool exists = result->next(row);
    result.reset();
    if (!exists) {
        session->execute("CREATE DATABASE IF NOT EXISTS " +
                         io::db::mysql_dialect().quote_identifier(target.database));
        context.events.say(context.step.id + ": created database " +
                           io::db::mysql_dialect().quote_identifier(target.database) + " on " +
                           target.spec.describe());
    }
    session->execute("USE " + io::db::mysql_dialect().quote_identifier(target.database));
    return session;
}

std::vector<std::string> existing_tables(io::db::Session& session, const std::string& database) {
    return io::db::mysql_dialect().table_names(session, database);
}

// ---------------------------------------------------------------- a dump directory

// What an earlier attempt finished, from its newest checkpoint.
struct DumpResume {
    bool owned = false;  // an earlier attempt checked the target and began: its tables are ours
    std::set<std::string> tables_done;
    bool objects_started = false;
};

DumpResume dump_resume_of(kinds::StepContext& context, const DumpManifest& manifest,
                          const std::string& database) {
    DumpResume resume;
    if (!context.last_checkpoint || !context.last_checkpoint->is_object()) return resume;
    const Json& state = *context.last_checkpoint;
    if (state.value("database", "") != database) return resume;
    resume.owned = true;
    if (state.value("dump", "") != manifest.sha256) {
        context.events.say(
            context.step.id +
            ": the dump is not the one an earlier attempt loaded from; loading every "
            "table again");
        return resume;
    }
    if (state.contains("tables_done") && state["tables_done"].is_array())
        for (const Json& name : state["tables_done"])
            if (name.is_string()) resume.tables_done.insert(name.get<std::string>());
    resume.objects_started = state.value("stage", "") == "objects";
    return resume;
}

// A resumed or retried load: the ALTER TABLE ... ADD KEY a killed attempt left running on
// the server is stopped (load_keys.h), and the operator told.
void stop_orphaned_alters(kinds::StepContext& context, io::db::Session& session,
                          const std::string& database) {
    for (const std::string& line : stop_earlier_key_builds(session, database))
        context.events.say(context.step.id + ": " + line);
}

struct DataJob {
    const DumpTable* table = nullptr;
    const DumpFile* file = nullptr;  // nullptr: a table without rows
    bool ends_table = false;         // set by its worker: the table's last chunk, keys added
};

class DumpLoad {
public:
    DumpLoad(kinds::StepContext& context, const DumpManifest& manifest, LoadTarget target)
        : m_context(context),
          m_manifest(manifest),
          m_target(std::move(target)),
          m_tables(selected_tables(manifest, context.params)),
          m_resume(dump_resume_of(context, manifest, m_target.database)),
          m_progress(context.services.clock) {}

    void run() {
        std::unique_ptr<io::db::Session> admin = open_admin_session(m_context, m_target);
        if (!m_resume.owned)
            check_target(*admin);
        else
            stop_orphaned_alters(m_context, *admin, m_target.database);
        for (const DumpTable* table : m_tables)
            if (m_resume.tables_done.count(table->name)) {
                m_kept.push_back(table);
                m_done_bytes += table_raw_bytes(*table);
            } else {
                m_pending.push_back(table);
            }
        if (!m_kept.empty())
            m_context.events.say(
                m_context.step.id + ": " + std::to_string(m_kept.size()) +
                (m_kept.size() == 1 ? " table was loaded by an earlier attempt and is kept"
                                    : " tables were loaded by an earlier attempt and are kept") +
                "; loading the other " + std::to_string(m_pending.size()) + " from scratch");
        checkpoint("tables");
        load_schemas(*admin);
        load_data(std::move(admin));
        checkpoint("objects");
        std::unique_ptr<io::db::Session> session = open_session(m_context, database_spec());
        load_triggers(*session);
        load_views(*session);
        load_routines(*session);
        report_metrics();
    }

private:
    io::db::ConnectionSpec database_spec() const {
        io::db::ConnectionSpec spec = m_target.spec;
        spec.database = m_target.database;
        return spec;
    }

    static std::uint64_t table_raw_bytes(const DumpTable& table) {
        std::uint64_t total = table.data_raw_bytes();
        if (table.schema) total += table.schema->raw_bytes;
        return total;
    }

    std::uint64_t total_bytes() const {
        std::uint64_t total = 0;
        for (const DumpTable* table : m_tables) {
            total += table_raw_bytes(*table);
            if (table->triggers) total += table->triggers->raw_bytes;
        }
        for (const DumpView& view : m_manifest.views) total += view.file.raw_bytes;
        if (m_manifest.routines) total += m_manifest.routines->raw_bytes;
        return total;
    }

    // An operator does not want a table of the target overwritten by surprise: tables and
    // views of the dump that exist already are refused unless `replace: true`.
    void check_target(io::db::Session& session) {
        std::vector<std::string> existing = existing_tables(session, m_target.database);
        std::set<std::string> present(existing.begin(), existing.end());
        std::vector<std::string> clashes;
        for (const DumpTable* table : m_tables)
            if (present.count(table->name)) clashes.push_back(table->name);
        for (const DumpView& view : m_manifest.views)
            if (present.count(view.name)) clashes.push_back(view.name);
        if (clashes.empty() || m_context.params.boolean("replace")) return;
        throw StepError("database " + io::db::mysql_dialect().quote_identifier(m_target.database) +
                            " on " + m_target.spec.describe() + " already has " +
                            std::to_string(clashes.size()) +
                            (clashes.size() == 1 ? " table" : " tables") +
                            " of the dump: " + names_list(clashes) +
                            "; nothing was loaded. Set 'replace: true' to drop and load them "
                            "again, or load into "
                            "another database",
                        false);
    }

    void checkpoint(const std::string& stage) {
        Json done = Json::array();
        for (const DumpTable* table : m_kept) done.push_back(table->name);
        for (const DumpTable* table : m_finished) done.push_back(table->name);
        m_context.events.checkpoint({{"database", m_target.database},
                                     {"dump", m_manifest.sha256},
                                     {"stage", stage},
                                     {"tables_done", done}});
    }

    SqlFileExpectation expectation(const DumpFile& file) const {
        return {file.raw_bytes, file.sha256};
    }

    void load_file(io::db::Session& session, const DumpFile& file, const SqlLoadOptions& options) {
        load_sql_file(session, m_manifest.path_of(file), file.file, expectation(file), options,
                      m_context.cancel, m_tally);
    }

    // Every pending table's DROP TABLE IF EXISTS and CREATE TABLE, so a half-loaded table of
    // an earlier attempt starts again empty.
    void load_schemas(io::db::Session& session) {
        bool defer = m_context.params.boolean("defer_keys");
        for (const DumpTable* table : m_pending) {
            if (table->schema) {
                SqlLoadOptions options;
                std::string original;
                if (defer)
                    options.rewrite =
                        [&](std::string_view statement) -> std::optional<std::string> {
                        std::optional<DeferredKeys> split = defer_secondary_keys(statement);
                        if (!split) return std::nullopt;
                        original = statement;
                        std::string create = std::move(split->create);
                        m_deferred_keys[table] = std::move(*split);
                        return create;
                    };
                load_file(session, *table->schema, options);
                auto deferred = m_deferred_keys.find(table);
                if (deferred != m_deferred_keys.end()) {
                    if (std::optional<std::string> why =
                            place_deferred_keys(session, deferred->second, original)) {
                        // Made again with its keys; the tables after it keep theirs too.
                        m_context.events.say(m_context.step.id + ": " + *why);
                        m_deferred_keys.erase(deferred);
                        defer = false;
                    }
                }
            } else {
                // A dump without schemas loads into tables that exist; emptied first, so a
                // retried table is never loaded twice.
                session.execute("TRUNCATE TABLE " +
                                io::db::mysql_dialect().quote_identifier(table->name));
            }
            report_progress(false);
        }
    }

    void load_data(std::unique_ptr<io::db::Session> first) {
        std::vector<const DumpTable*> order = m_pending;
        std::stable_sort(order.begin(), order.end(), [](const DumpTable* a, const DumpTable* b) {
            return a->data_raw_bytes() > b->data_raw_bytes();
        });
        // A table cut into chunk files is loaded chunk by chunk, side by side, as tables are.
        for (const DumpTable* table : order) {
            m_chunks_left[table] = std::max<std::size_t>(1, table->data.size());
            if (table->data.empty()) m_jobs.push_back(DataJob{table, nullptr});
            for (const DumpFile& file : table->data) m_jobs.push_back(DataJob{table, &file});
        }
        int threads = std::max(1, std::min<int>(kinds::thread_count(m_context.params, "threads"),
                                                static_cast<int>(m_jobs.size())));
        std::vector<std::unique_ptr<io::db::Session>> sessions;
        sessions.push_back(std::move(first));
        for (int i = 1; i < threads; ++i)
            sessions.push_back(open_session(m_context, database_spec()));
        // After a failure the other workers stop at their next statement (m_stop).
        WorkPool workers(
            m_jobs.size(), sessions.size(),
            [&](std::size_t job, std::size_t worker) { load_job(*sessions[worker], m_jobs[job]); },
            nullptr, &m_stop);
        // On this thread: checkpoints for finished tables, progress, until the workers end.
        try {
            for (bool finished = false; !finished;) {
                finished = workers.done();  // then the jobs ended before it are taken below
                take_finished(workers.wait_for(Millis(k_progress_ms)));
                report_progress(false);
            }
        } catch (...) {
            workers.fail(std::current_exception());
        }
        workers.join();
    }

    void take_finished(const std::vector<std::size_t>& jobs) {
        std::size_t before = m_finished.size();
        for (std::size_t job : jobs)
            if (m_jobs[job].ends_table) m_finished.push_back(m_jobs[job].table);
        if (m_finished.size() > before) checkpoint("tables");
    }

    void load_job(io::db::Session& session, DataJob& job) {
        try {
            SqlLoadOptions options;
            options.commit_bytes = k_commit_bytes;
            options.load_data = m_context.params.boolean("load_data");
            options.stop = &m_stop;
            if (job.file != nullptr) load_file(session, *job.file, options);
            session.execute("COMMIT");
            if (last_chunk(*job.table)) {
                add_keys_of(session, *job.table);
                job.ends_table = true;
            }
        } catch (const StepError& e) {
            fail(session, *job.table, e);
        }
    }

    // Whether the worker that just loaded a chunk of `table` loaded its last one.
    bool last_chunk(const DumpTable& table) {
        std::lock_guard lock(m_chunks_mutex);
        return --m_chunks_left[&table] == 0;
    }

    // The keys its CREATE TABLE was made without, in one ALTER TABLE; before the table's
    // checkpoint, so a table counted as loaded has every index.
    void add_keys_of(io::db::Session& session, const DumpTable& table) {
        auto it = m_deferred_keys.find(&table);
        if (it == m_deferred_keys.end()) return;
        add_deferred_keys(session, it->second);
        m_tally.keys_deferred.fetch_add(it->second.keys.size());
    }

    // A table whose load failed (or was stopped because another one failed) is dropped, so
    // a half-loaded table is never left looking loaded; a next attempt loads it from
    // scratch anyway. When the server is gone, that attempt's schema file drops it.
    [[noreturn]] void fail(io::db::Session& session, const DumpTable& table,
                           const StepError& error) {
        std::string message = error.what();
        try {
            session.execute("ROLLBACK");
            session.execute("DROP TABLE IF EXISTS " +
                            io::db::mysql_dialect().quote_identifier(table.name));
            message += "; table " + io::db::mysql_dialect().quote_identifier(table.name) +
                       " was half-loaded and is dropped";
        } catch (const StepError&) {
            message += "; table " + io::db::mysql_dialect().quote_identifier(table.name) +
                       " is half-loaded";
        }
        if (const auto* mysql = dynamic_cast<const io::db::DbError*>(&error))
            throw io::db::DbError(message, mysql->code(), mysql->retryable());
        throw StepError(message, error.retryable());
    }

    void load_triggers(io::db::Session& session) {
        for (const DumpTable* table : m_tables) {
            if (!table->triggers) continue;
            // A resumed load may meet triggers of its earlier attempt: drop them first.
            for (const std::string& name : session.first_column(
                     "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE "
                     "EVENT_OBJECT_SCHEMA = " +
                     io::db::mysql_dialect().string_literal(session, m_target.database) +
                     " AND EVENT_OBJECT_TABLE = " +
                     io::db::mysql_dialect().string_literal(session, table->name)))
                session.execute("DROP TRIGGER IF EXISTS " +
                                io::db::mysql_dialect().quote_identifier(name));
            load_file(session, *table->triggers, {});
            report_progress(false);
        }
    }

    // A view on a view not made yet fails; it is tried again after the others, as long as
    // a round makes one more view.
    void load_views(io::db::Session& session) {
        std::vector<const DumpView*> waiting;
        for (const DumpView& view : m_manifest.views) waiting.push_back(&view);
        while (!waiting.empty()) {
            std::vector<const DumpView*> again;
            std::exception_ptr last_error;
            for (const DumpView* view : waiting) {
                try {
                    load_file(session, view->file, {});
                } catch (const io::db::DbError& e) {
                    if (e.code() != k_no_such_table && e.code() != k_view_invalid) throw;
                    again.push_back(view);
                    last_error = std::current_exception();
                }
            }
            if (again.size() == waiting.size()) std::rethrow_exception(last_error);
            waiting.swap(again);
            report_progress(false);
        }
    }

    // A routine that exists is replaced when the step may replace, or when an earlier
    // attempt that reached the routines may have made it.
    void load_routines(io::db::Session& session) {
        if (!m_manifest.routines) return;
        SqlLoadOptions options;
        if (m_resume.objects_started || m_context.params.boolean("replace"))
            options.recover = [](io::db::Session& on, const io::db::DbError& error) {
                std::string drop = drop_existing_routine(error);
                if (drop.empty()) return false;
                on.execute(drop);
                return true;
            };
        load_file(session, *m_manifest.routines, options);
    }

    // "PROCEDURE count_types already exists (error 1304)" -> its DROP, or "".
    static std::string drop_existing_routine(const io::db::DbError& error) {
        if (error.code() != k_routine_exists) return "";
        std::string message = error.what();
        std::size_t end = message.rfind(" already exists");
        if (end == std::string::npos) return "";
        for (std::string kind : {"PROCEDURE", "FUNCTION"}) {
            std::size_t at = message.rfind(kind + " ", end);
            if (at == std::string::npos) continue;
            std::size_t start = at + kind.size() + 1;
            return "DROP " + kind + " IF EXISTS " +
                   io::db::mysql_dialect().quote_identifier(message.substr(start, end - start));
        }
        return "";
    }

    void report_progress(bool force) {
        if (!force && !m_progress.due(k_progress_ms)) return;
        std::uint64_t done = m_done_bytes + m_tally.raw_bytes.load();
        std::uint64_t total = total_bytes();
        std::size_t tables = m_kept.size() + m_finished.size();
        double rate = m_progress.sample(done);
        m_context.events.progress(progress_bar(done, total) + rate_and_eta(rate, done, total) +
                                      ", " + std::to_string(tables) + " of " +
                                      std::to_string(m_tables.size()) + " tables",
                                  {{"bytes", done},
                                   {"bytes_total", total},
                                   {"rate", m_progress.rate()},
                                   {"tables_done", tables},
                                   {"statements", m_tally.statements.load()},
                                   {"load_data_statements", m_tally.load_data.load()}});
    }

    void report_metrics() {
        std::uint64_t rows = 0, bytes = total_bytes();
        for (const DumpTable* table : m_finished) rows += table->rows;
        for (const DumpTable* table : m_kept) bytes -= table_raw_bytes(*table);
        // The SQL this attempt loaded: its tables and every trigger, view and routine.
        m_context.metrics["bytes"] = bytes;
        m_context.metrics["rows"] = rows;
        m_context.metrics["tables"] = m_finished.size();
        m_context.metrics["tables_kept"] = m_kept.size();
        m_context.metrics["statements"] = m_tally.statements.load();
        m_context.metrics["load_data_statements"] = m_tally.load_data.load();
        m_context.metrics["keys_deferred"] = m_tally.keys_deferred.load();
        m_context.outputs["database"] = m_target.database;
        m_context.outputs["tables"] = std::to_string(m_tables.size());
    }

    kinds::StepContext& m_context;
    const DumpManifest& m_manifest;
    LoadTarget m_target;
    std::vector<const DumpTable*> m_tables;
    DumpResume m_resume;
    std::vector<const DumpTable*> m_kept, m_pending, m_finished;
    std::uint64_t m_done_bytes = 0;  // of the kept tables
    SqlLoadTally m_tally;
    RateMeter m_progress;

    std::vector<DataJob> m_jobs;  // the data files, biggest table first
    std::mutex m_chunks_mutex;
    std::map<const DumpTable*, std::size_t> m_chunks_left;  // chunks not loaded yet, under it
    std::atomic<bool> m_stop{false};  // set when one job failed: the others stop early
    // Secondary keys left out of CREATE TABLE (written before the workers start).
    std::map<const DumpTable*, DeferredKeys> m_deferred_keys;
};

// ---------------------------------------------------------------- one plain SQL file

class PlainFileLoad {
public:
    PlainFileLoad(kinds::StepContext& context, std::string path, LoadTarget target)
        : m_context(context),
          m_path(std::move(path)),
          m_target(std::move(target)),
          m_progress(context.services.clock) {}

    void run() {
        if (m_context.params.has("tables") || m_context.params.has("exclude"))
            throw StepError("'tables' and 'exclude' choose tables of a dump directory; " + m_path +
                                " is one SQL file, loaded whole",
                            false);
        std::unique_ptr<io::db::Session> session = open_admin_session(m_context, m_target);
        m_size = fs::file_size(m_path);
        std::size_t resume_after = resume_point();
        if (!m_owned)
            check_target(*session);
        else
            stop_orphaned_alters(m_context, *session, m_target.database);
        m_context.events.checkpoint(state(resume_after));
        // Each table's section of the file on one of `threads` sessions.
        std::vector<std::unique_ptr<io::db::Session>> sessions;
        sessions.push_back(std::move(session));
        io::db::ConnectionSpec spec = m_target.spec;
        spec.database = m_target.database;
        for (int i = 1; i < kinds::thread_count(m_context.params, "threads"); ++i)
            sessions.push_back(open_session(m_context, spec));
        std::vector<io::db::Session*> pointers;
        for (auto& s : sessions) pointers.push_back(s.get());
        SqlSectionHooks hooks;
        hooks.checkpoint = [&](std::size_t done) { m_context.events.checkpoint(state(done)); };
        hooks.progress = [&](const sql::SqlStatement& statement) { report_progress(statement); };
        hooks.say = [&](const std::string& line) {
            m_context.events.say(m_context.step.id + ": " + line);
        };
        SqlSectionOptions options;
        options.commit_bytes = k_commit_bytes;
        options.load_data = m_context.params.boolean("load_data");
        options.defer_keys = m_context.params.boolean("defer_keys");
        load_sql_sections(pointers, m_path, fs::path(m_path).filename().string(), resume_after,
                          options, m_context.cancel, m_tally, hooks);
        m_context.metrics["bytes"] = m_tally.raw_bytes.load();
        m_context.metrics["statements"] = m_tally.statements.load();
        m_context.metrics["load_data_statements"] = m_tally.load_data.load();
        m_context.metrics["keys_deferred"] = m_tally.keys_deferred.load();
        m_context.metrics["tables"] = existing_tables(*sessions.front(), m_target.database).size();
        m_context.outputs["database"] = m_target.database;
        m_context.outputs["tables"] =
            std::to_string(m_context.metrics["tables"].get<std::size_t>());
    }

private:
    Json state(std::size_t statements_done) const {
        return {{"database", m_target.database},
                {"file", m_path},
                {"file_bytes", m_size},
                {"statements_done", statements_done}};
    }

    // An earlier attempt's checkpoint: the statements before the table it was loading.
    std::size_t resume_point() {
        if (!m_context.last_checkpoint || !m_context.last_checkpoint->is_object()) return 0;
        const Json& state = *m_context.last_checkpoint;
        if (state.value("database", "") != m_target.database) return 0;
        m_owned = true;
        if (state.value("file", "") != m_path ||
            state.value("file_bytes", std::uint64_t{0}) != m_size) {
            m_context.events.say(m_context.step.id +
                                 ": the file is not the one an earlier attempt loaded; loading it "
                                 "from the start");
            return 0;
        }
        std::size_t done = state.value("statements_done", std::size_t{0});
        if (done > 0)
            m_context.events.say(m_context.step.id + ": statements 1 to " + std::to_string(done) +
                                 " were loaded by an earlier attempt; going on with the table "
                                 "after them (statement " +
                                 std::to_string(done + 1) + ")");
        return done;
    }

    // A plain dump drops and recreates its tables: loading it over a database that holds
    // tables needs `replace: true`.
    void check_target(io::db::Session& session) {
        std::vector<std::string> existing = existing_tables(session, m_target.database);
        if (existing.empty() || m_context.params.boolean("replace")) return;
        throw StepError("database " + io::db::mysql_dialect().quote_identifier(m_target.database) +
                            " on " + m_target.spec.describe() + " already has " +
                            std::to_string(existing.size()) +
                            (existing.size() == 1 ? " table" : " tables") + " (" +
                            names_list(existing) + "), which " + m_path +
                            " may drop and recreate; nothing was loaded. Set 'replace: true' to "
                            "load over them, or "
                            "load into another database",
                        false);
    }

    void report_progress(const sql::SqlStatement& statement) {
        if (!m_progress.due(k_progress_ms)) return;
        std::uint64_t raw = m_tally.raw_bytes.load();
        std::uint64_t read = m_tally.file_bytes.load();
        m_context.events.progress(progress_bar(read, m_size) + " of the file read" +
                                      rate_and_eta(m_progress.sample(read), read, m_size) + ", " +
                                      format_bytes(raw) + " of SQL, statement " +
                                      std::to_string(statement.number),
                                  {{"bytes", raw},
                                   {"file_bytes", read},
                                   {"file_bytes_total", m_size},
                                   {"rate", m_progress.rate()},
                                   {"statements", m_tally.statements.load()},
                                   {"load_data_statements", m_tally.load_data.load()}});
    }

    kinds::StepContext& m_context;
    std::string m_path;
    LoadTarget m_target;
    bool m_owned = false;
    std::uint64_t m_size = 0;
    SqlLoadTally m_tally;
    RateMeter m_progress;
};

// ---------------------------------------------------------------- the kind

std::string describe_source(const std::string& from) {
    if (!looks_like_dump_directory(from)) return "the SQL file " + from;
    try {
        DumpManifest manifest = read_dump_directory(from);
        return "the dump " + from + " (" + std::to_string(manifest.tables.size()) +
               " tables of database " +
               io::db::mysql_dialect().quote_identifier(manifest.database) + ")";
    } catch (const StepError&) {
        return "the dump " + from;
    }
}

class MysqlLoadRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& p = context.params;
        std::string into =
            p.has("database")
                ? "database " + io::db::mysql_dialect().quote_identifier(p.string("database")) +
                      " on "
                : "";
        return "load " + describe_source(from_of(p)) + " into " + into + "connection '" +
               p.string("connection") + "', " + p.string("threads") + " threads" +
               (p.boolean("replace") ? ", replacing tables that exist" : "");
    }

    void preflight(kinds::StepContext& context) override {
        std::string from = from_of(context.params);
        std::error_code error;
        if (!fs::exists(from, error)) {
            context.events.say("note: " + from +
                               " does not exist yet; an earlier step must make it");
        } else if (looks_like_dump_directory(from)) {
            DumpManifest manifest = read_dump_directory(from);
            std::vector<const DumpTable*> tables = selected_tables(manifest, context.params);
            std::uint64_t raw = 0;
            for (const DumpTable* table : tables) raw += table->data_raw_bytes();
            context.events.say("dump " + from + ": complete, " + std::to_string(tables.size()) +
                               " of " + std::to_string(manifest.tables.size()) +
                               " tables selected, " + format_bytes(raw) +
                               " of data as SQL, from server " + manifest.server_version);
        } else {
            check_plain_file(from);
            files::PartReader reader({from});
            files::Compression compression = files::sniff_compression(reader);
            context.events.say("SQL file " + from + ": " + format_bytes(reader.total_size()) +
                               ", " +
                               (compression == files::Compression::gzip   ? "gzip"
                                : compression == files::Compression::zstd ? "zstd"
                                                                          : "not compressed"));
        }
        target_of(context);
        kinds::check_connection(context, context.params.string("connection"));
    }

    void run(kinds::StepContext& context) override {
        std::string from = from_of(context.params);
        std::error_code error;
        if (!fs::exists(from, error)) throw StepError(from + " does not exist", false);
        LoadTarget target = target_of(context);
        if (looks_like_dump_directory(from)) {
            DumpManifest manifest = read_dump_directory(from);
            DumpLoad(context, manifest, std::move(target)).run();
        } else {
            check_plain_file(from);
            PlainFileLoad(context, from, std::move(target)).run();
        }
    }

private:
    static void check_plain_file(const std::string& path) {
        std::error_code error;
        if (!fs::is_regular_file(path, error))
            throw StepError(path + " is neither a dump directory nor a file", false);
        files::PartReader reader({path});
        files::sniff_compression(
            reader);  // opens and reads it: a file that cannot be read says so here
    }
};

// `tables` is the old name of `include`: still read, with a warning; not both.
void check_load(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    for (const auto& [key, value] : with.entries) {
        if (key.value != "tables") continue;
        if (with.find("include"))
            diagnostics.error(key.mark,
                              "'tables' is the old name of 'include'; give only 'include'");
        else
            diagnostics.warning(key.mark,
                                "'tables' is deprecated: write 'include' (same names and globs)");
    }
}

}  // namespace

kinds::KindSpec mysql_load_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "mysql.load",
                .summary = "load a mysql.dump directory (tables in parallel, resumed by finished "
                           "table) or a "
                           "mysqldump .sql/.sql.gz/.sql.zst "
                           "file into a database",
                .params =
                    {{"connection", runbook::ParamType::connection, true, "",
                      "the target: a name under 'connections:'"},
                     {"from", runbook::ParamType::string, true, "",
                      "a mysql.dump directory, or one .sql, .sql.gz or .sql.zst file"},
                     {"database", runbook::ParamType::string, false, "",
                      "the database to load into (default: the connection's); made if missing"},
                     {"threads", runbook::ParamType::integer, false, "2",
                      "tables loaded at once, each on its own connection (0: one per core)"},
                     {"include", runbook::ParamType::string_list, false, "",
                      "load only these tables of a dump (names or globs)"},
                     {"tables", runbook::ParamType::string_list, false, "",
                      "deprecated: the old name of 'include'"},
                     {"exclude", runbook::ParamType::string_list, false, "",
                      "leave out these tables of a dump (names or globs)"},
                     {"replace", runbook::ParamType::boolean, false, "false",
                      "drop and load again tables that exist in the target (default: refuse to "
                      "touch them)"},
                     {"defer_keys", runbook::ParamType::boolean, false, "true",
                      "tables (of a dump directory or a plain file) are created without their "
                      "plain secondary keys, which are added once each table's data is in (one "
                      "index build from sorted keys, not one insert per row); tables with "
                      "foreign keys keep theirs, and so do all of a user who may not ALTER "
                      "TABLE"},
                     {"load_data", runbook::ParamType::boolean, false, "true",
                      "multi-row INSERTs of literals are sent as LOAD DATA LOCAL rows (the "
                      "server reads them without parsing SQL); every row must load without a "
                      "warning; false runs the INSERTs as they are"},
                     {"write_binlog", runbook::ParamType::boolean, false, "true",
                      "false: the load bypasses the target's binary log (SET sql_log_bin = 0; "
                      "needs SUPER)"}},
                .outputs = {"database", "tables"},
                .check = check_load,
            },
        .resumable_inside = true,
        .make = [] { return std::make_unique<MysqlLoadRunner>(); },
    };
}

}  // namespace migrate::steps::mysql
