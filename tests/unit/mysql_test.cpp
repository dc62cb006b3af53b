// Database connections and the kinds that use them, against the fake connector: the
// `connections:` checks, connection settings at run time, the sql kind, and wait on sql.
#include <catch2/catch.hpp>

#include "fakes.h"
#include "migrate/io/db/mysql/mariadb.h"
#include "migrate/kinds/connections.h"
#include "migrate/runbook/connection_rules.h"
#include "migrate/util/error.h"
#include "migrate/util/redactor.h"

using namespace migrate;
using namespace migrate::test;
using Catch::Matchers::Contains;

namespace {

const kinds::KindTable& test_table() {
    static ProbeWorld world{nullptr};
    static const kinds::KindTable table = test_kinds(world);
    return table;
}

// Lines 1-6; `connections` follow from line 7, then `phases`.
std::string runbook_with(const std::string& connections, const std::string& steps) {
    return "version: 1\n"
           "name: db\n"
           "roles:\n"
           "  customer: Customer administrator\n"
           "vars: { db_host: 127.0.0.1 }\n"
           "connections:\n" +
           connections +
           "phases:\n"
           "  - id: main\n"
           "    steps:\n" +
           steps;
}

const std::string k_source =
    "  source: { type: mysql, host: \"${db_host}\", port: 3306, user: migrate, password: "
    "\"${secret:DB_PW}\", database: crm }\n";

std::vector<std::string> problems(const std::string& connections, const std::string& steps) {
    return runbook_problems(runbook_with(connections, steps), test_table());
}

const std::string k_noop_step = "      - { id: a, kind: probe }\n";

FakeMysqlAnswer rows_answer(std::vector<std::string> columns,
                            std::vector<std::vector<std::optional<std::string>>> rows) {
    FakeMysqlAnswer answer;
    answer.columns = std::move(columns);
    answer.rows = std::move(rows);
    return answer;
}

FakeMysqlAnswer changed(std::uint64_t rows) {
    FakeMysqlAnswer answer;
    answer.affected = rows;
    return answer;
}

FakeMysqlAnswer failure(unsigned code, const std::string& message) {
    FakeMysqlAnswer answer;
    answer.error = code;
    answer.message = message;
    return answer;
}

using Strings = std::vector<std::string>;

// What a run resolves before the engine starts: the runbook's vars, the secret.
void prepare(EngineHarness& h, const std::string& password = "pw") {
    h.variables["db_host"] = "127.0.0.1";
    h.secrets["DB_PW"] = password;
}

}  // namespace

// ---- connections: in the runbook ----

TEST_CASE("connections: a good connection passes", "[connections]") {
    CHECK(problems(k_source, k_noop_step).empty());
    CHECK(problems("  local: { type: mysql, socket: /run/mysqld/mysqld.sock, user: root, tls: { "
                   "ca_file: /etc/ca.pem, verify: false } }\n",
                   k_noop_step)
              .empty());
}

