// The reconcile kind: exact decimals, tolerances, checks read from `with`, key ranges (names
// and SQL), the table of differences, and a run against the fake connector.
#include <catch2/catch.hpp>

#include "fakes.h"
#include "migrate/steps/kinds.h"
#include "migrate/steps/mysql/reconcile_plan.h"
#include "migrate/util/decimal.h"
#include "migrate/util/error.h"

using namespace migrate;
using namespace migrate::steps::mysql;
using namespace migrate::test;
using Catch::Matchers::Contains;
using Strings = std::vector<std::string>;

namespace {

Decimal dec(const std::string& text) {
    auto value = Decimal::parse(text);
    REQUIRE(value);
    return *value;
}

std::vector<ReconcileCheck> parse_checks(const std::string& json, Strings tables = {}) {
    return reconcile_checks(nlohmann::ordered_json::parse(json), tables);
}

std::string parse_error(const std::string& json) {
    try {
        parse_checks(json);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

std::string condition(const Strings& key, const KeyRange& range) {
    return key_range_condition(
        key, range, [](const std::string& c) { return "`" + c + "`"; },
        [](std::size_t, const std::string& v) { return "'" + v + "'"; });
}

}  // namespace

TEST_CASE("decimal: exact sums and differences at any length", "[reconcile]") {
    CHECK(dec("12.50").str() == "12.50");
    CHECK(dec("-0.5").str() == "-0.5");
    CHECK(dec("+007").str() == "7");
    CHECK(dec("1.5e3").str() == "1500");
    CHECK(dec("2.5E-4").str() == "0.00025");
    CHECK(dec("-0.00").str() == "0.00");
    CHECK((dec("99999999999999999999999999999.99") + dec("0.01")).str() ==
          "100000000000000000000000000000.00");
    CHECK((dec("1234.50") - dec("1230.5")).str() == "4.00");
    CHECK((dec("10") - dec("12.25")).str() == "-2.25");
    CHECK((dec("-3") - dec("-5")).str() == "2");
    CHECK((dec("0.5") * dec("-200.10")).str() == "-100.050");
    CHECK(dec("2.50") == dec("2.5"));
    CHECK(compare(dec("-1"), dec("0.1")) < 0);
    CHECK(compare(dec("100.01"), dec("100.001")) > 0);
    CHECK_FALSE(Decimal::parse(""));
    CHECK_FALSE(Decimal::parse("12a"));
    CHECK_FALSE(Decimal::parse("."));
    CHECK_FALSE(Decimal::parse("1e"));
}

TEST_CASE("reconcile: tolerances, absolute and in percent", "[reconcile]") {
    CHECK(Tolerance::parse("0").kind == Tolerance::Kind::exact);
    CHECK(Tolerance::parse("5").str() == "5");
    CHECK(Tolerance::parse("0.5%").str() == "0.5%");
    CHECK(Tolerance::parse("2 %").kind == Tolerance::Kind::percent);
    CHECK_THROWS_WITH(Tolerance::parse("lots"),
                      "bad tolerance 'lots'; write an amount (5, 0.01) or a percentage (0.5%)");
    CHECK_THROWS(Tolerance::parse("-5"));
    CHECK_THROWS(Tolerance::parse("1e3"));
    CHECK_THROWS(Tolerance::parse("%"));

    Tolerance exact;
    CHECK(exact.allows(dec("10.00"), dec("10")));
    CHECK_FALSE(exact.allows(dec("10"), dec("10.01")));
    Tolerance five = Tolerance::parse("5");
    CHECK(five.allows(dec("100"), dec("95")));
    CHECK(five.allows(dec("100"), dec("105")));
    CHECK_FALSE(five.allows(dec("100"), dec("105.01")));
    Tolerance half = Tolerance::parse("0.5%");
    CHECK(half.allows(dec("1000"), dec("995")));
    CHECK_FALSE(half.allows(dec("1000"), dec("994.99")));
    CHECK(half.allows(dec("-1000"), dec("-1005")));  // of the source's magnitude
    CHECK_FALSE(half.allows(dec("0"), dec("1")));    // nothing is 0.5% of zero
}

TEST_CASE("reconcile: checks read from `with`, with names made from what they compare",
          "[reconcile]") {
    auto checks = parse_checks(R"([
        {"table": "docs", "count": "true"},
        {"table": "docs", "group_by": "type, year", "tolerance": "1%"},
        {"table": "accounts", "sum": ["balance", "credit"], "where": "active = 1", "target_table": "accounts_v2"},
        {"table": "docs", "checksum": "true", "chunk": "500", "key": "id", "columns": ["a", "b"], "drill": "3", "name": "docs hashed"}
    ])",
                               {"lines"});
    REQUIRE(checks.size() == 5);
    CHECK(checks[0].name == "count of lines");
    CHECK(checks[1].name == "count of docs");
    CHECK(checks[2].name == "docs by type, year");
    CHECK(checks[2].columns == Strings{"type", "year"});
    CHECK(checks[2].tolerance.str() == "1%");
    CHECK(checks[3].name == "sum of balance, credit in accounts");
    CHECK(checks[3].target_table == "accounts_v2");
    CHECK(checks[3].where == "active = 1");
    CHECK(checks[4].name == "docs hashed");
    CHECK(checks[4].kind == CheckKind::checksum);
    CHECK(checks[4].chunk == 500);
    CHECK(checks[4].drill == 3);
    CHECK(checks[4].key == Strings{"id"});
    CHECK(checks[0].target_table == "lines");
}

