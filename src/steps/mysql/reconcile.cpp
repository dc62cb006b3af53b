// reconcile: compare a source and a target database by row counts, counts per group, sums
// and chunk checksums over key ranges; every difference in a table (terminal, step.end,
// optional report file). Both servers work at once: the source's queries run on this
// thread, the target's on a second one.
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "../families.h"
#include "migrate/io/db/dialect.h"
#include "migrate/kinds/connections.h"
#include "migrate/steps/mysql/reconcile_plan.h"
#include "migrate/util/error.h"
#include "migrate/util/partial_file.h"
#include "migrate/util/text.h"

namespace migrate::steps::mysql {
namespace {

using Rows = std::vector<std::vector<std::optional<std::string>>>;
constexpr std::size_t k_journal_differences =
    1000;  // beyond this, step.end says how many were left out
constexpr std::size_t k_terminal_differences = 50;

using ColumnInfo = io::db::CatalogueColumn;

struct TableInfo {
    std::vector<ColumnInfo> columns;
    std::vector<std::vector<std::string>> unique_keys;  // the primary key first when there is one
    bool has_primary = false;

    const ColumnInfo* column(const std::string& name) const {
        for (const ColumnInfo& c : columns)
            if (c.name == name) return &c;
        return nullptr;
    }
    std::vector<std::string> column_names() const {
        std::vector<std::string> names;
        for (const ColumnInfo& c : columns) names.push_back(c.name);
        return names;
    }
};

// One server: its session, its role in messages, what it knows of the tables.
class Side {
public:
    Side(std::string role, std::unique_ptr<io::db::Session> session)
        : m_role(std::move(role)), m_session(std::move(session)) {}

    const std::string& role() const { return m_role; }
    io::db::Session& session() { return *m_session; }
    std::string where() const {
        return "the " + m_role + " (" + m_session->spec().describe() + ")";
    }

    Rows rows(const std::string& sql) {
        std::unique_ptr<io::db::Result> result = m_session->query(sql);
        Rows out;
        io::db::Row row;
        while (result->next(row)) {
            std::vector<std::optional<std::string>> values;
            for (std::size_t i = 0; i < row.size(); ++i) values.push_back(row.value(i));
            out.push_back(std::move(values));
        }
        return out;
    }

    // `schema`.`table` for SQL; a "db.table" name is taken as qualified.
    static std::string table_sql(const std::string& table) {
        std::size_t dot = table.find('.');
        if (dot == std::string::npos) return io::db::mysql_dialect().quote_identifier(table);
        return io::db::mysql_dialect().quote_identifier(table.substr(0, dot)) + "." +
               io::db::mysql_dialect().quote_identifier(table.substr(dot + 1));
    }

    const TableInfo& table(const std::string& table) {
        auto it = m_tables.find(table);
        if (it != m_tables.end()) return it->second;
        return m_tables[table] = load_table(table);
    }

private:
    std::string schema_sql(const std::string& table) {
        std::size_t dot = table.find('.');
        if (dot != std::string::npos)
            return io::db::mysql_dialect().string_literal(*m_session, table.substr(0, dot));
        return "DATABASE()";
    }
    static std::string bare_name(const std::string& table) {
        std::size_t dot = table.find('.');
        return dot == std::string::npos ? table : table.substr(dot + 1);
    }

    TableInfo load_table(const std::string& table) {
        std::string schema = schema_sql(table);
        std::string name = io::db::mysql_dialect().string_literal(*m_session, bare_name(table));
        if (schema == "DATABASE()" && !m_session->first_value("SELECT DATABASE()"))
            throw StepError("table '" + table + "': " + where() +
                                " has no database; give 'database' in the connection " +
                                "or write the table as DATABASE.TABLE",
                            false);
        const io::db::Dialect& dialect = io::db::mysql_dialect();
        std::string schema_name = schema == "DATABASE()" ? "" : table.substr(0, table.find('.'));
        TableInfo info;
        info.columns = dialect.table_columns(*m_session, schema_name, bare_name(table));
        if (info.columns.empty())
            throw StepError(
                "table '" + table + "' does not exist on " + where() +
                    did_you_mean(bare_name(table), dialect.table_names(*m_session, schema_name)),
                false);
        std::string index;
        for (const auto& row : rows("SELECT INDEX_NAME, COLUMN_NAME FROM "
                                    "information_schema.STATISTICS WHERE TABLE_SCHEMA = " +
                                    schema + " AND TABLE_NAME = " + name +
                                    " AND NON_UNIQUE = 0 ORDER BY INDEX_NAME = 'PRIMARY' DESC, "
                                    "INDEX_NAME, SEQ_IN_INDEX")) {
            if (info.unique_keys.empty() || row[0].value_or("") != index) {
                index = row[0].value_or("");
                info.unique_keys.emplace_back();
                if (index == "PRIMARY") info.has_primary = true;
            }
            info.unique_keys.back().push_back(row[1].value_or(""));
        }
        return info;
    }