TEST_CASE("connections: each mistake at its line and column", "[connections]") {
    CHECK(
        problems("  source: { type: mysql, host: db, pasword: x }\n", k_noop_step) ==
        Strings{"7:36: unknown field 'pasword' in connection 'source'; did you mean 'password'?"});
    CHECK(problems("  source: { host: db }\n", k_noop_step) ==
          Strings{"7:11: connection 'source' has no 'type' (one of: mysql)"});
    CHECK(problems("  source: { type: postgres, host: db }\n", k_noop_step) ==
          Strings{"7:19: unknown connection type 'postgres' (one of: mysql)"});
    CHECK(problems("  source: { type: mysql, host: db, port: 33o6 }\n", k_noop_step) ==
          Strings{"7:42: 'port' of connection 'source' must be a whole number from 1 to 65535, not "
                  "'33o6'"});
    CHECK(problems("  source: { type: mysql, host: db, port: 70000 }\n", k_noop_step) ==
          Strings{"7:42: 'port' of connection 'source' must be a whole number from 1 to 65535, not "
                  "'70000'"});
    CHECK(problems("  source: { type: mysql, user: x }\n", k_noop_step) ==
          Strings{"7:11: connection 'source' needs 'host' (TCP) or 'socket' (a Unix socket)"});
    CHECK(
        problems("  source: { type: mysql, host: db, socket: /s }\n", k_noop_step) ==
        Strings{
            "7:44: connection 'source': give 'host' (TCP) or 'socket' (a Unix socket), not both"});
    CHECK(problems("  source: { type: mysql, host: db, tls: { ca_fil: /ca.pem } }\n",
                   k_noop_step) == Strings{"7:43: unknown field 'ca_fil' in 'tls' of connection "
                                           "'source'; did you mean 'ca_file'?"});
    CHECK(problems("  source: { type: mysql, host: db, read_timeout: soon }\n", k_noop_step) ==
          Strings{"7:50: bad duration 'soon' for 'read_timeout' of connection 'source'; write it "
                  "like 90s, 15m, 2h or 1h30m"});
    CHECK(problems("  Source: { type: mysql, host: db }\n", k_noop_step) ==
          Strings{"7:3: connection name 'Source' must match [a-z0-9][a-z0-9_-]*"});
}

TEST_CASE("connections: a password written in the runbook is a warning", "[connections]") {
    CHECK(problems("  source: { type: mysql, host: db, password: hunter2 }\n", k_noop_step) ==
          Strings{"7:46: warning: the password of connection 'source' is written in the runbook; "
                  "use \"${secret:NAME}\" so "
                  "it stays out of the file"});
}

TEST_CASE("connections: a step's connection must be declared", "[connections]") {
    CHECK(
        problems(
            k_source,
            "      - { id: a, kind: sql, with: { connection: sorce, statements: SELECT 1 } }\n") ==
        Strings{"11:49: unknown connection 'sorce'; did you mean 'source'? (declared: source)"});
    std::string no_connections =
        "version: 1\nname: db\nphases:\n  - id: main\n    steps:\n"
        "      - { id: a, kind: sql, with: { connection: source, statements: SELECT 1 } }\n";
    CHECK(runbook_problems(no_connections, test_table()) ==
          Strings{"6:49: unknown connection 'source' (no connections are declared; add it under "
                  "'connections:')"});
    CHECK(
        problems(k_source, "      - { id: a, kind: sql, with: { statements: SELECT 1 } }\n") ==
        Strings{
            "11:29: step 'a' of kind 'sql' needs 'with.connection' (a name under 'connections:')"});
}

TEST_CASE("connections: sql statements are checked when they are literal", "[connections][sql]") {
    CHECK(problems(k_source,
                   "      - { id: a, kind: sql, with: { connection: source, statements: \"SELECT "
                   "'x\" } }\n") ==
          Strings{"11:69: 'statements': a ' quote opened on line 1 of the text is never closed"});
    CHECK(problems(k_source,
                   "      - { id: a, kind: sql, with: { connection: source, statements: \"-- "
                   "nothing\" } }\n") ==
          Strings{"11:69: 'statements' holds no statement (only whitespace and comments)"});
    CHECK(problems(k_source,
                   "      - { id: a, kind: sql, with: { connection: source, statements: [\"SELECT "
                   "1\", \"${x}\"] } }\n")
              .size() == 1);  // only the undefined variable
}

TEST_CASE("connections: wait on sql needs a connection, and a connection needs sql",
          "[connections][wait]") {
    CHECK(problems(k_source,
                   "      - { id: w, kind: wait, timeout: 1m, with: { sql: SELECT 1 } }\n") ==
          Strings{"11:56: a wait on 'sql' needs 'connection' (a name under 'connections:')"});
    CHECK(problems(k_source,
                   "      - { id: w, kind: wait, timeout: 1m, with: { file: /x, connection: source "
                   "} }\n") ==
          Strings{"11:73: 'connection' goes with 'sql'; this wait has no query"});
    CHECK(problems(k_source,
                   "      - { id: w, kind: wait, timeout: 1m, with: { sql: SELECT 1, connection: "
                   "source, until: exists } }\n") ==
          Strings{"11:93: 'until: exists' does not fit this condition (one of: empty, row)"});
}