TEST_CASE("reconcile: a wrong check says which and what", "[reconcile]") {
    CHECK(parse_error(R"([{"table": "docs", "count": "true", "tolerence": "5"}])") ==
          "check 1 (table 'docs'): unknown field 'tolerence'; did you mean 'tolerance'? (fields: "
          "name, table, target_table, "
          "count, group_by, sum, checksum, chunk, key, columns, drill, where, tolerance)");
    CHECK(parse_error(R"([{"count": "true"}])") == "check 1: 'table' is missing");
    CHECK(parse_error(R"([{"table": "a", "count": "true"}, {"table": "b"}])") ==
          "check 2 (table 'b'): needs one of: count, group_by, sum, checksum");
    CHECK(parse_error(R"([{"table": "a", "count": "true", "sum": "x"}])") ==
          "check 1 (table 'a'): takes only one of: count, group_by, sum, checksum");
    CHECK(parse_error(R"([{"table": "a", "checksum": "true", "tolerance": "1"}])") ==
          "check 1 (table 'a'): 'tolerance' does not apply to a checksum (a hash matches or not); "
          "narrow it with 'where' instead");
    CHECK(parse_error(R"([{"table": "a", "checksum": "true", "chunk": "0"}])") ==
          "check 1 (table 'a'): 'chunk' must be 1 or more");
    CHECK(parse_error(R"([{"table": "a", "count": "true", "chunk": "10"}])") ==
          "check 1 (table 'a'): 'chunk' goes with 'checksum'");
    CHECK(parse_error(R"([{"table": "a", "group_by": " , "}])") ==
          "check 1 (table 'a'): 'group_by' names no column");
    CHECK(parse_error(R"(["docs"])") ==
          "check 1: expected a mapping with 'table' and one of: count, group_by, sum, checksum");
    CHECK(parse_error("null") == "nothing to compare: give 'checks' or 'tables'");
}