    std::string m_role;
    std::unique_ptr<io::db::Session> m_session;
    std::map<std::string, TableInfo> m_tables;
};

// Runs `source_work` on this thread and `target_work` on another at once; rethrows the
// first failure (the source's when both fail).
void on_both(const std::function<void()>& source_work, const std::function<void()>& target_work,
             const std::function<void()>& on_source_failure = {}) {
    std::exception_ptr target_error;
    std::thread target([&] {
        try {
            target_work();
        } catch (...) {
            target_error = std::current_exception();
        }
    });
    std::exception_ptr source_error;
    try {
        source_work();
    } catch (...) {
        source_error = std::current_exception();
        if (on_source_failure) on_source_failure();
    }
    target.join();
    if (source_error) std::rethrow_exception(source_error);
    if (target_error) std::rethrow_exception(target_error);
}

// A check made concrete against both servers' tables.
struct ResolvedCheck {
    ReconcileCheck check;
    std::vector<std::string> key;  // checksum: the key walked
    std::vector<const ColumnInfo*> key_columns;
    std::string row_hash;  // checksum: the SQL of one row's 64-bit hash
};

std::string where_clause(const ReconcileCheck& check, const std::string& more = "") {
    std::vector<std::string> parts;
    if (!check.where.empty()) parts.push_back("(" + check.where + ")");
    if (!more.empty() && more != "1") parts.push_back(more);
    return parts.empty() ? "" : " WHERE " + join(parts, " AND ");
}

std::string table_of(const ResolvedCheck& rc, const Side& side) {
    return Side::table_sql(side.role() == "source" ? rc.check.table : rc.check.target_table);
}

void require_columns(const std::vector<std::string>& columns, const TableInfo& info,
                     const std::string& table, const Side& side) {
    for (const std::string& column : columns)
        if (!info.column(column))
            throw StepError("column '" + column + "' does not exist in table '" + table + "' on " +
                                side.where() + did_you_mean(column, info.column_names()),
                            false);
}

// MD5 of the row's values, NULL-safe (a map of which columns are NULL is hashed too, for the
// columns that may be NULL on either side), folded to its first 64 bits. Text columns whose
// character sets differ between the sides are compared as utf8mb4, so a conversion of the
// column is not a difference.
std::string row_hash_sql(const std::vector<std::string>& columns, const TableInfo& source,
                         const TableInfo& target) {
    std::vector<std::string> values;
    std::vector<std::string> nulls;
    for (const std::string& name : columns) {
        const ColumnInfo* a = source.column(name);
        const ColumnInfo* b = target.column(name);
        bool convert = !a->charset.empty() && a->charset != b->charset;
        values.push_back(convert ? "CONVERT(" + io::db::mysql_dialect().quote_identifier(name) +
                                       " USING utf8mb4)"
                                 : io::db::mysql_dialect().quote_identifier(name));
        if (a->nullable || b->nullable)
            nulls.push_back("ISNULL(" + io::db::mysql_dialect().quote_identifier(name) + ")");
    }
    if (!nulls.empty()) values.push_back("CONCAT(" + join(nulls, ", ") + ")");
    return "CONCAT_WS(CHAR(0), " + join(values, ", ") + ")";
}

ResolvedCheck resolve(const ReconcileCheck& check, Side& source, Side& target) {
    ResolvedCheck rc{check, {}, {}, ""};
    const TableInfo* s = nullptr;
    const TableInfo* t = nullptr;
    on_both([&] { s = &source.table(check.table); },
            [&] { t = &target.table(check.target_table); });
    if (check.kind == CheckKind::group_by || check.kind == CheckKind::sum) {
        require_columns(check.columns, *s, check.table, source);
        require_columns(check.columns, *t, check.target_table, target);
    }
    if (check.kind != CheckKind::checksum) return rc;
    rc.key = check.key;
    if (rc.key.empty()) {
        if (!s->has_primary)
            throw StepError("table '" + check.table + "' has no primary key on " + source.where() +
                                "; give 'key' (the columns of a unique index) to walk it in chunks",
                            false);
        rc.key = s->unique_keys.front();
    }
    require_columns(rc.key, *s, check.table, source);
    require_columns(rc.key, *t, check.target_table, target);
    std::set<std::string> wanted(rc.key.begin(), rc.key.end());
    bool unique = false;
    for (const auto& index : s->unique_keys)
        unique = unique || std::set<std::string>(index.begin(), index.end()) == wanted;
    if (!unique)
        throw StepError("key (" + join(rc.key, ", ") + ") of table '" + check.table +
                            "' is not unique on " + source.where() +
                            "; name the columns of its primary key or of a unique index",
                        false);
    for (const std::string& name : rc.key) rc.key_columns.push_back(s->column(name));
    std::vector<std::string> hashed = check.columns.empty() ? s->column_names() : check.columns;
    for (auto it = rc.key.rbegin(); it != rc.key.rend(); ++it)
        if (std::find(hashed.begin(), hashed.end(), *it) == hashed.end())
            hashed.insert(hashed.begin(), *it);
    require_columns(hashed, *s, check.table, source);
    require_columns(hashed, *t, check.target_table, target);
    rc.row_hash = row_hash_sql(hashed, *s, *t);
    return rc;
}

// ---- checksums over key ranges ----

struct ChunkSum {
    std::uint64_t rows = 0;
    std::string hash = "0";
    bool operator==(const ChunkSum& other) const {
        return rows == other.rows && hash == other.hash;
    }
};

// The ranges the source's walk has found so far, for the target's thread to check.
class RangeQueue {
public:
    void push(const KeyRange& range) {
        std::lock_guard lock(m_mutex);
        m_ranges.push_back(range);
        m_changed.notify_all();
    }
    void close() {
        std::lock_guard lock(m_mutex);
        m_closed = true;
        m_changed.notify_all();
    }
    // Range `index`, waiting for the walk to find it; nullopt when the walk ended first.
    std::optional<KeyRange> wait(std::size_t index) {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return m_closed || index < m_ranges.size(); });
        if (index < m_ranges.size()) return m_ranges[index];
        return std::nullopt;
    }
    std::vector<KeyRange> ranges() {
        std::lock_guard lock(m_mutex);
        return m_ranges;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<KeyRange> m_ranges;
    bool m_closed = false;
};

class ChecksumRun {
public:
    ChecksumRun(kinds::StepContext& context, const ResolvedCheck& rc, Side& source, Side& target)
        : m_context(context), m_rc(rc), m_source(source), m_target(target) {}

