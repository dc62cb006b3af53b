// The delta kind's plan, apart from its I/O: which tables with which watermark and key, the
// keyset-paginated batch query, the upsert that writes a batch, the cursor a checkpoint
// keeps, and the JSON form of values (quarantine file, checkpoints).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/io/db/session.h"
#include "migrate/kinds/kind.h"

namespace migrate::steps::mysql::delta {

using Value = std::optional<std::string>;  // nullopt is SQL NULL
using Row = std::vector<Value>;

// One entry of `tables`, as the runbook gives it.
struct TableRequest {
    std::string name;                  // "orders" or "db.orders"
    std::string watermark;             // the column
    std::vector<std::string> key;      // empty: the primary key
    std::vector<std::string> columns;  // empty: every stored column
    std::string where;                 // extra condition on the source, raw SQL
    std::string since;
};

// `tables` (plain names need the `watermark` parameter), `watermark` and `since` from the
// step's parameters. Throws StepError (not retryable) naming what is wrong.
std::vector<TableRequest> table_requests(const kinds::Params& params);

// How a column's values are written as SQL literals.
enum class Literal { text, number, binary, bit };

// What a watermark's values are: a point in time (compared with >= since, so rows changed in
// the watermark's own second are copied again, harmlessly), or a number (an id: > since).
enum class WatermarkClass { time, number, other };

WatermarkClass watermark_class(const std::string& data_type);
Literal literal_of(const std::string& data_type);

// A table resolved against the source's and target's catalogues.
struct TablePlan {
    std::string name;           // as the runbook gives it
    std::string schema;         // on the source
    std::string target_schema;  // on the target: the same when the runbook names it, else the
                                // target connection's
    std::string table;
    std::vector<std::string> columns;  // copied, in this order; includes the key and the watermark
    std::vector<Literal> literals;     // per column
    std::size_t watermark = 0;         // index into columns
    std::vector<std::size_t> key;      // indexes into columns
    WatermarkClass watermark_class = WatermarkClass::other;
    std::string where;
    std::string since;
    bool watermark_is_key = false;  // the key is the watermark column alone (an increasing id)
};

// Where a table's copy stands: after the row (watermark, key...) last committed.
struct Cursor {
    bool started = false;
    Value watermark;
    std::vector<Value> key;
};

// `db`.`table` quoting.
std::string qualified_name(const TablePlan& plan);  // on the source
std::string target_name(const TablePlan& plan);

// Appends a value as a literal of its column's kind.
void append_literal(std::string& out, const Value& value, Literal literal,
                    io::db::Session& escaper);

// The rows after `cursor` (or from `since` when not started) up to `until` (inclusive; no
// bound when nullopt), ordered by watermark and key, at most `limit`.
std::string batch_query(const TablePlan& plan, const Cursor& cursor, const Value& until,
                        std::size_t limit, io::db::Session& escaper);

// The highest watermark the rows to copy have now (the step's upper bound) and their count.
std::string bound_query(const TablePlan& plan, io::db::Session& escaper, bool count);

// A multi-row INSERT of rows [first, last); with `upsert`, ON DUPLICATE KEY UPDATE of every
// copied column, else the target's rows are kept. Either way a row that meets a target row
// with another key on a unique index fails (error 1048 on a key column) rather than merging.
std::string upsert_statement(const TablePlan& plan, const std::vector<Row>& rows, std::size_t first,
                             std::size_t last, bool upsert, io::db::Session& escaper);

// The cursor after `row`.
Cursor cursor_after(const TablePlan& plan, const Row& row);

// Where a table's copy stands, and the step's: what a checkpoint holds.
struct TableState {
    bool bounded = false;  // `until` is fixed
    Value until;  // the highest watermark at the start: rows changed later are the next delta's
    Cursor cursor;
    bool done = false;
    std::uint64_t rows = 0;
    std::uint64_t quarantined = 0;
};

struct CopyState {
    std::vector<TableState> tables;  // one per plan
    std::uint64_t rows = 0;
    std::uint64_t batches = 0;
    std::uint64_t quarantined = 0;
    std::optional<std::int64_t> lag_ms;
    bool lag_measured = false;
};

// The checkpoint of `state`, and back. An entry is found by table name and `since`: a table
// whose `since` changed starts again. Throws StepError on a checkpoint that does not fit.
nlohmann::ordered_json state_json(const std::vector<TablePlan>& plans, const CopyState& state);
const nlohmann::ordered_json* checkpoint_entry(const nlohmann::ordered_json& checkpoint,
                                               const TablePlan& plan);
TableState table_state_of(const nlohmann::ordered_json& entry, const TablePlan& plan);

// Values in JSON: a string when it is valid UTF-8 and not binary, else {"hex": "..."}.
nlohmann::ordered_json value_json(const Value& value, bool binary);
Value value_from_json(const nlohmann::ordered_json& json);

// Errors of the target that are about the rows (a constraint, a value that does not fit):
// such a batch is bisected and its refused rows go to quarantine. Others stop the step.
bool error_is_about_rows(unsigned code);

}  // namespace migrate::steps::mysql::delta
