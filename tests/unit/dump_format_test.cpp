// The dump format's server-free pieces: file names, table selection by name and glob, SQL
// values (quoting, hex, NULL), DEFINER removal, and the manifest read back as written.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "migrate/io/db/dialect.h"
#include "migrate/io/db/mysql/mariadb.h"
#include "migrate/steps/mysql/dump_format.h"
#include "migrate/steps/mysql/dump_manifest.h"
#include "migrate/util/error.h"

using namespace migrate;
using namespace migrate::steps::mysql;

namespace {

std::string value_of(ValueStyle style, std::string_view value, bool is_null = false) {
    std::string out = "x";
    append_value(out, style, is_null, value);
    return out.substr(1);
}

// The protocol's type codes (MYSQL_TYPE_*), which the tests do not take from the client library;
// the driver maps them to the seam's column types as a real result would.
constexpr unsigned k_long = 3, k_date = 10, k_time = 11, k_datetime = 12, k_bit = 16,
                   k_newdecimal = 246, k_blob = 252, k_string = 254;

io::db::Column column(unsigned type, bool numeric, bool binary) {
    return io::db::Column{"c", io::db::mysql::column_type_of(type, numeric), numeric, binary};
}

const std::vector<std::string> k_field_tables = {
    "qu_g_accounts",    "qu_g_logs",        "qu_g_mail_message_sources",
    "qu_g_queue_items", "qu_g_queue_stats", "qu_g_queued_jobs",
    "qu_g_sessions",    "qu_g_users",       "qu_la_conversations",
    "qu_la_page_visits"};

}  // namespace

TEST_CASE("table names become file names with %XX for every byte outside [A-Za-z0-9_-]") {
    CHECK(encode_table_name("qu_g_users") == "qu_g_users");
    CHECK(encode_table_name("a-b_C9") == "a-b_C9");
    CHECK(encode_table_name("a.b/c") == "a%2Eb%2Fc");
    CHECK(encode_table_name("50%") == "50%25");
    CHECK(encode_table_name("t\xc3\xa9") == "t%C3%A9");
    CHECK(encode_table_name("a b") == "a%20b");
}

TEST_CASE("the field ignore list leaves out its tables and globs, and names what it left out") {
    std::vector<std::string> exclude = {
        "qu_g_logs",     "qu_g_mail_message_sources", "qu_g_queued_jobs", "qu_g_queue_*",
        "qu_g_sessions", "qu_la_page_visits",         "qu_g_news"};
    TableSelection selection = select_tables(k_field_tables, {}, exclude);
    CHECK(selection.chosen ==
          std::vector<std::string>{"qu_g_accounts", "qu_g_users", "qu_la_conversations"});
    CHECK(selection.excluded == std::vector<std::string>{"qu_g_logs", "qu_g_mail_message_sources",
                                                         "qu_g_queue_items", "qu_g_queue_stats",
                                                         "qu_g_queued_jobs", "qu_g_sessions",
                                                         "qu_la_page_visits"});
}

TEST_CASE("include picks tables by name and glob, exclude wins over include") {
    TableSelection selection =
        select_tables(k_field_tables, {"qu_la_*", "qu_g_users"}, {"qu_la_page_visits"});
    CHECK(selection.chosen == std::vector<std::string>{"qu_g_users", "qu_la_conversations"});
    CHECK(selection.excluded == std::vector<std::string>{"qu_la_page_visits"});
}

TEST_CASE("an include entry that names no table is an error naming it, with a did-you-mean") {
    try {
        select_tables(k_field_tables, {"qu_g_user"}, {});
        FAIL("no error");
    } catch (const StepError& e) {
        CHECK(std::string(e.what()) ==
              "'include': the database has no table 'qu_g_user'; did you mean 'qu_g_users'?");
        CHECK_FALSE(e.retryable());
    }
    CHECK_THROWS_WITH(select_tables(k_field_tables, {"crm_*"}, {}),
                      "'include': the pattern 'crm_*' matches no table");
}

TEST_CASE("text values are quoted with mysqldump's escapes") {
    CHECK(value_of(ValueStyle::quoted, "plain") == "'plain'");
    CHECK(value_of(ValueStyle::quoted, "it's \"q\" a\\b") == "'it\\'s \\\"q\\\" a\\\\b'");
    CHECK(value_of(ValueStyle::quoted, std::string("a\0b\n\r\x1a", 6)) == "'a\\0b\\n\\r\\Z'");
    CHECK(value_of(ValueStyle::quoted, "\xf0\x9f\x98\x80 utf8mb4") == "'\xf0\x9f\x98\x80 utf8mb4'");
    CHECK(value_of(ValueStyle::quoted, "") == "''");
}

TEST_CASE("binary values are 0x hex, '' when empty; numbers as printed; NULL for null") {
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    std::string hex = value_of(ValueStyle::hex, all);
    CHECK(hex.size() == 2 + 512);
    CHECK(hex.substr(0, 10) == "0x00010203");
    CHECK(hex.substr(hex.size() - 4) == "feff");
    CHECK(value_of(ValueStyle::hex, "") == "''");
    CHECK(value_of(ValueStyle::number, "-12.50") == "-12.50");
    CHECK(value_of(ValueStyle::quoted, "", true) == "NULL");
    CHECK(value_of(ValueStyle::hex, "", true) == "NULL");
}