    // Walks the source's key in chunks while the target checks each range found; returns the
    // ranges with both sides' sums.
    void run() {
        on_both([&] { walk_source(); },
                [&] {
                    try {
                        for (std::size_t i = 0;; ++i) {
                            std::optional<KeyRange> range = m_queue.wait(i);
                            if (!range) break;
                            m_target_sums.push_back(sum(m_target, *range));
                        }
                    } catch (...) {
                        m_target_failed =
                            true;  // the source's walk stops; this error is the step's
                        throw;
                    }
                },
                [&] { m_queue.close(); });
        m_ranges = m_queue.ranges();
    }

    const std::vector<KeyRange>& ranges() const { return m_ranges; }
    const std::vector<ChunkSum>& source_sums() const { return m_source_sums; }
    const std::vector<ChunkSum>& target_sums() const { return m_target_sums; }

    // The keys that differ inside `range`: "id 15000: differs", "id 15200: missing on the
    // target", "id 50001: only on the target"; at most `limit`.
    std::vector<std::string> differing_keys(const KeyRange& range, std::size_t limit) {
        std::vector<std::pair<KeyValues, std::string>> source_rows;
        std::vector<std::pair<KeyValues, std::string>> target_rows;
        on_both([&] { source_rows = key_hashes(m_source, range); },
                [&] { target_rows = key_hashes(m_target, range); });
        std::map<KeyValues, std::string> target_map(target_rows.begin(), target_rows.end());
        std::set<KeyValues> seen;
        std::vector<std::string> out;
        for (const auto& [key, hash] : source_rows) {
            seen.insert(key);
            auto it = target_map.find(key);
            if (it == target_map.end())
                out.push_back(key_name(m_rc.key, shown(key)) + ": missing on the target");
            else if (it->second != hash)
                out.push_back(key_name(m_rc.key, shown(key)) + ": differs");
            if (out.size() >= limit) return out;
        }
        for (const auto& [key, hash] : target_rows)
            if (!seen.count(key)) {
                out.push_back(key_name(m_rc.key, shown(key)) + ": only on the target");
                if (out.size() >= limit) return out;
            }
        return out;
    }