TEST_CASE("reconcile: key ranges are named by the source's keys inside them", "[reconcile]") {
    Strings id{"id"};
    KeyRange chunk{KeyBound{{"10000"}, false}, KeyBound{{"20000"}, true}, KeyValues{"10001"},
                   KeyValues{"20000"}};
    CHECK(key_range_name(id, chunk) == "id 10001..20000");
    CHECK(key_range_name(id, KeyRange{std::nullopt, KeyBound{{"1"}, false}, std::nullopt,
                                      std::nullopt}) == "id < 1");
    CHECK(key_range_name(id, KeyRange{KeyBound{{"50000"}, false}, std::nullopt, std::nullopt,
                                      std::nullopt}) == "id > 50000");
    CHECK(key_range_name(id, KeyRange{}) == "all rows");
    CHECK(key_range_name(id, KeyRange{KeyBound{{"6"}, false}, KeyBound{{"7"}, true}, KeyValues{"7"},
                                      KeyValues{"7"}}) == "id 7");
    Strings composite{"order_id", "line"};
    CHECK(
        key_range_name(composite, KeyRange{KeyBound{{"1", "1"}, true}, KeyBound{{"250", "3"}, true},
                                           KeyValues{"1", "1"}, KeyValues{"250", "3"}}) ==
        "(order_id, line) (1, 1)..(250, 3)");
    CHECK(key_name(composite, {"1500", "3"}) == "(order_id, line) (1500, 3)");
    CHECK(key_name(id, {"15000"}) == "id 15000");
}

TEST_CASE("reconcile: a key range as SQL, for one column and for a composite key", "[reconcile]") {
    KeyRange chunk{KeyBound{{"10000"}, false}, KeyBound{{"20000"}, true}, std::nullopt,
                   std::nullopt};
    CHECK(condition({"id"}, chunk) == "`id` > '10000' AND `id` <= '20000'");
    CHECK(condition({"id"}, KeyRange{}) == "1");
    CHECK(condition({"id"}, KeyRange{KeyBound{{"5"}, true}, std::nullopt, std::nullopt,
                                     std::nullopt}) == "`id` >= '5'");
    CHECK(condition({"a", "b"}, KeyRange{KeyBound{{"1", "5"}, false}, std::nullopt, std::nullopt,
                                         std::nullopt}) ==
          "(`a` >= '1' AND (`a` > '1' OR (`a` = '1' AND `b` > '5')))");
    CHECK(condition({"a", "b", "c"}, KeyRange{std::nullopt, KeyBound{{"1", "2", "3"}, true},
                                              std::nullopt, std::nullopt}) ==
          "(`a` <= '1' AND (`a` < '1' OR (`a` = '1' AND `b` < '2') OR (`a` = '1' AND `b` = '2' AND "
          "`c` <= '3')))");
}

TEST_CASE("reconcile: numbers and groups compared, each difference with both values",
          "[reconcile]") {
    ReconcileCheck check;
    check.name = "docs by type";
    check.table = "docs";
    check.columns = {"type"};
    std::vector<Difference> out;
    CHECK_FALSE(compare_numbers(check, "rows", std::string("10.0"), std::string("10"), out));
    CHECK(compare_numbers(check, "rows", std::string("1200"), std::string("1199"), out));
    CHECK(compare_numbers(check, "balance", std::nullopt, std::string("0.01"), out));
    REQUIRE(out.size() == 2);
    CHECK(out[0].difference == "-1");
    CHECK(out[1].source == "NULL");
    CHECK(out[1].difference == "+0.01");
    out.clear();
    GroupCounts source{
        {{std::string("invoice")}, "10"}, {{std::string("order")}, "5"}, {{std::nullopt}, "2"}};
    GroupCounts target{{{std::string("invoice")}, "10"},
                       {{std::string("order")}, "4"},
                       {{std::string("credit")}, "1"}};
    compare_groups(check, source, target, out);
    REQUIRE(out.size() == 3);
    CHECK(out[0].where == "type=NULL");
    CHECK(out[0].target == "0");
    CHECK(out[1].where == "type=credit");
    CHECK(out[1].source == "0");
    CHECK(out[2].where == "type=order");
    check.tolerance = Tolerance::parse("1");
    out.clear();
    compare_groups(check, source, target, out);
    CHECK(out[2].tolerated);
    CHECK_FALSE(out[0].tolerated);  // 2 -> 0
    CHECK(group_name({"type", "year"}, {std::string("x"), std::nullopt}) == "type=x, year=NULL");
}

