// delta: copies the rows created or changed since a watermark from source to target, table by
// table, in keyset-paginated batches written as multi-row upserts. Each committed batch is a
// checkpoint; rows the target refuses go to a quarantine file with the server's reason.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <future>

#include "../families.h"
#include "delta_catalogue.h"
#include "migrate/kinds/connections.h"
#include "migrate/runbook/interpolate.h"
#include "migrate/steps/mysql/delta_plan.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::mysql {
namespace {

using namespace delta;
using Json = nlohmann::ordered_json;

struct Settings {
    std::size_t batch = 1000;
    std::int64_t max_quarantined = 0;  // -1: no limit
    bool upsert = true;
    std::string quarantine_path;
};

std::string quarantine_path_of(const kinds::StepContext& context) {
    if (context.params.has("quarantine")) return context.params.string("quarantine");
    std::string log = context.log_path;
    if (log.size() > 4 && log.compare(log.size() - 4, 4, ".log") == 0)
        return log.substr(0, log.size() - 4) + ".quarantine.jsonl";
    return context.step.id + ".quarantine.jsonl";
}

Settings settings_of(const kinds::StepContext& context) {
    Settings settings;
    std::int64_t batch = context.params.integer("batch");
    if (batch < 1 || batch > 100000)
        throw StepError(
            "parameter 'batch' must be from 1 to 100000, found " + std::to_string(batch), false);
    settings.batch = static_cast<std::size_t>(batch);
    settings.max_quarantined = context.params.integer("max_quarantined");
    if (settings.max_quarantined < -1)
        throw StepError("parameter 'max_quarantined' must be -1 (no limit), 0 or more", false);
    settings.upsert = context.params.boolean("upsert");
    settings.quarantine_path = quarantine_path_of(context);
    std::filesystem::path parent = std::filesystem::path(settings.quarantine_path).parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent))
        throw StepError("quarantine file '" + settings.quarantine_path + "': directory '" +
                            parent.string() + "' does not exist",
                        false);
    return settings;
}

// The state after the newest checkpoint of this step (a retry or `--resume`), or a fresh one.
CopyState restore(kinds::StepContext& context, const std::vector<TablePlan>& plans) {
    CopyState state;
    state.tables.resize(plans.size());
    if (!context.last_checkpoint || !context.last_checkpoint->is_object()) return state;
    const Json& checkpoint = *context.last_checkpoint;
    std::vector<std::string> resumed;
    for (std::size_t i = 0; i < plans.size(); ++i) {
        const Json* entry = checkpoint_entry(checkpoint, plans[i]);
        if (entry == nullptr) continue;
        state.tables[i] = table_state_of(*entry, plans[i]);
        state.rows += state.tables[i].rows;
        state.quarantined += state.tables[i].quarantined;
        resumed.push_back(plans[i].name + " (" + std::to_string(state.tables[i].rows) + " rows" +
                          (state.tables[i].done ? ", done)" : ")"));
    }
    state.batches = checkpoint.value("batches", std::uint64_t{0});
    if (checkpoint.contains("watermark_lag_ms") &&
        checkpoint["watermark_lag_ms"].is_number_integer()) {
        state.lag_ms = checkpoint["watermark_lag_ms"].get<std::int64_t>();
        state.lag_measured = true;
    }
    if (!resumed.empty())
        context.events.say(context.step.id +
                           ": going on from the last committed batch: " + join(resumed, ", "));
    return state;
}

// ---- the quarantine file: JSON Lines, appended and fsynced before the batch's checkpoint

class QuarantineFile {
public:
    explicit QuarantineFile(std::string path) : m_path(std::move(path)) {}
    ~QuarantineFile() {
        if (m_fd >= 0) ::close(m_fd);
    }
    QuarantineFile(const QuarantineFile&) = delete;
    QuarantineFile& operator=(const QuarantineFile&) = delete;