    KeyValues shown(const KeyValues& key) const {
        KeyValues out = key;
        for (std::size_t i = 0; i < out.size(); ++i)
            if (m_rc.key_columns[i]->binary)
                out[i] = "0x" + hex_encode(reinterpret_cast<const unsigned char*>(key[i].data()),
                                           key[i].size());
        return out;
    }

private:
    std::string key_list(const std::string& direction = "") const {
        std::vector<std::string> names;
        for (const std::string& name : m_rc.key)
            names.push_back(io::db::mysql_dialect().quote_identifier(name) + direction);
        return join(names, ", ");
    }

    std::string condition(Side& side, const KeyRange& range) const {
        return key_range_condition(
            m_rc.key, range,
            [](const std::string& name) { return io::db::mysql_dialect().quote_identifier(name); },
            [&](std::size_t i, const std::string& value) {
                const ColumnInfo& column = *m_rc.key_columns[i];
                if (column.binary)
                    return "X'" +
                           hex_encode(reinterpret_cast<const unsigned char*>(value.data()),
                                      value.size()) +
                           "'";
                if (column.numeric && !value.empty() &&
                    value.find_first_not_of("0123456789.-+eE") == std::string::npos)
                    return value;
                return io::db::mysql_dialect().string_literal(side.session(), value);
            });
    }

    static std::optional<KeyValues> key_of(const Rows& rows, std::size_t index) {
        if (index >= rows.size()) return std::nullopt;
        KeyValues key;
        for (const auto& value : rows[index]) key.push_back(value.value_or(""));
        return key;
    }

    Rows keys(const KeyRange& range, const std::string& direction, std::int64_t offset, int count) {
        return m_source.rows("SELECT " + key_list() + " FROM " + table_of(m_rc, m_source) +
                             where_clause(m_rc.check, condition(m_source, range)) + " ORDER BY " +
                             key_list(direction) + " LIMIT " + std::to_string(count) +
                             (offset > 0 ? " OFFSET " + std::to_string(offset) : ""));
    }

    // Hands a range to the target's thread and sums it on the source; false when the
    // target's side failed and the walk should end.
    bool found(const KeyRange& range) {
        if (m_target_failed) return false;
        m_queue.push(range);
        m_source_sums.push_back(sum(m_source, range));
        std::size_t done = m_source_sums.size();
        if (done % 20 == 0)
            m_context.events.progress(m_rc.check.name + ": " + std::to_string(done) + " chunks",
                                      {{"chunks", done}, {"rows_compared", rows_so_far()}});
        if (m_context.cancel.cancelled()) throw StepError("stopped", true);
        return true;
    }

    std::uint64_t rows_so_far() const {
        std::uint64_t rows = 0;
        for (const ChunkSum& s : m_source_sums) rows += s.rows;
        return rows;
    }

    // The source's key in chunks: a range below its first key and one above its last (for
    // rows only the target has; empty on the source, where they cost an index lookup), and
    // between them ranges of `chunk` keys, each found by one keyset query. The ranges leave
    // no gap, so every row of either side is in exactly one.
    void walk_source() {
        try {
            std::optional<KeyValues> first = key_of(keys(KeyRange{}, "", 0, 1), 0);
            if (!first) {
                found(KeyRange{});
                m_queue.close();
                return;
            }
            if (!found(KeyRange{std::nullopt, KeyBound{*first, false}, std::nullopt, std::nullopt}))
                return m_queue.close();
            KeyRange range{KeyBound{*first, true}, std::nullopt, first, std::nullopt};
            for (;;) {
                Rows next = keys(range, "", m_rc.check.chunk - 1, 2);
                std::optional<KeyValues> last = key_of(next, 0);
                if (!last) last = key_of(keys(range, " DESC", 0, 1), 0);
                if (!last)
                    throw StepError(
                        "the source's key walk lost its place (rows deleted while it ran?)", true);
                range.upper = KeyBound{*last, true};
                range.last = last;
                if (!found(range)) return m_queue.close();
                std::optional<KeyValues> after = key_of(next, 1);
                if (!after) break;
                range = KeyRange{KeyBound{*last, false}, std::nullopt, after, std::nullopt};
            }
            found(KeyRange{KeyBound{*range.last, false}, std::nullopt, std::nullopt, std::nullopt});
        } catch (...) {
            m_queue.close();
            throw;
        }
        m_queue.close();
    }

    ChunkSum sum(Side& side, const KeyRange& range) {
        Rows rows =
            side.rows("SELECT COUNT(*), COALESCE(BIT_XOR(CAST(CONV(LEFT(MD5(" + m_rc.row_hash +
                      "), 16), 16, 10) AS UNSIGNED)), 0) FROM " + table_of(m_rc, side) +
                      where_clause(m_rc.check, condition(side, range)));
        ChunkSum out;
        if (!rows.empty()) {
            out.rows = std::stoull(rows[0][0].value_or("0"));
            out.hash = rows[0][1].value_or("0");
        }
        return out;
    }