// ---- connection settings at run time ----

TEST_CASE("connections: settings from the interpolated fields", "[connections]") {
    Json fields{{"type", "mysql"},
                {"host", "db.internal"},
                {"port", "3307"},
                {"user", "migrate"},
                {"password", "s3cret-pw-771"},
                {"database", "crm"},
                {"tls", {{"ca_file", "/ca.pem"}}},
                {"read_timeout", "2h"}};
    io::db::ConnectionSpec spec = kinds::mysql_connection_spec("source", fields);
    CHECK(spec.host == "db.internal");
    CHECK(spec.port == 3307);
    CHECK(spec.tls.enabled);
    CHECK(spec.tls.verify);
    CHECK(spec.tls.ca_file == "/ca.pem");
    CHECK(spec.read_timeout == std::chrono::hours(2));
    CHECK(spec.describe() == "connection 'source' (db.internal:3307)");
    CHECK(Redactor::global().redact("pw s3cret-pw-771") == "pw ***");
    fields["port"] = "db";
    CHECK_THROWS_WITH(
        kinds::mysql_connection_spec("source", fields),
        "connection 'source', 'port': must be a whole number from 1 to 65535, not 'db'");
    Json socket{{"type", "mysql"}, {"socket", "/run/mysqld/mysqld.sock"}};
    CHECK(kinds::mysql_connection_spec("local", socket).describe() ==
          "connection 'local' (socket /run/mysqld/mysqld.sock)");
}

TEST_CASE("connections: which errors are worth another attempt", "[connections]") {
    for (unsigned code : {2002u, 2003u, 2006u, 2013u, 1205u, 1213u, 1053u})
        CHECK(io::db::mysql::error_is_transient(code));
    for (unsigned code : {1045u, 1049u, 1064u, 1146u, 1062u, 0u})
        CHECK_FALSE(io::db::mysql::error_is_transient(code));
}

// ---- the sql kind ----