    void add(const Json& record) {
        if (m_fd < 0) {
            m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
            if (m_fd < 0) fail("cannot open");
        }
        std::string line =
            record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        if (::write(m_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            fail("cannot write");
        m_pending = true;
    }

    void sync() {
        if (!m_pending) return;
        if (::fsync(m_fd) != 0) fail("cannot sync");
        m_pending = false;
    }

    const std::string& path() const { return m_path; }

private:
    [[noreturn]] void fail(const std::string& doing) {
        throw StepError("quarantine file '" + m_path + "': " + doing + ": " + std::strerror(errno),
                        false);
    }
    std::string m_path;
    int m_fd = -1;
    bool m_pending = false;
};

// "2026-11-22T02:20:10Z": a quarantine record's time, to the second.
std::string utc_text(std::int64_t epoch_ms) {
    std::time_t now = static_cast<std::time_t>(epoch_ms / 1000);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

Json quarantine_record(std::int64_t wall_ms, const std::string& step, const TablePlan& plan,
                       const Row& row, const io::db::DbError& error) {
    Json key = Json::object();
    for (std::size_t k : plan.key)
        key[plan.columns[k]] = value_json(row[k], plan.literals[k] == Literal::binary);
    Json values = Json::object();
    for (std::size_t i = 0; i < plan.columns.size(); ++i)
        values[plan.columns[i]] = value_json(
            row[i], plan.literals[i] == Literal::binary || plan.literals[i] == Literal::bit);
    std::string reason = error.what();
    if (error.code() == 1048)
        for (std::size_t k : plan.key)
            if (reason.find("'" + plan.columns[k] + "'") != std::string::npos)
                reason =
                    "the target has another row with this row's value of a unique key (not its "
                    "primary key); " +
                    reason;
    return Json{{"time", utc_text(wall_ms)}, {"step", step},     {"table", plan.name}, {"key", key},
                {"error", error.code()},     {"reason", reason}, {"row", values}};
}

// ---- one table's copy

struct Batch {
    std::vector<Row> rows;
};

Batch read_batch(io::db::Session& source, const TablePlan& plan, const Cursor& cursor,
                 const Value& until, std::size_t limit) {
    Batch batch;
    batch.rows.reserve(limit);
    std::unique_ptr<io::db::Result> result =
        source.query(batch_query(plan, cursor, until, limit, source));
    io::db::Row row;
    while (result->next(row)) {
        Row copy(row.size());
        for (std::size_t i = 0; i < row.size(); ++i) copy[i] = row.value(i);
        batch.rows.push_back(std::move(copy));
    }
    return batch;
}

class TableCopier {
public:
    TableCopier(kinds::StepContext& context, const Settings& settings, io::db::Session& source,
                io::db::Session& target, QuarantineFile& quarantine)
        : m_context(context),
          m_settings(settings),
          m_source(source),
          m_target(target),
          m_quarantine(quarantine) {}

    // Copies what is left of table `index`, a checkpoint after every committed batch.
    void copy(const std::vector<TablePlan>& plans, std::size_t index, CopyState& state) {
        const TablePlan& plan = plans[index];
        TableState& table = state.tables[index];
        if (!table.bounded) {
            table.until = upper_bound(plan);
            table.bounded = true;
        }
        if (!table.until) table.done = true;
        if (table.done) return;
        Batch batch = read_rows(plan, table.cursor, table.until);
        while (!batch.rows.empty()) {
            bool more = batch.rows.size() == m_settings.batch;
            Cursor next = cursor_after(plan, batch.rows.back());
            // The next batch is read from the source while this one is written to the target.
            std::future<Batch> ahead;
            if (more)
                ahead = std::async(std::launch::async, [this, &plan, next, until = table.until] {
                    return read_rows(plan, next, until);
                });
            std::uint64_t refused = write(plan, batch.rows, 0, batch.rows.size());
            m_quarantine.sync();
            if (m_settings.max_quarantined >= 0 &&
                state.quarantined + refused >
                    static_cast<std::uint64_t>(m_settings.max_quarantined))
                throw over_limit(plan, state.quarantined + refused);
            table.cursor = next;
            table.rows += batch.rows.size() - refused;
            table.quarantined += refused;
            table.done = !more;
            state.rows += batch.rows.size() - refused;
            state.quarantined += refused;
            ++state.batches;
            m_context.events.checkpoint(state_json(plans, state));
            m_rows_now += batch.rows.size() - refused;
            m_context.events.progress(
                plan.name + ": " + std::to_string(table.rows) + " rows copied",
                {{"rows", state.rows},
                 {"batches", state.batches},
                 {"quarantined", state.quarantined}});
            batch = more ? ahead.get() : Batch{};
        }
        table.done = true;
    }

    std::uint64_t rows_now() const { return m_rows_now; }

private:
    Value upper_bound(const TablePlan& plan) {
        try {
            std::unique_ptr<io::db::Result> result =
                m_source.query(bound_query(plan, m_source, false));
            io::db::Row row;
            if (!result->next(row)) return std::nullopt;
            return row.value(0);
        } catch (const StepError& e) {
            throw StepError("table '" + plan.name + "': reading the source: " + e.what(),
                            e.retryable());
        }
    }

    Batch read_rows(const TablePlan& plan, const Cursor& cursor, const Value& until) {
        try {
            return read_batch(m_source, plan, cursor, until, m_settings.batch);
        } catch (const StepError& e) {
            throw StepError("table '" + plan.name + "': reading the source: " + e.what(),
                            e.retryable());
        }
    }

    // Writes rows [first, last) in one statement; when the target refuses them for what they
    // hold, halves the range until the refused rows are alone, and quarantines those.
    // Returns the rows quarantined.
    std::uint64_t write(const TablePlan& plan, const std::vector<Row>& rows, std::size_t first,
                        std::size_t last) {
        try {
            m_target.execute(
                upsert_statement(plan, rows, first, last, m_settings.upsert, m_target));
            return 0;
        } catch (const io::db::DbError& e) {
            if (e.retryable() || !error_is_about_rows(e.code()))
                throw StepError("table '" + plan.name + "': writing to the target: " + e.what(),
                                e.retryable());
            if (last - first == 1) {
                m_quarantine.add(quarantine_record(m_context.services.clock.wall_ms(),
                                                   m_context.step.id, plan, rows[first], e));
                return 1;
            }
            std::size_t middle = first + (last - first) / 2;
            return write(plan, rows, first, middle) + write(plan, rows, middle, last);
        }
    }

    StepError over_limit(const TablePlan& plan, std::uint64_t quarantined) const {
        return StepError(
            "table '" + plan.name + "': " + std::to_string(quarantined) +
                " rows quarantined, more than max_quarantined " +
                std::to_string(m_settings.max_quarantined) +
                "; the rows and the server's reasons are in " + m_quarantine.path() +
                "; fix the target or raise max_quarantined, then resume (the batch is tried again)",
            false);
    }

    kinds::StepContext& m_context;
    const Settings& m_settings;
    io::db::Session& m_source;
    io::db::Session& m_target;
    QuarantineFile& m_quarantine;
    std::uint64_t m_rows_now = 0;
};

// ---- sessions, the watermark's lag, outputs

std::unique_ptr<io::db::Session> open_source(kinds::StepContext& context) {
    std::unique_ptr<io::db::Session> session = connect(context, context.params.string("source"));
    // TIMESTAMP values read and compared in UTC, as mysqldump does: copied exactly.
    session->execute("SET SESSION time_zone = '+00:00'");
    return session;
}

std::unique_ptr<io::db::Session> open_target(kinds::StepContext& context) {
    std::unique_ptr<io::db::Session> session = connect(context, context.params.string("target"));
    // Strict: a value that does not fit is refused (and quarantined), never cut short.
    session->execute(
        "SET SESSION time_zone = '+00:00', sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), "
        "'STRICT_ALL_TABLES', 'NO_AUTO_VALUE_ON_ZERO')");
    return session;
}

// In a dry run an earlier step's output is not known yet: the engine shows it as <step.name>.
bool since_unknown(const TablePlan& plan) { return runbook::is_output_placeholder(plan.since); }

std::vector<TablePlan> resolve_all(kinds::StepContext& context, io::db::Session& source,
                                   io::db::Session& target, std::optional<std::int64_t>* lag_ms) {
    std::vector<TablePlan> plans;
    for (const TableRequest& request : table_requests(context.params)) {
        TablePlan plan = resolve_table(source, target, request);
        if (context.mode != kinds::RunMode::dry_run || !since_unknown(plan)) {
            std::optional<std::int64_t> lag =
                watermark_lag_ms(source, plan, column_type(source, plan));
            if (lag_ms != nullptr && lag && (!*lag_ms || *lag > **lag_ms)) *lag_ms = lag;
        }
        if (!watermark_indexed(source, plan))
            context.events.say(context.step.id + ": warning: table '" + plan.name +
                               "' has no index that starts with its watermark column '" +
                               plan.columns[plan.watermark] + "'; every batch scans the table");
        plans.push_back(std::move(plan));
    }
    return plans;
}

// The new watermark of a table: the upper bound fixed at its start (a next delta from it
// copies what changed since), or `since` when there was nothing to copy.
std::string new_watermark(const TablePlan& plan, const TableState& table) {
    return table.until ? *table.until : plan.since;
}

bool lower_watermark(const TablePlan& plan, const std::string& a, const std::string& b) {
    if (plan.watermark_class == WatermarkClass::number) return std::stod(a) < std::stod(b);
    return a < b;
}

void set_outputs(kinds::StepContext& context, const std::vector<TablePlan>& plans,
                 const CopyState& state) {
    Json watermarks = Json::object();
    std::string lowest;
    bool comparable = true;
    for (std::size_t i = 0; i < plans.size(); ++i) {
        std::string mark = new_watermark(plans[i], state.tables[i]);
        watermarks[plans[i].name] = mark;
        comparable = comparable && plans[i].watermark_class == plans[0].watermark_class;
        if (i == 0 || lower_watermark(plans[i], mark, lowest)) lowest = mark;
    }
    if (comparable) context.outputs["watermark"] = lowest;
    context.outputs["watermarks"] = watermarks.dump();
    context.outputs["rows"] = std::to_string(state.rows);
    context.outputs["quarantined"] = std::to_string(state.quarantined);
}

std::string table_list(const kinds::Params& params) {
    std::vector<std::string> names;
    try {
        for (const TableRequest& request : table_requests(params)) names.push_back(request.name);
    } catch (const StepError&) {
        return "(tables)";
    }
    return join(names, ", ");
}

class DeltaRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& p = context.params;
        std::string what =
            "rows changed since " +
            (p.has("since") ? "'" + p.string("since") + "'" : std::string("each table's 'since'")) +
            " from '" + p.string("source") + "' to '" + p.string("target") + "': " + table_list(p);
        try {
            return what + " (batches of " + std::to_string(p.integer("batch")) +
                   (p.boolean("upsert") ? ", upsert)" : ", insert)");
        } catch (const StepError&) {
            return what;
        }
    }

    void preflight(kinds::StepContext& context) override {
        settings_of(context);
        std::unique_ptr<io::db::Session> source = open_source(context);
        std::unique_ptr<io::db::Session> target = open_target(context);
        context.events.say(source->spec().describe() + " accepts connections: server " +
                           source->server_version());
        context.events.say(target->spec().describe() + " accepts connections: server " +
                           target->server_version());
        for (const TablePlan& plan : resolve_all(context, *source, *target, nullptr)) {
            if (since_unknown(plan)) {
                context.events.say("table '" + plan.name +
                                   "': since comes from an earlier step's output (" + plan.since +
                                   "); the rows to copy are counted when it runs");
                continue;
            }
            std::unique_ptr<io::db::Result> result =
                source->query(bound_query(plan, *source, true));
            io::db::Row row;
            result->next(row);
            context.events.say(
                "table '" + plan.name + "': " + std::string(row.view(0)) + " rows to copy (" +
                plan.columns[plan.watermark] +
                (plan.watermark_class == WatermarkClass::time ? " >= '" : " > '") + plan.since +
                "'" + (row.is_null(1) ? "" : ", up to '" + std::string(row.view(1)) + "'") + ")");
        }
    }

    void run(kinds::StepContext& context) override {
        Settings settings = settings_of(context);
        std::int64_t started_ms = context.services.clock.steady_ms();
        std::unique_ptr<io::db::Session> source = open_source(context);
        std::unique_ptr<io::db::Session> target = open_target(context);
        std::optional<std::int64_t> lag_ms;
        std::vector<TablePlan> plans = resolve_all(context, *source, *target, &lag_ms);
        CopyState state = restore(context, plans);
        // The lag is the first attempt's: from the watermark to when the copy began.
        if (!state.lag_measured) state.lag_ms = lag_ms;
        QuarantineFile quarantine(settings.quarantine_path);
        TableCopier copier(context, settings, *source, *target, quarantine);
        try {
            for (std::size_t i = 0; i < plans.size(); ++i) copier.copy(plans, i, state);
        } catch (const StepError&) {
            record_metrics(context, state, copier, started_ms);
            throw;
        }
        record_metrics(context, state, copier, started_ms);
        set_outputs(context, plans, state);
        if (state.quarantined > 0)
            context.events.say(context.step.id + ": " + std::to_string(state.quarantined) +
                               " rows quarantined in " + quarantine.path());
    }

private:
    static void record_metrics(kinds::StepContext& context, const CopyState& state,
                               const TableCopier& copier, std::int64_t started_ms) {
        double seconds = (context.services.clock.steady_ms() - started_ms) / 1000.0;
        context.metrics["rows"] = state.rows;
        context.metrics["batches"] = state.batches;
        context.metrics["quarantined"] = state.quarantined;
        if (seconds > 0)
            context.metrics["rows_per_second"] =
                static_cast<std::int64_t>(copier.rows_now() / seconds);
        if (state.lag_ms) context.metrics["watermark_lag_ms"] = *state.lag_ms;
    }
};

// `tables` in the runbook: names, or mappings with the known fields; plain names need the
// step's `watermark`.
void check_delta(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    const runbook::Node* tables = with.find("tables");
    if (tables == nullptr) return;
    std::vector<const runbook::Node*> items;
    if (tables->is_scalar())
        items.push_back(tables);
    else if (tables->is_sequence())
        for (const runbook::Node& item : tables->items) items.push_back(&item);
    else
        return diagnostics.error(
            tables->mark,
            "'tables' must be a list of table names or {table, watermark, ...} mappings, found " +
                tables->describe());
    if (items.empty()) diagnostics.error(tables->mark, "'tables' lists no table");
    static const std::vector<std::string> k_fields = {"table",   "watermark", "key",
                                                      "columns", "where",     "since"};
    for (const runbook::Node* item : items) {
        if (item->is_scalar()) {
            if (!with.find("watermark"))
                diagnostics.error(item->mark, "table '" + item->value +
                                                  "' has no watermark column: give the step's "
                                                  "'watermark' or write it as {table: " +
                                                  item->value + ", watermark: COLUMN}");
            if (!with.find("since"))
                diagnostics.error(item->mark, "table '" + item->value +
                                                  "' has no 'since': give the step's 'since'");
            continue;
        }
        if (!item->is_mapping()) {
            diagnostics.error(
                item->mark, "a table must be a name or a {table, watermark, ...} mapping, found " +
                                item->describe());
            continue;
        }
        for (const auto& [key, value] : item->entries)
            if (std::find(k_fields.begin(), k_fields.end(), key.value) == k_fields.end())
                diagnostics.error(key.mark, "unknown field '" + key.value + "' of a table" +
                                                did_you_mean(key.value, k_fields) +
                                                " (fields: " + join(k_fields, ", ") + ")");
        if (!item->find("table"))
            diagnostics.error(item->mark, "a table entry needs 'table' (its name)");
        if (!item->find("watermark") && !with.find("watermark"))
            diagnostics.error(item->mark,
                              "this table has no watermark column: give 'watermark:' here or the "
                              "step's 'watermark'");
        if (!item->find("since") && !with.find("since"))
            diagnostics.error(item->mark,
                              "this table has no 'since': give it here or the step's 'since'");
    }
}

}  // namespace