    std::vector<std::pair<KeyValues, std::string>> key_hashes(Side& side, const KeyRange& range) {
        std::vector<std::pair<KeyValues, std::string>> out;
        Rows rows =
            side.rows("SELECT " + key_list() + ", LEFT(MD5(" + m_rc.row_hash + "), 16) FROM " +
                      table_of(m_rc, side) + where_clause(m_rc.check, condition(side, range)) +
                      " ORDER BY " + key_list());
        for (auto& row : rows) {
            KeyValues key;
            for (std::size_t i = 0; i + 1 < row.size(); ++i) key.push_back(row[i].value_or(""));
            out.emplace_back(std::move(key), row.back().value_or(""));
        }
        return out;
    }

    kinds::StepContext& m_context;
    const ResolvedCheck& m_rc;
    Side& m_source;
    Side& m_target;
    RangeQueue m_queue;
    std::vector<KeyRange> m_ranges;
    std::vector<ChunkSum> m_source_sums;
    std::vector<ChunkSum> m_target_sums;
    std::atomic<bool> m_target_failed{false};
};

// ---- the step ----

struct Totals {
    std::uint64_t rows = 0;
    std::uint64_t chunks = 0;
};

std::string what_of(const ReconcileCheck& check) {
    switch (check.kind) {
        case CheckKind::count:
            return "row count";
        case CheckKind::group_by:
            return "rows per " + join(check.columns, ", ");
        case CheckKind::sum:
            return "sum of " + join(check.columns, ", ");
        case CheckKind::checksum:
            return "checksums of chunks of " + std::to_string(check.chunk) + " rows" +
                   (check.columns.empty() ? "" : " over " + join(check.columns, ", "));
    }
    return "";
}

std::uint64_t number_of(const std::optional<std::string>& value) {
    try {
        return value ? std::stoull(*value) : 0;
    } catch (const std::exception&) {
        return 0;
    }
}

// Runs `work`, naming the check in any error.
template <class Work>
auto named(const ReconcileCheck& check, Work&& work) {
    try {
        return work();
    } catch (const StepError& e) {
        throw StepError("check '" + check.name + "': " + e.what(), e.retryable());
    }
}

class ReconcileRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        std::string between = " between '" + context.params.string("source") + "' and '" +
                              context.params.string("target") + "'";
        try {
            std::vector<std::string> names;
            for (const ReconcileCheck& check : checks_of(context.params))
                names.push_back(check.name);
            return std::to_string(names.size()) + (names.size() == 1 ? " check" : " checks") +
                   between + ": " + join(names, "; ");
        } catch (const std::exception&) {
            return "compare" + between;
        }
    }

    void preflight(kinds::StepContext& context) override {
        std::vector<ReconcileCheck> checks = checks_of(context.params);
        auto [source, target] = open(context);
        context.events.say(source->session().spec().describe() + " accepts connections: server " +
                           source->session().server_version());
        context.events.say(target->session().spec().describe() + " accepts connections: server " +
                           target->session().server_version());
        for (const ReconcileCheck& check : checks) {
            ResolvedCheck rc = named(check, [&] { return resolve(check, *source, *target); });
            context.events.say(
                "check '" + check.name + "': " + what_of(check) + " in table " + check.table +
                (check.target_table != check.table ? " (on the target: " + check.target_table + ")"
                                                   : "") +
                (rc.key.empty() ? "" : ", by key (" + join(rc.key, ", ") + ")") +
                (check.where.empty() ? "" : " where " + check.where) +
                (check.tolerance.kind == Tolerance::Kind::exact
                     ? ""
                     : ", tolerance " + check.tolerance.str()));
        }
    }

    void run(kinds::StepContext& context) override {
        std::vector<ReconcileCheck> checks = checks_of(context.params);
        auto [source, target] = open(context);
        on_both([&] { begin_snapshot(*source); }, [&] { begin_snapshot(*target); });
        std::vector<Difference> differences;
        nlohmann::ordered_json summaries = nlohmann::ordered_json::array();
        Totals totals;
        for (const ReconcileCheck& check : checks) {
            std::size_t before = differences.size();
            std::uint64_t rows_before = totals.rows;
            named(check, [&] {
                ResolvedCheck rc = resolve(check, *source, *target);
                run_check(context, rc, *source, *target, differences, totals);
                return 0;
            });
            summaries.push_back(summary(check, differences, before, totals.rows - rows_before));
            context.events.progress("check '" + check.name + "' done",
                                    {{"checks", summaries.size()},
                                     {"rows_compared", totals.rows},
                                     {"chunks", totals.chunks}});
        }
        finish(context, checks.size(), differences, summaries, totals);
    }

