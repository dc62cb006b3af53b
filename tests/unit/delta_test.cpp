// The delta kind's plan without a server: table entries from the parameters, the keyset
// batch query, the upsert with its unique-key guard, literals, values in JSON.
#include <catch2/catch.hpp>

#include "fakes.h"
#include "migrate/io/db/dialect.h"
#include "migrate/steps/mysql/delta_plan.h"
#include "migrate/util/error.h"

using namespace migrate;
using namespace migrate::steps::mysql::delta;
using Catch::Matchers::Contains;
using Json = nlohmann::ordered_json;

namespace {

struct Escaper {
    test::FakeMysqlConnector connector;
    CancelToken cancel;
    std::unique_ptr<io::db::Session> session;
    Escaper() {
        io::db::ConnectionSpec spec;
        spec.name = "fake";
        spec.host = "127.0.0.1";
        session = connector.connect(spec, cancel);
    }
};

// orders (id, kind, data BLOB, updated_at), key id, watermark updated_at.
TablePlan orders_plan() {
    TablePlan plan;
    plan.name = "orders";
    plan.schema = "src";
    plan.target_schema = "dst";
    plan.table = "orders";
    plan.columns = {"id", "kind", "data", "updated_at"};
    plan.literals = {Literal::number, Literal::text, Literal::binary, Literal::text};
    plan.key = {0};
    plan.watermark = 3;
    plan.watermark_class = WatermarkClass::time;
    plan.since = "2026-01-15 00:00:00";
    return plan;
}

std::vector<TableRequest> requests_of(const Json& with) {
    static const std::vector<runbook::ParamSpec> k_specs = {
        {"batch", runbook::ParamType::integer, false, "1000", ""}};
    kinds::Params params(with, &k_specs);
    return table_requests(params);
}

}  // namespace

TEST_CASE("delta: table entries as names and mappings, with the step's defaults") {
    auto requests =
        requests_of(Json{{"since", "2026-01-01"},
                         {"watermark", "changed"},
                         {"tables", Json::array({"orders", Json{{"table", "crm.leads"},
                                                                {"watermark", "id"},
                                                                {"since", "100"},
                                                                {"key", "id"},
                                                                {"where", "deleted = 0"}}})}});
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].name == "orders");
    CHECK(requests[0].watermark == "changed");
    CHECK(requests[0].since == "2026-01-01");
    CHECK(requests[1].name == "crm.leads");
    CHECK(requests[1].watermark == "id");
    CHECK(requests[1].since == "100");
    CHECK(requests[1].key == std::vector<std::string>{"id"});
    CHECK(requests[1].where == "deleted = 0");
}

TEST_CASE("delta: bad table entries are named") {
    CHECK_THROWS_WITH(requests_of(Json{{"since", "1"}, {"tables", Json::array({"orders"})}}),
                      Contains("table 'orders' has no watermark column"));
    CHECK_THROWS_WITH(requests_of(Json{{"watermark", "id"}, {"tables", Json::array({"orders"})}}),
                      Contains("table 'orders' has no 'since'"));
    CHECK_THROWS_WITH(
        requests_of(Json{
            {"since", "1"},
            {"tables", Json::array({Json{{"table", "t"}, {"watermark", "id"}, {"keys", "id"}}})}}),
        Contains("tables[1]: unknown field 'keys'; did you mean 'key'?"));
    CHECK_THROWS_WITH(
        requests_of(Json{{"since", "1"}, {"watermark", "id"}, {"tables", Json::array({"t", "t"})}}),
        Contains("table 't' is listed twice"));
    CHECK_THROWS_WITH(
        requests_of(Json{{"since", "1"}, {"watermark", "id"}, {"tables", Json::array()}}),
        Contains("'tables' lists no table"));
}

TEST_CASE("delta: the first batch starts at since: >= for a time, > for an id") {
    Escaper e;
    TablePlan plan = orders_plan();
    CHECK(batch_query(plan, Cursor{}, std::string("2026-02-01 12:00:00"), 1000, *e.session) ==
          "SELECT `id`, `kind`, `data`, `updated_at` FROM `src`.`orders` WHERE `updated_at` >= "
          "'2026-01-15 00:00:00'"
          " AND `updated_at` <= '2026-02-01 12:00:00' ORDER BY `updated_at`, `id` LIMIT 1000");
    plan.watermark_class = WatermarkClass::number;
    plan.watermark = 0;
    plan.literals[0] = Literal::number;
    plan.watermark_is_key = true;
    plan.since = "100";
    plan.where = "deleted = 0";
    CHECK(batch_query(plan, Cursor{}, std::nullopt, 10, *e.session) ==
          "SELECT `id`, `kind`, `data`, `updated_at` FROM `src`.`orders` WHERE `id` > 100 AND "
          "(deleted = 0) ORDER BY `id` LIMIT 10");
}

TEST_CASE("delta: later batches continue after the last (watermark, key), composite keys too") {
    Escaper e;
    TablePlan plan = orders_plan();
    Cursor cursor = cursor_after(plan, Row{std::string("42"), std::string("x"), std::nullopt,
                                           std::string("2026-02-01 00:00:05")});
    CHECK(
        batch_query(plan, cursor, std::string("2026-03-01"), 500, *e.session) ==
        "SELECT `id`, `kind`, `data`, `updated_at` FROM `src`.`orders` WHERE (`updated_at` > "
        "'2026-02-01 00:00:05' OR "
        "(`updated_at` = '2026-02-01 00:00:05' AND (`id` > 42))) AND `updated_at` <= '2026-03-01' "
        "ORDER BY `updated_at`, `id` LIMIT 500");
    plan.key = {0, 1};
    cursor = cursor_after(
        plan, Row{std::string("42"), std::string("it's"), std::nullopt, std::string("2026-02-01")});
    CHECK_THAT(
        batch_query(plan, cursor, std::nullopt, 500, *e.session),
        Contains(
            "(`updated_at` = '2026-02-01' AND (`id` > 42 OR (`id` = 42 AND (`kind` > 'it\\'s'))))) "
            "ORDER BY `updated_at`, `id`, `kind` LIMIT 500"));
}