TEST_CASE("reconcile: the table of differences", "[reconcile]") {
    std::vector<Difference> differences = {
        {"checksum of docs",
         "docs",
         "id 20001..30000",
         "10000 rows",
         "10000 rows",
         "contents",
         false,
         {"id 25000: differs"}},
        {"count of lines", "lines", "rows", "12000", "11999", "-1", true, {}}};
    CHECK(difference_table(differences) ==
          "check             table  where            source      target      difference\n"
          "checksum of docs  docs   id 20001..30000  10000 rows  10000 rows  contents\n"
          "    id 25000: differs\n"
          "count of lines    lines  rows             12000       11999       -1 (within "
          "tolerance)\n");
    CHECK(difference_json(differences[0])["keys"] ==
          nlohmann::ordered_json::array({"id 25000: differs"}));
    CHECK(difference_json(differences[1])["tolerated"] == true);
}

// ---- a run against the fake connector: counts and groups (the checksum walk is covered
// end to end against MariaDB, tests/e2e/reconcile.sh)

namespace {

FakeMysqlAnswer answer_rows(Strings columns,
                            std::vector<std::vector<std::optional<std::string>>> rows) {
    FakeMysqlAnswer answer;
    answer.columns = std::move(columns);
    answer.rows = std::move(rows);
    return answer;
}

void script_table(EngineHarness& h, const std::string& table, Strings columns) {
    std::vector<std::vector<std::optional<std::string>>> rows;
    for (const std::string& c : columns)
        rows.push_back(
            {c, std::string("int"), std::string(""), std::string("NO"), std::string("")});
    h.mysql.script(
        "SELECT COLUMN_NAME, DATA_TYPE, COALESCE(CHARACTER_SET_NAME, ''), IS_NULLABLE, EXTRA FROM "
        "information_schema.COLUMNS WHERE "
        "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '" +
            table + "' ORDER BY ORDINAL_POSITION",
        answer_rows({"c", "t", "s", "n", "e"}, rows));
}

std::string book(const std::string& extra) {
    return "version: 1\nname: rc\nconnections:\n"
           "  live: { type: mysql, host: 127.0.0.1, user: u, password: \"${secret:DB_PW}\", "
           "database: erp }\n"
           "  copy: { type: mysql, host: 127.0.0.2, user: u, password: \"${secret:DB_PW}\", "
           "database: erp }\n"
           "phases:\n  - id: main\n    steps:\n"
           "      - id: compare\n        kind: reconcile\n        with:\n"
           "          source: live\n          target: copy\n"
           "          checks:\n"
           "            - { table: docs, target_table: docs_copy, count: true, tolerance: 1 }\n"
           "            - { table: docs, target_table: docs_copy, group_by: kind }\n" +
           extra;
}

// The harness's kinds, and reconcile (kept out of the shared test table so the other data
// kinds' tests do not depend on it).
void add_reconcile(kinds::KindTable& table) {
    table.push_back(*kinds::find_kind(steps::builtin_kinds(), "reconcile"));
}

void script_databases(EngineHarness& h) {
    add_reconcile(h.kinds);
    h.secrets["DB_PW"] = "fake-pw-5521";
    h.mysql.script("SELECT DATABASE()", answer_rows({"d"}, {{std::string("erp")}}));
    script_table(h, "docs", {"id", "kind"});
    script_table(h, "docs_copy", {"id", "kind"});
    h.mysql.script("SELECT COUNT(*) FROM `docs`", answer_rows({"n"}, {{std::string("100")}}));
    h.mysql.script("SELECT COUNT(*) FROM `docs_copy`", answer_rows({"n"}, {{std::string("97")}}));
    h.mysql.script("SELECT `kind`, COUNT(*) FROM `docs` GROUP BY `kind`",
                   answer_rows({"kind", "n"}, {{std::string("invoice"), std::string("60")},
                                               {std::string("order"), std::string("40")}}));
    h.mysql.script("SELECT `kind`, COUNT(*) FROM `docs_copy` GROUP BY `kind`",
                   answer_rows({"kind", "n"}, {{std::string("invoice"), std::string("60")},
                                               {std::string("order"), std::string("37")}}));
}

}  // namespace