private:
    static std::vector<ReconcileCheck> checks_of(const kinds::Params& params) {
        try {
            return reconcile_checks(
                params.has("checks") ? params.raw()["checks"] : nlohmann::ordered_json(),
                params.string_list("tables"));
        } catch (const UsageError& e) {
            throw StepError(e.what(), false);
        }
    }

    static std::pair<std::unique_ptr<Side>, std::unique_ptr<Side>> open(
        kinds::StepContext& context) {
        // Settings are read here (they register the password with the redactor); only the
        // connects run at once.
        io::db::ConnectionSpec source_spec =
            kinds::connection_spec(context, context.params.string("source"));
        io::db::ConnectionSpec target_spec =
            kinds::connection_spec(context, context.params.string("target"));
        std::unique_ptr<Side> source;
        std::unique_ptr<Side> target;
        on_both(
            [&] {
                source = std::make_unique<Side>(
                    "source", context.services.database.connect(source_spec, context.cancel));
            },
            [&] {
                target = std::make_unique<Side>(
                    "target", context.services.database.connect(target_spec, context.cancel));
            });
        return {std::move(source), std::move(target)};
    }

    // One read-only snapshot per side, so every check sees the data of one moment, and the
    // session's time zone fixed so TIMESTAMP columns read alike on both.
    static void begin_snapshot(Side& side) {
        side.session().execute("SET SESSION time_zone = '+00:00'");
        side.session().execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        side.session().execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    }

    static void run_check(kinds::StepContext& context, const ResolvedCheck& rc, Side& source,
                          Side& target, std::vector<Difference>& differences, Totals& totals) {
        const ReconcileCheck& check = rc.check;
        if (check.kind == CheckKind::checksum)
            return run_checksum(context, rc, source, target, differences, totals);
        auto build = [&](const std::string& table) {
            std::vector<std::string> columns;
            for (const std::string& c : check.columns)
                columns.push_back(io::db::mysql_dialect().quote_identifier(c));
            if (check.kind == CheckKind::count)
                return "SELECT COUNT(*) FROM " + table + where_clause(check);
            if (check.kind == CheckKind::sum) {
                std::vector<std::string> sums;
                for (const std::string& c : columns) sums.push_back("SUM(" + c + ")");
                return "SELECT " + join(sums, ", ") + ", COUNT(*) FROM " + table +
                       where_clause(check);
            }
            return "SELECT " + join(columns, ", ") + ", COUNT(*) FROM " + table +
                   where_clause(check) + " GROUP BY " + join(columns, ", ");
        };
        Rows a;
        Rows b;
        on_both([&] { a = source.rows(build(Side::table_sql(check.table))); },
                [&] { b = target.rows(build(Side::table_sql(check.target_table))); });
        if (check.kind == CheckKind::count) {
            compare_numbers(check, "rows", a.at(0).at(0), b.at(0).at(0), differences);
            totals.rows += number_of(a.at(0).at(0));
        } else if (check.kind == CheckKind::sum) {
            for (std::size_t i = 0; i < check.columns.size(); ++i)
                compare_numbers(check, check.columns[i], a.at(0).at(i), b.at(0).at(i), differences);
            totals.rows += number_of(a.at(0).back());
        } else {
            GroupCounts groups_a;
            GroupCounts groups_b;
            for (Rows* rows : {&a, &b})
                for (auto& row : *rows) {
                    std::string count = row.back().value_or("0");
                    row.pop_back();
                    (rows == &a ? groups_a : groups_b)[row] = count;
                    if (rows == &a) totals.rows += number_of(count);
                }
            compare_groups(check, groups_a, groups_b, differences);
        }
    }

    static void run_checksum(kinds::StepContext& context, const ResolvedCheck& rc, Side& source,
                             Side& target, std::vector<Difference>& differences, Totals& totals) {
        ChecksumRun walk(context, rc, source, target);
        walk.run();
        std::size_t named_keys = 0;
        for (std::size_t i = 0; i < walk.ranges().size(); ++i) {
            const ChunkSum& a = walk.source_sums()[i];
            const ChunkSum& b = walk.target_sums()[i];
            totals.rows += a.rows;
            if (a == b) continue;
            Difference d{rc.check.name,
                         rc.check.table,
                         key_range_name(rc.key, walk.ranges()[i]),
                         std::to_string(a.rows) + " rows",
                         std::to_string(b.rows) + " rows",
                         "",
                         false,
                         {}};
            long long gap = static_cast<long long>(b.rows) - static_cast<long long>(a.rows);
            d.difference =
                gap != 0 ? (gap > 0 ? "+" : "") + std::to_string(gap) + " rows" : "contents";
            if (named_keys < rc.check.drill) {
                d.keys = walk.differing_keys(walk.ranges()[i], rc.check.drill - named_keys);
                named_keys += d.keys.size();
            }
            differences.push_back(std::move(d));
        }
        totals.chunks += walk.ranges().size();
    }

    static nlohmann::ordered_json summary(const ReconcileCheck& check,
                                          const std::vector<Difference>& differences,
                                          std::size_t from, std::uint64_t rows) {
        std::size_t mismatches = 0;
        std::size_t tolerated = 0;
        for (std::size_t i = from; i < differences.size(); ++i)
            (differences[i].tolerated ? tolerated : mismatches)++;
        std::string result = mismatches ? "differs" : tolerated ? "within tolerance" : "ok";
        return {{"check", check.name},
                {"table", check.table},
                {"result", result},
                {"differences", mismatches},
                {"tolerated", tolerated},
                {"rows", rows},
                {"tolerance", check.tolerance.str()}};
    }

    static void finish(kinds::StepContext& context, std::size_t check_count,
                       const std::vector<Difference>& differences,
                       const nlohmann::ordered_json& summaries, const Totals& totals) {
        std::size_t mismatches = 0;
        for (const Difference& d : differences) mismatches += d.tolerated ? 0 : 1;
        context.metrics["checks"] = check_count;
        context.metrics["differences"] = mismatches;
        context.metrics["rows_compared"] = totals.rows;
        context.metrics["chunks"] = totals.chunks;
        context.outputs["differences"] = std::to_string(mismatches);
        context.details["checks"] = summaries;
        nlohmann::ordered_json listed = nlohmann::ordered_json::array();
        for (std::size_t i = 0; i < differences.size() && i < k_journal_differences; ++i)
            listed.push_back(difference_json(differences[i]));
        context.details["differences"] = listed;
        if (differences.size() > k_journal_differences)
            context.details["differences_left_out"] = differences.size() - k_journal_differences;
        std::string verdict =
            std::to_string(check_count) + (check_count == 1 ? " check, " : " checks, ") +
            std::to_string(totals.rows) + " source rows compared: " +
            (mismatches == 0 ? "no difference"
                             : std::to_string(mismatches) +
                                   (mismatches == 1 ? " difference" : " differences")) +
            (differences.size() > mismatches
                 ? " (" + std::to_string(differences.size() - mismatches) + " within tolerance)"
                 : "");
        context.events.say(context.step.id + ": " + verdict);
        std::string table = differences.empty() ? "" : difference_table(differences);
        say_table(context, differences);
        if (context.params.has("report")) {
            nlohmann::ordered_json all = nlohmann::ordered_json::array();
            for (const Difference& d : differences) all.push_back(difference_json(d));
            write_report(context.params.string("report"), verdict, table, summaries, all);
        }
        if (mismatches > 0 && context.params.boolean("fail_on_mismatch")) {
            const Difference* first = nullptr;
            for (const Difference& d : differences)
                if (!d.tolerated && !first) first = &d;
            throw StepError(verdict + "; first: " + first->check + ", " + first->where +
                                ": source " + first->source + ", target " + first->target,
                            false);
        }
    }

    // The first differences on the terminal, a line each; the rest are in step.end and the report.
    static void say_table(kinds::StepContext& context, const std::vector<Difference>& differences) {
        if (differences.empty()) return;
        std::vector<Difference> shown(
            differences.begin(),
            differences.begin() +
                static_cast<std::ptrdiff_t>(std::min(differences.size(), k_terminal_differences)));
        std::string table = difference_table(shown);
        std::size_t start = 0;
        for (std::size_t end = table.find('\n'); end != std::string::npos;
             start = end + 1, end = table.find('\n', start))
            context.events.say(table.substr(start, end - start));
        if (differences.size() > shown.size())
            context.events.say("... and " + std::to_string(differences.size() - shown.size()) +
                               " more differences (all in step.end" +
                               (context.params.has("report") ? " and the report)" : ")"));
    }

    // The report: JSON when the name ends in .json, else the text table; written complete or
    // not at all.
    static void write_report(const std::string& path, const std::string& verdict,
                             const std::string& table, const nlohmann::ordered_json& summaries,
                             const nlohmann::ordered_json& differences) {
        bool json = path.size() > 5 && path.substr(path.size() - 5) == ".json";
        std::string text = json ? nlohmann::ordered_json{{"result", verdict},
                                                         {"checks", summaries},
                                                         {"differences", differences}}
                                          .dump(2) +
                                      "\n"
                                : verdict + "\n" + table;
        try {
            PartialFile file(path);
            file.write(text.data(), text.size());
            file.commit();
        } catch (const std::exception& e) {
            throw StepError("cannot write the report '" + path + "': " + e.what(), false);
        }
    }
};