TEST_CASE("delta: the upsert writes every column and guards the unique keys") {
    Escaper e;
    TablePlan plan = orders_plan();
    std::vector<Row> rows = {
        {std::string("1"), std::string("a'b"), std::string("\x00\xff", 2),
         std::string("2026-02-01")},
        {std::string("2"), std::nullopt, std::nullopt, std::string("2026-02-02")}};
    std::string sql = upsert_statement(plan, rows, 0, 2, true, *e.session);
    std::string expected =
        "INSERT INTO `dst`.`orders` (`id`, `kind`, `data`, `updated_at`) VALUES "
        "(1,'a\\'b',_binary'" +
        std::string("\x00\xff", 2) +
        "','2026-02-01'),(2,NULL,NULL,'2026-02-02') ON DUPLICATE KEY UPDATE "
        "`id` = IF(`id` <=> VALUES(`id`), `id`, NULL), `kind` = VALUES(`kind`), `data` = "
        "VALUES(`data`), "
        "`updated_at` = VALUES(`updated_at`)";
    CHECK(sql == expected);
    CHECK_THAT(upsert_statement(plan, rows, 1, 2, false, *e.session),
               Contains("VALUES (2,NULL,NULL,'2026-02-02') ON DUPLICATE KEY UPDATE `id` = IF(`id` "
                        "<=> VALUES(`id`), `id`, NULL)"));
    CHECK_THAT(upsert_statement(plan, rows, 1, 2, false, *e.session), !Contains("`kind` = VALUES"));
}

TEST_CASE("delta: literals by column type") {
    Escaper e;
    std::string out;
    append_literal(out, std::string("-12.50"), Literal::number, *e.session);
    out += ' ';
    append_literal(out, std::string("1; DROP"), Literal::number,
                   *e.session);  // never expected from a server: quoted
    out += ' ';
    append_literal(out, std::string("\x05", 1), Literal::bit, *e.session);
    out += ' ';
    append_literal(out, std::nullopt, Literal::text, *e.session);
    CHECK(out == "-12.50 '1; DROP' 0x05 NULL");
    CHECK(literal_of("varbinary") == Literal::binary);
    CHECK(literal_of("bigint") == Literal::number);
    CHECK(literal_of("json") == Literal::text);
    CHECK(watermark_class("timestamp") == WatermarkClass::time);
    CHECK(watermark_class("int") == WatermarkClass::number);
    CHECK(watermark_class("varchar") == WatermarkClass::other);
    CHECK(io::db::mysql_dialect().quote_identifier("we`ird") == "`we``ird`");
}

TEST_CASE("delta: values in JSON round-trip, bytes as hex") {
    for (const Value& value :
         {Value{}, Value{std::string("Zürich ☃")}, Value{std::string("\xff\x00\x01", 3)}}) {
        Json json = value_json(value, false);
        CHECK(value_from_json(json) == value);
    }
    CHECK(value_json(std::string("\xff", 1), false) == Json{{"hex", "ff"}});
    CHECK(value_json(std::string("ab"), true) == Json{{"hex", "6162"}});
    CHECK(value_json(std::string("ab"), false) == "ab");
}

TEST_CASE("delta: which errors are about the rows") {
    CHECK(error_is_about_rows(1452));        // foreign key
    CHECK(error_is_about_rows(1406));        // data too long
    CHECK(error_is_about_rows(4025));        // CHECK constraint
    CHECK(error_is_about_rows(1048));        // the unique-key guard
    CHECK_FALSE(error_is_about_rows(1146));  // no such table: not the rows' fault
    CHECK_FALSE(error_is_about_rows(2013));  // lost connection: retried, not quarantined
}

TEST_CASE(
    "delta: a checkpoint round-trips the cursor, the bound and the counts; a changed since starts "
    "again") {
    TablePlan plan = orders_plan();
    plan.key = {0, 2};  // id and a binary column
    CopyState state;
    state.tables.resize(1);
    TableState& table = state.tables[0];
    table.bounded = true;
    table.until = std::string("2026-02-01 12:00:00");
    table.cursor = cursor_after(plan, Row{std::string("42"), std::string("x"),
                                          std::string("\x00\xfe", 2), std::string("2026-02-01")});
    table.rows = 3000;
    table.quarantined = 2;
    state.rows = 3000;
    state.batches = 3;
    state.lag_ms = 123;
    Json checkpoint = state_json({plan}, state);
    CHECK(checkpoint["tables"][0]["after"]["key"][1] == Json{{"hex", "00fe"}});
    CHECK(checkpoint["watermark_lag_ms"] == 123);
    const Json* entry = checkpoint_entry(checkpoint, plan);
    REQUIRE(entry != nullptr);
    TableState back = table_state_of(*entry, plan);
    CHECK(back.bounded);
    CHECK(back.until == table.until);
    CHECK(back.cursor.started);
    CHECK(back.cursor.watermark == table.cursor.watermark);
    CHECK(back.cursor.key == table.cursor.key);
    CHECK(back.rows == 3000);
    CHECK(back.quarantined == 2);
    CHECK_FALSE(back.done);
    plan.since = "2026-01-20 00:00:00";
    CHECK(checkpoint_entry(checkpoint, plan) == nullptr);
}
