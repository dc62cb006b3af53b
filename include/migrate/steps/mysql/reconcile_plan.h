// What a reconcile step compares and how its findings read: the checks from `with`, the
// tolerance of each, key ranges of chunk checksums with their names and SQL predicates, and
// the differences found, as a table and as JSON. No database here: src/steps/reconcile.cpp
// runs the queries.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/util/decimal.h"

namespace migrate::steps::mysql {

// How far a target value may be from the source's and still pass: exactly equal (default),
// an absolute amount ("5", "0.01") or a percentage of the source's value ("0.5%").
struct Tolerance {
    enum class Kind { exact, absolute, percent };
    Kind kind = Kind::exact;
    Decimal amount;

    // Throws UsageError saying what is wrong with `text`.
    static Tolerance parse(const std::string& text);
    bool allows(const Decimal& source, const Decimal& target) const;
    std::string str() const;  // "exact", "5", "0.5%"
};

enum class CheckKind { count, group_by, sum, checksum };

struct ReconcileCheck {
    std::string name;  // given, or made from what it compares: "tickets by status"
    CheckKind kind = CheckKind::count;
    std::string table;
    std::string target_table;  // the same name unless `target_table` says otherwise
    // group_by: the grouping columns; sum: the summed columns; checksum: the columns hashed
    // (empty: every column of the source table).
    std::vector<std::string> columns;
    std::vector<std::string> key;  // checksum: the key walked in chunks (empty: the primary key)
    std::int64_t chunk = 10000;    // checksum: rows per chunk
    std::size_t drill = 10;        // checksum: at most this many differing keys named
    std::string where;             // a condition on both sides
    Tolerance tolerance;
};

// The fields a check may have, for the validator's "did you mean".
const std::vector<std::string>& reconcile_check_fields();

// The checks of `checks` (a list of mappings) and of `tables` (a row count each). Throws
// UsageError naming the check ("check 2 (table 'x')": ...).
std::vector<ReconcileCheck> reconcile_checks(const nlohmann::ordered_json& checks,
                                             const std::vector<std::string>& tables);

// One key's values in key order, as the server printed them.
using KeyValues = std::vector<std::string>;

struct KeyBound {
    KeyValues values;
    bool inclusive = false;
};

// A range of the key: the rows `lower < key <= upper` (each bound inclusive or not, either
// absent), named by the source's first and last keys inside it.
struct KeyRange {
    std::optional<KeyBound> lower;
    std::optional<KeyBound> upper;
    std::optional<KeyValues> first;
    std::optional<KeyValues> last;
};

// "id 10001..20000", "id 7", "(order_id, line) (1, 1)..(250, 3)", "id < 1", "id > 50000",
// "all rows".
std::string key_range_name(const std::vector<std::string>& key, const KeyRange& range);
// "id 15000", "(order_id, line) (1, 3)".
std::string key_name(const std::vector<std::string>& key, const KeyValues& values);

// The SQL condition selecting `range` ("1" for all rows). `column` quotes a key column and
// `literal` writes the i-th key column's value as SQL. A composite key's bound expands to
// `(a > 1 OR (a = 1 AND b > 5))`, led by `a >= 1` so the range optimizer uses the index.
std::string key_range_condition(
    const std::vector<std::string>& key, const KeyRange& range,
    const std::function<std::string(const std::string&)>& column,
    const std::function<std::string(std::size_t, const std::string&)>& literal);

// One difference found.
struct Difference {
    std::string check;
    std::string table;
    std::string where;   // the group ("status=open"), the column summed, the key range, "rows"
    std::string source;  // the source's value ("1200", "10000 rows")
    std::string target;
    std::string difference;         // target minus source ("-1"), or what differs ("contents")
    bool tolerated = false;         // within the check's tolerance: reported, not a mismatch
    std::vector<std::string> keys;  // checksum: keys found to differ ("id 15000: differs")
};

// Appends a difference when `source` and `target` (numbers as the server printed them; NULL
// reads as 0) differ; marks it tolerated when within the check's tolerance. Returns true
// when they differ at all.
bool compare_numbers(const ReconcileCheck& check, const std::string& where,
                     const std::optional<std::string>& source,
                     const std::optional<std::string>& target, std::vector<Difference>& out);

// Group values (NULL as nullopt) -> row count.
using GroupCounts = std::map<std::vector<std::optional<std::string>>, std::string>;
// Compares every group found on either side; a group absent on one side counts 0 there.
void compare_groups(const ReconcileCheck& check, const GroupCounts& source,
                    const GroupCounts& target, std::vector<Difference>& out);
// "status=open", "status=NULL", "status=open, year=2024"
std::string group_name(const std::vector<std::string>& columns,
                       const std::vector<std::optional<std::string>>& values);

// The differences as the text table printed on the terminal and written to a report file:
// a header, one line per difference, the keys named under it.
std::string difference_table(const std::vector<Difference>& differences);
nlohmann::ordered_json difference_json(const Difference& difference);

}  // namespace migrate::steps::mysql