TEST_CASE(
    "a column's style: strings of the binary charset are hex, dates are quoted although binary") {
    CHECK(value_style(column(k_long, true, false)) == ValueStyle::number);
    CHECK(value_style(column(k_newdecimal, true, false)) == ValueStyle::number);
    CHECK(value_style(column(k_blob, false, true)) == ValueStyle::hex);
    CHECK(value_style(column(k_string, false, true)) == ValueStyle::hex);
    CHECK(value_style(column(k_bit, false, true)) == ValueStyle::hex);
    CHECK(value_style(column(k_blob, false, false)) == ValueStyle::quoted);
    CHECK(value_style(column(k_datetime, false, true)) == ValueStyle::quoted);
    CHECK(value_style(column(k_date, false, true)) == ValueStyle::quoted);
    CHECK(value_style(column(k_time, false, true)) == ValueStyle::quoted);
}

TEST_CASE("identifiers are backticked with backticks doubled") {
    const io::db::Dialect& sql = io::db::mysql_dialect();
    CHECK(sql.quote_identifier("t") == "`t`");
    CHECK(sql.quote_identifier("a`b") == "`a``b`");
    CHECK(sql.quote_identifier("``") == "``````");
    CHECK(sql.qualified_name("d`b", "t") == "`d``b`.`t`");
}

TEST_CASE("DEFINER clauses are removed from CREATE statements, not from bodies") {
    CHECK(strip_definer("CREATE ALGORITHM=UNDEFINED DEFINER=`migrate`@`127.0.0.1` SQL SECURITY "
                        "DEFINER VIEW `v` AS "
                        "select 1") ==
          "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1");
    CHECK(strip_definer("CREATE DEFINER=`a b`@`%` TRIGGER `t` BEFORE INSERT ON `x` FOR EACH ROW "
                        "SET NEW.a = 1") ==
          "CREATE TRIGGER `t` BEFORE INSERT ON `x` FOR EACH ROW SET NEW.a = 1");
    CHECK(strip_definer("CREATE DEFINER=`x``y`@`h` PROCEDURE `p`() SELECT 'DEFINER=z'") ==
          "CREATE PROCEDURE `p`() SELECT 'DEFINER=z'");
    CHECK(strip_definer("CREATE PROCEDURE `p`() SELECT 'DEFINER=z'") ==
          "CREATE PROCEDURE `p`() SELECT 'DEFINER=z'");
}

TEST_CASE("a manifest reads back as written, and its marker matches only that manifest") {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "migrate-dump-format-test";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    DumpManifest m;
    m.written_by = "migrate test";
    m.started = "2026-11-22T10:00:00.000Z";
    m.database = "helpdesk";
    m.compression = "zstd";
    m.excluded = {"qu_g_logs"};
    m.snapshots.push_back(SnapshotPosition{"mysql-bin.000003", 4711, "0-1-42"});
    m.tables.push_back(DumpTable{"accounts",
                                 12,
                                 0,
                                 DumpFile{"accounts.schema.sql.zst", 10, 20, std::string(64, 'a')},
                                 {DumpFile{"accounts.data.sql.zst", 30, 40, std::string(64, 'b')}},
                                 std::nullopt});
    std::string sha = write_manifest(dir.string(), m);
    std::optional<DumpManifest> back = read_manifest(dir.string());
    REQUIRE(back);
    CHECK(back->to_json() == m.to_json());
    CHECK(back->rows() == 12);
    CHECK(back->bytes() == 40);
    CHECK(back->raw_bytes() == 60);
    CHECK(back->to_json()["snapshot"]["binlog_position"] == 4711);
    CHECK_FALSE(marker_matches(dir.string()));
    write_marker(dir.string(), sha);
    CHECK(marker_matches(dir.string()));
    m.complete = true;
    write_manifest(dir.string(), m);
    CHECK_FALSE(marker_matches(dir.string()));
    std::filesystem::remove_all(dir);
}

TEST_CASE("a manifest of a newer format version is refused, saying so") {
    nlohmann::json j = DumpManifest{}.to_json();
    j["format_version"] = 2;
    CHECK_THROWS_WITH(DumpManifest::from_json(j),
                      "dump format version 2 is newer than this build of migrate reads (1)");
}

TEST_CASE("mysql.load selects a dump's tables by the same rules, naming its parameter") {
    // The load's `include` (or its old name `tables`) and the dump's are one function: a glob
    // that matches no table of the dump is refused as the dump refuses it.
    CHECK_THROWS_WITH(select_tables(k_field_tables, {"crm_*"}, {}, "include", "the dump"),
                      "'include': the pattern 'crm_*' matches no table");
    CHECK_THROWS_WITH(select_tables(k_field_tables, {"qu_g_user"}, {}, "tables", "the dump"),
                      "'tables': the dump has no table 'qu_g_user'; did you mean 'qu_g_users'?");
    TableSelection selection =
        select_tables(k_field_tables, {"qu_g_[au]*"}, {"qu_g_users"}, "include", "the dump");
    CHECK(selection.chosen == std::vector<std::string>{"qu_g_accounts"});
    CHECK(selection.excluded == std::vector<std::string>{"qu_g_users"});
}