TEST_CASE("sql: statements run in order; rows changed summed; outputs from the last result",
          "[sql]") {
    EngineHarness h;
    prepare(h, "fake-db-pw-1234");
    h.mysql.script("UPDATE accounts SET plan = 'pro' WHERE plan = 'gold'", changed(3));
    h.mysql.script("DELETE FROM sessions", changed(40));
    h.mysql.script("SELECT COUNT(*) AS n, MAX(id) AS top FROM accounts",
                   rows_answer({"n", "top"}, {{"12", std::nullopt}}));
    h.load(runbook_with(k_source, R"(
      - id: fix
        kind: sql
        with:
          connection: source
          statements: |
            UPDATE accounts SET plan = 'pro' WHERE plan = 'gold';
            -- the old sessions go
            DELETE FROM sessions;
            SELECT COUNT(*) AS n, MAX(id) AS top FROM accounts
          outputs: { accounts: n, top_id: top }
)"));
    REQUIRE(h.run().status == "ok");
    CHECK(h.mysql.statements() ==
          Strings{"source: UPDATE accounts SET plan = 'pro' WHERE plan = 'gold'",
                  "source: DELETE FROM sessions",
                  "source: SELECT COUNT(*) AS n, MAX(id) AS top FROM accounts"});
    journal::Record end = h.step_end("fix");
    CHECK(end.data["metrics"]["rows"] == 43);
    CHECK(end.data["outputs"]["rows"] == "43");
    CHECK(end.data["outputs"]["accounts"] == "12");
    CHECK(end.data["outputs"]["top_id"] == "");
    REQUIRE(h.mysql.connects().size() == 1);
    CHECK(h.mysql.connects()[0].host == "127.0.0.1");
    CHECK(h.mysql.connects()[0].password == "fake-db-pw-1234");
    CHECK(h.mysql.open_sessions() == 0);
    CHECK_THAT(read_file(h.journal_path.str()), !Contains("fake-db-pw-1234"));
}

TEST_CASE("sql: a failing statement is named by number and first line", "[sql]") {
    EngineHarness h;
    prepare(h);
    h.mysql.script("UPDATE missing SET x = 1", failure(1146, "Table 'crm.missing' doesn't exist"));
    h.load(runbook_with(k_source, R"(
      - id: fix
        kind: sql
        retry: { attempts: 3, backoff: 1s }
        with: { connection: source, statements: ["SELECT 1", "UPDATE missing SET x = 1", "SELECT 3"] }
)"));
    CHECK(h.run().status == "failed");
    journal::Record end = h.step_end("fix");
    CHECK(end.string("error") ==
          "statement 2 of 3 (UPDATE missing SET x = 1): connection 'source' (127.0.0.1:3306): "
          "Table 'crm.missing' doesn't exist (error 1146)");
    CHECK(end.data["attempts"] == 1);  // not retryable
    CHECK(h.mysql.statements().size() == 2);
}

TEST_CASE("sql: in a transaction, a failure rolls back", "[sql]") {
    EngineHarness h;
    prepare(h);
    h.mysql.script("UPDATE b SET y = 2", failure(1062, "Duplicate entry '2' for key 'PRIMARY'"));
    h.load(runbook_with(k_source, R"(
      - id: fix
        kind: sql
        with: { connection: source, transaction: true, statements: "UPDATE a SET x = 1; UPDATE b SET y = 2; UPDATE c SET z = 3" }
)"));
    CHECK(h.run().status == "failed");
    CHECK(h.mysql.statements() == Strings{"source: START TRANSACTION", "source: UPDATE a SET x = 1",
                                          "source: UPDATE b SET y = 2", "source: ROLLBACK"});
    CHECK_THAT(h.step_end("fix").string("error"), Contains("; the transaction was rolled back"));
}

TEST_CASE("sql: in a transaction, success commits", "[sql]") {
    EngineHarness h;
    prepare(h);
    h.load(runbook_with(k_source, R"(
      - id: fix
        kind: sql
        with: { connection: source, transaction: true, statements: "UPDATE a SET x = 1; UPDATE b SET y = 2" }
)"));
    REQUIRE(h.run().status == "ok");
    CHECK(h.mysql.statements() == Strings{"source: START TRANSACTION", "source: UPDATE a SET x = 1",
                                          "source: UPDATE b SET y = 2", "source: COMMIT"});
    CHECK(h.events("step.checkpoint").empty());
}

TEST_CASE("sql: a lost connection is retried, going on after the statements already done",
          "[sql]") {
    EngineHarness h;
    prepare(h);
    FakeMysqlAnswer lost = failure(2013, "Lost connection to server during query");
    h.mysql.script("UPDATE b SET y = 2", lost);
    h.mysql.script("UPDATE b SET y = 2", changed(5));
    h.load(runbook_with(k_source, R"(
      - id: fix
        kind: sql
        retry: { attempts: 3, backoff: 1s }
        with: { connection: source, statements: "UPDATE a SET x = 1; UPDATE b SET y = 2; UPDATE c SET z = 3" }
)"));
    REQUIRE(h.run().status == "ok");
    CHECK(h.mysql.statements() ==
          Strings{"source: UPDATE a SET x = 1", "source: UPDATE b SET y = 2",
                  "source: UPDATE b SET y = 2", "source: UPDATE c SET z = 3"});
    CHECK(h.events("step.retry").size() == 1);
    CHECK(h.step_end("fix").data["metrics"]["rows"] == 5);
}

TEST_CASE("sql: a refused connection is retryable; access denied is not", "[sql]") {
    const std::string steps = R"(
      - id: fix
        kind: sql
        retry: { attempts: 3, backoff: 1s }
        with: { connection: source, statements: "SELECT 1" }
)";
    EngineHarness refused;
    prepare(refused);
    refused.mysql.fail_connects("source", 2003, 2);
    refused.load(runbook_with(k_source, steps));
    REQUIRE(refused.run().status == "ok");
    CHECK(refused.step_end("fix").data["attempts"] == 3);

    EngineHarness denied;
    prepare(denied);
    denied.mysql.fail_connects("source", 1045, 5);
    denied.load(runbook_with(k_source, steps));
    CHECK(denied.run().status == "failed");
    CHECK(denied.step_end("fix").data["attempts"] == 1);
    CHECK_THAT(denied.step_end("fix").string("error"),
               Contains("connection 'source' (127.0.0.1:3306): cannot connect"));
}

TEST_CASE("sql: outputs need a column that is there and a row", "[sql]") {
    EngineHarness h;
    prepare(h);
    h.mysql.script("SELECT id FROM a", rows_answer({"id"}, {}));
    h.mysql.script("SELECT idx FROM a", rows_answer({"id"}, {{"1"}}));
    h.load(runbook_with(k_source, R"(
      - id: none
        kind: sql
        on_failure: continue
        with: { connection: source, statements: "SELECT id FROM a", outputs: { top: id } }
      - id: wrong
        kind: sql
        on_failure: continue
        with: { connection: source, statements: "SELECT idx FROM a", outputs: { top: idx } }
)"));
    h.run();
    CHECK(h.step_end("none").string("error") ==
          "statement 1 of 1 (SELECT id FROM a): output 'top': the statement returned no row");
    CHECK(h.step_end("wrong").string("error") ==
          "statement 1 of 1 (SELECT idx FROM a): output 'top': the result has no column 'idx'; did "
          "you mean 'id'? (columns: id)");
}

TEST_CASE("sql: the dry run connects and runs nothing", "[sql][dry-run]") {
    EngineHarness h;
    prepare(h);
    h.load(runbook_with(k_source, R"(
      - id: fix
        kind: sql
        with: { connection: source, statements: "DROP TABLE everything" }
)"));
    CHECK(h.dry_run().status == "ok");
    CHECK(h.mysql.connects().size() == 1);
    CHECK(h.mysql.statements().empty());
    CHECK_THAT(
        h.console_text.str(),
        Contains("connection 'source' (127.0.0.1:3306) accepts connections: server 10.11.0-fake"));
}

TEST_CASE("sql: a missing secret in a connection fails the step, naming it", "[sql][secrets]") {
    EngineHarness h;
    h.variables["db_host"] = "127.0.0.1";
    h.load(runbook_with(k_source, R"(
      - id: fix
        kind: sql
        with: { connection: source, statements: "SELECT 1" }
)"));
    CHECK(h.run().status == "failed");
    CHECK_THAT(h.step_end("fix").string("error"), Contains("secret 'DB_PW'"));
    CHECK(h.mysql.connects().empty());
}

// ---- wait on sql ----

TEST_CASE("wait sql: polls until the query returns no rows, on one session", "[wait][sql]") {
    EngineHarness h;
    prepare(h);
    std::string query = "SELECT 1 FROM qu_g_queued_jobs WHERE status != 'F' LIMIT 1";
    h.mysql.script(query, rows_answer({"1"}, {{"1"}}));
    h.mysql.script(query, rows_answer({"1"}, {{"1"}}));
    h.mysql.script(query, rows_answer({"1"}, {}));
    h.load(runbook_with(k_source, R"(
      - id: drain
        kind: wait
        timeout: 30m
        with: { sql: ")" + query + R"(", connection: source, interval: 30s }
)"));
    REQUIRE(h.run().status == "ok");
    CHECK(h.step_end("drain").data["outputs"]["polls"] == "3");
    CHECK(h.mysql.connects().size() == 1);
    CHECK(h.clock.sleeps() ==
          std::vector<Millis>{std::chrono::seconds(30), std::chrono::seconds(30)});
}

TEST_CASE("wait sql: until row waits for a row", "[wait][sql]") {
    EngineHarness h;
    prepare(h);
    h.mysql.script("SELECT 1 FROM flags WHERE ready", rows_answer({"1"}, {}));
    h.mysql.script("SELECT 1 FROM flags WHERE ready", rows_answer({"1"}, {{"1"}}));
    h.load(runbook_with(k_source, R"(
      - id: ready
        kind: wait
        timeout: 5m
        with: { sql: "SELECT 1 FROM flags WHERE ready", connection: source, until: row, interval: 1s }
)"));
    REQUIRE(h.run().status == "ok");
    CHECK(h.step_end("ready").data["outputs"]["polls"] == "2");
}

TEST_CASE("wait sql: a lost connection is polled again on a new session, and said", "[wait][sql]") {
    EngineHarness h;
    prepare(h);
    h.mysql.script("SELECT 1 FROM q", failure(2006, "Server has gone away"));
    h.mysql.script("SELECT 1 FROM q", rows_answer({"1"}, {}));
    h.mysql.fail_connects("source", 2003, 1);
    h.load(runbook_with(k_source, R"(
      - id: drain
        kind: wait
        timeout: 5m
        with: { sql: "SELECT 1 FROM q", connection: source, interval: 1s }
)"));
    REQUIRE(h.run().status == "ok");
    CHECK(h.step_end("drain").data["outputs"]["polls"] == "3");
    CHECK(h.mysql.connects().size() == 2);
    CHECK_THAT(h.console_text.str(),
               Contains("Server has gone away (error 2006); trying again at the next poll"));
    CHECK_THAT(
        h.console_text.str(),
        Contains("cannot connect: fake refusal (error 2003); trying again at the next poll"));
}

TEST_CASE("wait sql: bad SQL fails at once", "[wait][sql]") {
    EngineHarness h;
    prepare(h);
    h.mysql.script("SELEC 1", failure(1064, "You have an error in your SQL syntax"));
    h.load(runbook_with(k_source, R"(
      - id: drain
        kind: wait
        timeout: 5m
        with: { sql: "SELEC 1", connection: source, interval: 1s }
)"));
    CHECK(h.run().status == "failed");
    CHECK_THAT(h.step_end("drain").string("error"),
               Contains("You have an error in your SQL syntax (error 1064)"));
    CHECK(h.clock.sleeps().empty());
}

TEST_CASE("connections: run time follows the rules validate applies", "[connections]") {
    Json fields{{"type", "mysql"}, {"host", "db"}};
    SECTION("tls.verify is true or false, nothing else") {
        for (const char* word : {"yes", "no", "on", "off", "1"}) {
            fields["tls"] = {{"verify", word}};
            CHECK_THROWS_WITH(kinds::mysql_connection_spec("source", fields),
                              std::string("connection 'source', 'tls.verify': expected true or "
                                          "false, found '") +
                                  word + "'");
        }
        fields["tls"] = {{"verify", "false"}};
        CHECK_FALSE(kinds::mysql_connection_spec("source", fields).tls.verify);
        CHECK(runbook::tls_verify_choices() == std::vector<std::string>{"true", "false"});
    }
    SECTION("a port is digits from 1 to 65535") {
        for (const char* port : {"0", "70000", "+5", "33o6", "-1"}) {
            fields["port"] = port;
            CHECK_THROWS_WITH(kinds::mysql_connection_spec("source", fields),
                              std::string("connection 'source', 'port': must be a whole number "
                                          "from 1 to 65535, not '") +
                                  port + "'");
        }
        CHECK(runbook::port_problem("65535").empty());
    }
    SECTION("host or socket, not both") {
        fields["socket"] = "/s";
        CHECK_THROWS_WITH(kinds::mysql_connection_spec("source", fields),
                          "connection 'source': give 'host' (TCP) or 'socket' (a Unix socket), "
                          "not both");
        fields.erase("host");
        fields.erase("socket");
        CHECK_THROWS_WITH(kinds::mysql_connection_spec("source", fields),
                          "connection 'source' needs 'host' (TCP) or 'socket' (a Unix socket)");
    }
}