kinds::KindSpec delta_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "delta",
                .summary = "copy the rows created or changed since a watermark from source to "
                           "target in batches of upserts; "
                           "refused rows to a quarantine file",
                .params =
                    {{"source", runbook::ParamType::connection, true, "",
                      "the connection to copy from"},
                     {"target", runbook::ParamType::connection, true, "",
                      "the connection to copy to"},
                     {"tables", runbook::ParamType::any, true, "",
                      "tables: names, or {table, watermark, key, columns, where, since} mappings"},
                     {"since", runbook::ParamType::string, false, "",
                      "the watermark value to copy from: a date and time (>=) or an id (>); per "
                      "table or for all"},
                     {"watermark", runbook::ParamType::string, false, "",
                      "the watermark column of tables that name none"},
                     {"batch", runbook::ParamType::integer, false, "1000",
                      "rows per batch (one upsert, one checkpoint)"},
                     {"quarantine", runbook::ParamType::string, false, "",
                      "file for refused rows (JSON Lines); default "
                      "<journal>.logs/<step>.quarantine.jsonl"},
                     {"max_quarantined", runbook::ParamType::integer, false, "0",
                      "rows allowed into quarantine before the step fails; -1 for no limit"},
                     {"upsert", runbook::ParamType::boolean, false, "true",
                      "update rows the target has (true) or keep them (false)"}},
                .outputs = {"rows", "quarantined", "watermark", "watermarks"},
                .check = check_delta,
            },
        .resumable_inside = true,
        .make = [] { return std::make_unique<DeltaRunner>(); },
    };
}

}  // namespace migrate::steps::mysql