TEST_CASE("reconcile: differences fail the step, each in step.end", "[reconcile]") {
    EngineHarness h;
    script_databases(h);
    h.load(book(""));
    CHECK(h.run().status == "failed");
    journal::Record end = h.step_end("compare");
    CHECK(end.string("error") ==
          "2 checks, 200 source rows compared: 2 differences; first: count of docs, rows: source "
          "100, target 97");
    REQUIRE(end.data["differences"].size() == 2);
    CHECK(end.data["differences"][0]["check"] == "count of docs");
    CHECK(end.data["differences"][0]["difference"] == "-3");
    CHECK(end.data["differences"][1]["where"] == "kind=order");
    CHECK(end.data["differences"][1]["source"] == "40");
    CHECK(end.data["differences"][1]["target"] == "37");
    CHECK(end.data["checks"][0]["result"] == "differs");
    CHECK(end.data["metrics"]["differences"] == 2);
    CHECK(end.data["metrics"]["rows_compared"] == 200);
    CHECK(end.data["attempts"] == 1);  // a mismatch is not retried
    CHECK_THAT(h.console_text.str(), Contains("kind=order"));
    CHECK(h.mysql.open_sessions() == 0);
    // both sides read one snapshot
    Strings statements = h.mysql.statements();
    CHECK(std::count(statements.begin(), statements.end(),
                     "live: START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY") == 1);
    CHECK(std::count(statements.begin(), statements.end(),
                     "copy: START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY") == 1);
}

TEST_CASE("reconcile: fail_on_mismatch false records the differences and succeeds", "[reconcile]") {
    EngineHarness h;
    script_databases(h);
    h.load(book("          fail_on_mismatch: false\n"));
    REQUIRE(h.run().status == "ok");
    journal::Record end = h.step_end("compare");
    CHECK(end.data["outputs"]["differences"] == "2");
    CHECK(end.data["differences"].size() == 2);
}

TEST_CASE("reconcile: an unknown table names the check and the side", "[reconcile]") {
    EngineHarness h;
    script_databases(h);
    h.mysql.script(
        "SELECT TABLE_NAME, TABLE_TYPE, COALESCE(DATA_LENGTH, 0), COALESCE(TABLE_ROWS, 0) FROM "
        "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
        answer_rows({"t", "y", "l", "r"}, {{std::string("docs"), std::string("BASE TABLE"),
                                            std::string("0"), std::string("0")},
                                           {std::string("docs_copy"), std::string("BASE TABLE"),
                                            std::string("0"), std::string("0")}}));
    h.load(book("            - { table: doc, count: true }\n"));
    CHECK(h.run().status == "failed");
    CHECK(h.step_end("compare").string("error") ==
          "check 'count of doc': table 'doc' does not exist on the source (connection 'live' "
          "(127.0.0.1:3306)); did you mean 'docs'?");
}

TEST_CASE("reconcile: validate finds wrong checks at their lines", "[reconcile]") {
    ProbeWorld world{nullptr};
    kinds::KindTable table = test_kinds(world);
    add_reconcile(table);
    std::string yaml = book(
        "            - { table: docs, chunk: 0, checksum: true, tolerance: 2% }\n            - { "
        "table: docs, cnt: true }\n");
    Strings problems = runbook_problems(yaml, table);
    CHECK(
        problems ==
        Strings{"17:67: check 3: 'tolerance' does not apply to a checksum (a hash matches or not)",
                "17:37: check 3: 'chunk' must be a whole number of 1 or more",
                "18:30: check 4: unknown field 'cnt'; did you mean 'count'? (fields: name, table, "
                "target_table, count, "
                "group_by, sum, checksum, chunk, key, columns, drill, where, tolerance)",
                "18:15: check 4 needs one of: count, group_by, sum, checksum"});
}