void check_reconcile(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    const runbook::Node* checks = with.find("checks");
    if (!checks && !with.find("tables"))
        diagnostics.error(with.mark, "a reconcile step needs 'checks' or 'tables'");
    if (!checks) return;
    if (!checks->is_sequence())
        return diagnostics.error(checks->mark, "'checks' must be a list of mappings");
    const std::vector<std::string> what = {"count", "group_by", "sum", "checksum"};
    for (std::size_t i = 0; i < checks->items.size(); ++i) {
        const runbook::Node& item = checks->items[i];
        std::string label = "check " + std::to_string(i + 1);
        if (!item.is_mapping()) {
            diagnostics.error(item.mark, label + " must be a mapping with 'table' and one of: " +
                                             join(what, ", "));
            continue;
        }
        for (const auto& [key, value] : item.entries)
            if (std::find(reconcile_check_fields().begin(), reconcile_check_fields().end(),
                          key.value) == reconcile_check_fields().end())
                diagnostics.error(key.mark,
                                  label + ": unknown field '" + key.value + "'" +
                                      did_you_mean(key.value, reconcile_check_fields()) +
                                      " (fields: " + join(reconcile_check_fields(), ", ") + ")");
        if (!item.find("table")) diagnostics.error(item.mark, label + " needs 'table'");
        std::vector<const runbook::Node*> found;
        for (const std::string& name : what)
            if (const runbook::Node* node = item.find(name)) found.push_back(node);
        if (found.empty())
            diagnostics.error(item.mark, label + " needs one of: " + join(what, ", "));
        for (std::size_t j = 1; j < found.size(); ++j)
            diagnostics.error(found[j]->mark, label + " takes only one of: " + join(what, ", "));
        const runbook::Node* tolerance = item.find("tolerance");
        if (tolerance && tolerance->is_scalar() &&
            tolerance->value.find("${") == std::string::npos) {
            if (item.find("checksum"))
                diagnostics.error(
                    tolerance->mark,
                    label + ": 'tolerance' does not apply to a checksum (a hash matches or not)");
            try {
                Tolerance::parse(tolerance->value);
            } catch (const UsageError& e) {
                diagnostics.error(tolerance->mark, label + ": " + e.what());
            }
        }
        for (const std::string field : {"chunk", "drill"}) {
            const runbook::Node* node = item.find(field);
            if (!node || !node->is_scalar() || node->value.find("${") != std::string::npos)
                continue;
            bool number = !node->value.empty() && node->value.size() <= 12 &&
                          node->value.find_first_not_of("0123456789") == std::string::npos;
            if (!number || (field == "chunk" && std::stoll(node->value) < 1))
                diagnostics.error(node->mark, label + ": '" + field + "' must be a whole number" +
                                                  (field == "chunk" ? " of 1 or more" : ""));
        }
    }
}

}  // namespace

kinds::KindSpec reconcile_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "reconcile",
                .summary = "compare source and target: row counts, counts per group, sums, chunk "
                           "checksums over key ranges",
                .params =
                    {{"source", runbook::ParamType::connection, true, "",
                      "the reference database: a name under 'connections:'"},
                     {"target", runbook::ParamType::connection, true, "",
                      "the database checked against it"},
                     {"checks", runbook::ParamType::any, false, "",
                      "a list of {table, count: true | group_by: COLUMNS | sum: COLUMNS | "
                      "checksum: true, chunk, key, columns, "
                      "drill; where, tolerance, target_table, name}"},
                     {"tables", runbook::ParamType::string_list, false, "",
                      "tables whose row counts are compared (a count check each)"},
                     {"fail_on_mismatch", runbook::ParamType::boolean, false, "true",
                      "fail the step on a difference outside tolerance; false: report it and "
                      "succeed"},
                     {"report", runbook::ParamType::string, false, "",
                      "also write the differences to this file (JSON when it ends in .json)"}},
                .outputs = {"differences"},
                .check = check_reconcile,
            },
        .make = [] { return std::make_unique<ReconcileRunner>(); },
    };
}

}  // namespace migrate::steps::mysql
