// mysql.load's pieces without a server: the dump directory's marker and manifest checks,
// and one SQL file streamed (plain, gzip, zstd) into a fake session.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "fakes.h"
#include "migrate/steps/mysql/dump_manifest.h"
#include "migrate/steps/mysql/sql_file_load.h"
#include "migrate/util/compression.h"
#include "migrate/util/digest.h"

using namespace migrate;
using namespace migrate::steps::mysql;
using namespace migrate::test;
namespace fs = std::filesystem;

namespace {

std::string compressed(const std::string& text, CompressionFormat format) {
    std::string out;
    CompressorOptions options;
    options.format = format;
    options.level = 3;
    options.threads = 0;
    auto compressor = make_compressor(options, [&](const unsigned char* data, std::size_t size) {
        out.append(reinterpret_cast<const char*>(data), size);
    });
    compressor->write(text.data(), text.size());
    compressor->finish();
    return out;
}

// A session named `name` on the fake server.
std::unique_ptr<io::db::Session> fake_session(FakeMysqlConnector& mysql, CancelToken& cancel,
                                              const std::string& name) {
    io::db::ConnectionSpec spec;
    spec.name = name;
    return mysql.connect(spec, cancel);
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

// A dump directory as docs/dump-format.md describes it: one table, a marker that fits.
struct DumpDir {
    fs::path dir = fs::temp_directory_path() / "migrate-load-test-dump";
    std::string schema_sql = "DROP TABLE IF EXISTS `t`;\nCREATE TABLE `t` (id INT PRIMARY KEY);\n";
    std::string data_sql =
        "INSERT INTO `t` (`id`) VALUES (1),(2);\nINSERT INTO `t` (`id`) VALUES (3);\n";
    nlohmann::ordered_json manifest;

    DumpDir() {
        fs::remove_all(dir);
        fs::create_directories(dir);
        manifest = {{"format", "migrate-dump"},
                    {"format_version", 1},
                    {"complete", true},
                    {"database", "shop"},
                    {"server", {{"version", "10.11.6-MariaDB"}}},
                    {"tables",
                     {{{"name", "t"},
                       {"rows", 3},
                       {"schema", add("t.schema.sql.zst", schema_sql)},
                       {"data", {add("t.data.sql.zst", data_sql)}},
                       {"triggers", nullptr}}}},
                    {"views", nlohmann::ordered_json::array()},
                    {"routines", nullptr}};
        seal();
    }
    ~DumpDir() { fs::remove_all(dir); }

    nlohmann::ordered_json add(const std::string& name, const std::string& sql) {
        std::string bytes = compressed(sql, CompressionFormat::zstd);
        write_file(dir / name, bytes);
        return {{"file", name},
                {"bytes", bytes.size()},
                {"raw_bytes", sql.size()},
                {"sha256", sha256_hex(bytes)}};
    }

    // Writes the manifest and a marker that names its hash.
    void seal(int marker_version = 1) {
        std::string text = manifest.dump(2);
        write_file(dir / k_dump_manifest, text);
        write_file(dir / k_dump_marker, "migrate-dump " + std::to_string(marker_version) +
                                            " sha256=" + sha256_hex(text) + "\n");
    }
};

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("dump manifest: a complete dump reads with its tables and files", "[mysql_load]") {
    DumpDir dump;
    DumpManifest manifest = read_dump_directory(dump.dir.string());
    CHECK(manifest.database == "shop");
    CHECK(manifest.server_version == "10.11.6-MariaDB");
    REQUIRE(manifest.tables.size() == 1);
    CHECK(manifest.tables[0].name == "t");
    CHECK(manifest.tables[0].rows == 3);
    REQUIRE(manifest.tables[0].data.size() == 1);
    CHECK(manifest.tables[0].data_raw_bytes() == dump.data_sql.size());
    CHECK(manifest.path_of(manifest.tables[0].data[0]) == dump.dir.string() + "/t.data.sql.zst");
    CHECK(manifest.sha256 == sha256_hex(dump.manifest.dump(2)));
}

TEST_CASE("dump manifest: a dump without its completion marker is refused", "[mysql_load]") {
    DumpDir dump;
    fs::remove(dump.dir / k_dump_marker);
    CHECK_THAT(
        error_of([&] { read_dump_directory(dump.dir.string()); }),
        Catch::Contains(
            "is not a complete dump: migrate-dump.complete is missing (the dump did not finish"));
}

TEST_CASE("dump manifest: a manifest changed after the marker is refused", "[mysql_load]") {
    DumpDir dump;
    write_file(dump.dir / k_dump_manifest, dump.manifest.dump(1));
    CHECK_THAT(error_of([&] { read_dump_directory(dump.dir.string()); }),
               Catch::Contains("migrate-dump.json does not match migrate-dump.complete"));
}

TEST_CASE("dump manifest: a newer format version is refused with the contract's message",
          "[mysql_load]") {
    DumpDir dump;
    dump.manifest["format_version"] = 2;
    dump.seal(2);
    CHECK_THAT(
        error_of([&] { read_dump_directory(dump.dir.string()); }),
        Catch::Contains("dump format version 2 is newer than this build of migrate reads (1)"));
    // The manifest's own version counts even when the marker's line says 1.
    dump.seal(1);
    CHECK_THAT(
        error_of([&] { read_dump_directory(dump.dir.string()); }),
        Catch::Contains("dump format version 2 is newer than this build of migrate reads (1)"));
}

TEST_CASE("dump manifest: a file cut short or missing is named before anything loads",
          "[mysql_load]") {
    DumpDir dump;
    fs::resize_file(dump.dir / "t.data.sql.zst", fs::file_size(dump.dir / "t.data.sql.zst") - 3);
    CHECK_THAT(error_of([&] { read_dump_directory(dump.dir.string()); }),
               Catch::Contains("t.data.sql.zst has") &&
                   Catch::Contains("the file is cut short; nothing was loaded"));
    fs::remove(dump.dir / "t.data.sql.zst");
    CHECK_THAT(error_of([&] { read_dump_directory(dump.dir.string()); }),
               Catch::Contains("t.data.sql.zst is missing (the manifest lists it)"));
}

TEST_CASE("dump manifest: bad fields are named with their path", "[mysql_load]") {
    DumpDir dump;
    dump.manifest["tables"][0]["data"][0]["file"] = "../etc/passwd";
    dump.seal();
    CHECK_THAT(
        error_of([&] { read_dump_directory(dump.dir.string()); }),
        Catch::Contains(
            "'tables[0].data[0].file' (../etc/passwd) must name a file inside the dump directory"));
    dump.manifest["tables"][0]["data"][0]["file"] = "t.data.sql.zst";
    dump.manifest["tables"][0]["data"][0].erase("sha256");
    dump.seal();
    CHECK_THAT(error_of([&] { read_dump_directory(dump.dir.string()); }),
               Catch::Contains("'tables[0].data[0].sha256' is missing"));
    dump.manifest["complete"] = false;
    dump.seal();
    CHECK_THAT(error_of([&] { read_dump_directory(dump.dir.string()); }),
               Catch::Contains("'complete' is not true"));
}

TEST_CASE("statement keywords pass executable comment markers", "[mysql_load]") {
    CHECK(statement_keywords("/*!40101 SET NAMES utf8mb4 */", 1) == "SET");
    CHECK(statement_keywords("/*M!100101 set @x = 1 */", 1) == "SET");
    CHECK(statement_keywords("drop table if exists `t`", 2) == "DROP TABLE");
    CHECK(statement_keywords("/* note */ USE `shop`", 1) == "USE");
    CHECK(sets_up_session("/*!40014 SET FOREIGN_KEY_CHECKS=0 */"));
    CHECK(sets_up_session("USE shop"));
    // mariadb-dump's first statement carries the client's sandbox command before its SET.
    CHECK(sets_up_session(
        "/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19\n--\n# more\n\n"
        "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */"));
    CHECK_FALSE(sets_up_session("INSERT INTO `settings` VALUES (1)"));
    CHECK_FALSE(sets_up_session("/*!50003 CREATE*/ /*!50003 TRIGGER x */"));
}

TEST_CASE("load sql file: plain, gzip and zstd stream into the session, DELIMITER included",
          "[mysql_load]") {
    fs::path dir = fs::temp_directory_path() / "migrate-load-test-files";
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::string sql =
        "/*!40101 SET NAMES utf8mb4 */;\nINSERT INTO t VALUES (1,'a;b');\nDELIMITER ;;\n"
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.id = 1; END ;;\nDELIMITER "
        ";\nSELECT 2";
    for (auto [name, bytes] : std::vector<std::pair<std::string, std::string>>{
             {"plain.sql", sql},
             {"dump.sql.gz", compressed(sql, CompressionFormat::gzip)},
             {"named-wrongly.sql.gz", compressed(sql, CompressionFormat::zstd)}}) {
        INFO(name);
        write_file(dir / name, bytes);
        FakeMysqlConnector mysql;
        CancelToken cancel;
        auto session = fake_session(mysql, cancel, "target");
        SqlLoadTally tally;
        SqlLoadOptions options;
        options.commit_bytes = 1;
        load_sql_file(*session, (dir / name).string(), name, {sql.size(), sha256_hex(bytes)},
                      options, cancel, tally);
        CHECK(mysql.statements() ==
              std::vector<std::string>{"target: /*!40101 SET NAMES utf8mb4 */", "target: COMMIT",
                                       "target: INSERT INTO t VALUES (1,'a;b')", "target: COMMIT",
                                       "target: CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW "
                                       "BEGIN SET NEW.id = 1; END",
                                       "target: COMMIT", "target: SELECT 2", "target: COMMIT",
                                       "target: COMMIT"});
        CHECK(tally.raw_bytes.load() == sql.size());
        CHECK(tally.statements.load() == 4);
    }
    fs::remove_all(dir);
}

TEST_CASE("load sql file: with load_data, a session without LOAD DATA LOCAL runs the INSERTs",
          "[mysql_load]") {
    fs::path path = fs::temp_directory_path() / "migrate-load-test-load-data.sql";
    write_file(path,
               "/*!40101 SET NAMES utf8mb4 */;\nINSERT INTO t (a) VALUES (1),(2);\n"
               "INSERT INTO t (a) VALUES (3);\n");
    FakeMysqlConnector mysql;
    mysql.script("SELECT @@character_set_client", {{"@@character_set_client"}, {{"utf8mb4"}}});
    CancelToken cancel;
    auto session = fake_session(mysql, cancel, "target");
    SqlLoadTally tally;
    SqlLoadOptions options;
    options.load_data = true;
    load_sql_file(*session, path.string(), "t.sql", {}, options, cancel, tally);
    // The fake session has no LOAD DATA LOCAL (the server's answer 1148): the first INSERT
    // asked, and from then on every INSERT runs as it is, without asking again.
    CHECK(mysql.statements() == std::vector<std::string>{"target: /*!40101 SET NAMES utf8mb4 */",
                                                         "target: SELECT @@character_set_client",
                                                         "target: INSERT INTO t (a) VALUES (1),(2)",
                                                         "target: INSERT INTO t (a) VALUES (3)"});
    CHECK(tally.statements.load() == 3);
    fs::remove(path);
}

TEST_CASE("load sql file: a refused statement names the file, statement, line and server message",
          "[mysql_load]") {
    fs::path path = fs::temp_directory_path() / "migrate-load-test-error.sql";
    write_file(path, "SELECT 1;\n\nINSERT INTO `accounts` VALUES (1);\n");
    FakeMysqlConnector mysql;
    FakeMysqlAnswer duplicate;
    duplicate.error = 1062;
    duplicate.message = "Duplicate entry '1' for key 'PRIMARY'";
    mysql.script("INSERT INTO `accounts` VALUES (1)", duplicate);
    CancelToken cancel;
    auto session = fake_session(mysql, cancel, "target");
    SqlLoadTally tally;
    try {
        load_sql_file(*session, path.string(), "accounts.data.sql", {}, {}, cancel, tally);
        FAIL("no error");
    } catch (const io::db::DbError& e) {
        CHECK_THAT(
            std::string(e.what()),
            Catch::StartsWith(
                "accounts.data.sql: statement 2 (line 3, INSERT INTO `accounts` VALUES (1)): ") &&
                Catch::Contains("Duplicate entry '1' for key 'PRIMARY'"));
        CHECK(e.code() == 1062);
        CHECK_FALSE(e.retryable());
    }
    // A refused statement runs once more when the cause was fixed.
    SqlLoadOptions recovering;
    int recovered = 0;
    recovering.recover = [&](io::db::Session& on, const io::db::DbError& e) {
        on.execute("DELETE FROM `accounts` WHERE id = 1");
        return e.code() == 1062 && ++recovered == 1;
    };
    FakeMysqlAnswer done;
    mysql.script("INSERT INTO `accounts` VALUES (1)", done);
    CHECK_NOTHROW(
        load_sql_file(*session, path.string(), "accounts.data.sql", {}, recovering, cancel, tally));
    CHECK(recovered == 1);
    std::vector<std::string> run = mysql.statements();
    REQUIRE(run.size() >= 3);
    CHECK(std::vector<std::string>(run.end() - 3, run.end()) ==
          std::vector<std::string>{"target: INSERT INTO `accounts` VALUES (1)",
                                   "target: DELETE FROM `accounts` WHERE id = 1",
                                   "target: INSERT INTO `accounts` VALUES (1)"});
    fs::remove(path);
}

TEST_CASE("load sql file: a hash or length that does not match the manifest fails the file",
          "[mysql_load]") {
    fs::path path = fs::temp_directory_path() / "migrate-load-test-hash.sql.zst";
    std::string sql = "INSERT INTO t VALUES (1);\n";
    std::string bytes = compressed(sql, CompressionFormat::zstd);
    write_file(path, bytes);
    FakeMysqlConnector mysql;
    CancelToken cancel;
    auto session = fake_session(mysql, cancel, "");
    SqlLoadTally tally;
    CHECK_THAT(error_of([&] {
                   load_sql_file(*session, path.string(), "t.data.sql.zst",
                                 {sql.size(), std::string(64, '0')}, {}, cancel, tally);
               }),
               Catch::Contains("t.data.sql.zst: SHA-256 " + sha256_hex(bytes) +
                               " does not match the manifest's 0000"));
    CHECK_THAT(error_of([&] {
                   load_sql_file(*session, path.string(), "t.data.sql.zst",
                                 {sql.size() + 1, sha256_hex(bytes)}, {}, cancel, tally);
               }),
               Catch::Contains("decompresses to " + std::to_string(sql.size()) +
                               " bytes of SQL, the manifest says"));
    // Damaged bytes in the middle of the stream.
    std::string damaged = bytes;
    damaged[damaged.size() / 2] ^= 0x55;
    write_file(path, damaged);
    CHECK_THAT(error_of([&] {
                   load_sql_file(*session, path.string(), "t.data.sql.zst", {}, {}, cancel, tally);
               }),
               Catch::Contains("zstd"));
    fs::remove(path);
}

TEST_CASE("load sql sections: tables side by side, settings on every session, views after all",
          "[mysql_load]") {
    fs::path path = fs::temp_directory_path() / "migrate-load-test-sections.sql";
    write_file(
        path,
        "/*!40101 SET NAMES utf8mb4 */;\n"
        "DROP TABLE IF EXISTS `a`;\nCREATE TABLE `a` (id INT);\nINSERT INTO `a` VALUES (1);\n"
        "DROP TABLE IF EXISTS `b`;\nCREATE TABLE `b` (id INT);\nINSERT INTO `b` VALUES (2);\n"
        "DELIMITER ;;\nCREATE TRIGGER t BEFORE INSERT ON b FOR EACH ROW SET @x = 1 ;;\nDELIMITER "
        ";\n"
        "/*!50001 DROP VIEW IF EXISTS `v`*/;\n/*!50001 CREATE VIEW `v` AS SELECT * FROM a, b "
        "*/;\n");
    FakeMysqlConnector mysql;
    CancelToken cancel;
    std::vector<std::unique_ptr<io::db::Session>> sessions;
    for (const char* name : {"s0", "s1"}) {
        io::db::ConnectionSpec spec;
        spec.name = name;
        sessions.push_back(mysql.connect(spec, cancel));
    }
    std::vector<io::db::Session*> pointers{sessions[0].get(), sessions[1].get()};
    SqlLoadTally tally;
    std::vector<std::size_t> checkpoints;
    SqlSectionHooks hooks;
    hooks.checkpoint = [&](std::size_t done) { checkpoints.push_back(done); };
    SqlSectionOptions options;
    options.commit_bytes = 1 << 20;
    load_sql_sections(pointers, path.string(), "dump.sql", 0, options, cancel, tally, hooks);

    std::vector<std::string> run = mysql.statements();
    auto position = [&](const std::string& line) {
        return std::find(run.begin(), run.end(), line) - run.begin();
    };
    // The settings before the first table ran on both sessions.
    CHECK(position("s0: /*!40101 SET NAMES utf8mb4 */") < static_cast<long>(run.size()));
    CHECK(position("s1: /*!40101 SET NAMES utf8mb4 */") < static_cast<long>(run.size()));
    // Each table's statements ran on one session, in order.
    for (const char* table : {"a", "b"}) {
        std::string t = table;
        std::string session =
            position("s0: DROP TABLE IF EXISTS `" + t + "`") < static_cast<long>(run.size()) ? "s0"
                                                                                             : "s1";
        CHECK(position(session + ": DROP TABLE IF EXISTS `" + t + "`") <
              position(session + ": CREATE TABLE `" + t + "` (id INT)"));
        CHECK(position(session + ": CREATE TABLE `" + t + "` (id INT)") <
              position(session + ": INSERT INTO `" + t + "` VALUES (" + (t == "a" ? "1" : "2") +
                       ")"));
    }
    // The view ran after both tables' rows.
    long view = std::min(position("s0: /*!50001 CREATE VIEW `v` AS SELECT * FROM a, b */"),
                         position("s1: /*!50001 CREATE VIEW `v` AS SELECT * FROM a, b */"));
    REQUIRE(view < static_cast<long>(run.size()));
    CHECK(std::min(position("s0: INSERT INTO `a` VALUES (1)"),
                   position("s1: INSERT INTO `a` VALUES (1)")) < view);
    CHECK(std::min(position("s0: INSERT INTO `b` VALUES (2)"),
                   position("s1: INSERT INTO `b` VALUES (2)")) < view);
    // Checkpoints only where a table's section begins (before statement 2 or 5), rising.
    REQUIRE_FALSE(checkpoints.empty());
    for (std::size_t i = 0; i < checkpoints.size(); ++i) {
        CHECK((checkpoints[i] == 1 || checkpoints[i] == 4));
        if (i > 0) CHECK(checkpoints[i] > checkpoints[i - 1]);
    }
    fs::remove(path);
}

// A CREATE TABLE as mysqldump writes it, with one plain secondary key on `column`.
std::string create_with_key(const std::string& table, const std::string& column) {
    return "CREATE TABLE `" + table + "` (\n  `id` int NOT NULL,\n  `" + column +
           "` int,\n  PRIMARY KEY (`id`),\n  KEY `by_" + column + "` (`" + column +
           "`)\n) ENGINE=InnoDB";
}

// The same without its key, as defer_keys runs it.
std::string create_without_key(const std::string& table, const std::string& column) {
    return "CREATE TABLE `" + table + "` (\n  `id` int NOT NULL,\n  `" + column +
           "` int,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB";
}

// Loads `sql` as a plain file with defer_keys on one fake session, "s0": the number of
// keys added after the data. The file is removed, also when the load throws.
std::uint64_t load_deferring_keys(FakeMysqlConnector& mysql, const std::string& sql,
                                  const SqlSectionHooks& hooks = {}) {
    fs::path path = fs::temp_directory_path() / "migrate-load-test-defer.sql";
    write_file(path, sql);
    struct Remove {
        fs::path path;
        ~Remove() { fs::remove(path); }
    } remove{path};
    CancelToken cancel;
    auto session = fake_session(mysql, cancel, "s0");
    SqlLoadTally tally;
    SqlSectionOptions options;
    options.defer_keys = true;
    load_sql_sections({session.get()}, path.string(), "dump.sql", 0, options, cancel, tally, hooks);
    return tally.keys_deferred;
}

TEST_CASE("load sql sections: defer_keys makes each table without its keys, adds them at its end",
          "[mysql_load]") {
    const std::string sql = "DROP TABLE IF EXISTS `a`;\n" + create_with_key("a", "v") +
                            ";\nINSERT INTO `a` VALUES (1,1);\nDROP TABLE IF EXISTS `b`;\n" +
                            create_with_key("b", "w") + ";\nINSERT INTO `b` VALUES (2,2);\n";
    FakeMysqlConnector mysql;
    std::vector<std::string> said;
    SqlSectionHooks hooks;
    hooks.say = [&](const std::string& line) { said.push_back(line); };

    SECTION("keys after each table's rows, before the section counts as done") {
        CHECK(load_deferring_keys(mysql, sql, hooks) == 2);
        CHECK(mysql.statements() ==
              std::vector<std::string>{
                  "s0: DROP TABLE IF EXISTS `a`", "s0: " + create_without_key("a", "v"),
                  "s0: SELECT DATABASE()", "s0: ALTER TABLE `a`",
                  "s0: INSERT INTO `a` VALUES (1,1)", "s0: COMMIT",
                  "s0: ALTER TABLE `a` ADD KEY `by_v` (`v`)", "s0: DROP TABLE IF EXISTS `b`",
                  "s0: " + create_without_key("b", "w"), "s0: SELECT DATABASE()",
                  "s0: ALTER TABLE `b`", "s0: INSERT INTO `b` VALUES (2,2)", "s0: COMMIT",
                  "s0: ALTER TABLE `b` ADD KEY `by_w` (`w`)", "s0: COMMIT"});
        CHECK(said.empty());
    }
    SECTION("a user who may not ALTER TABLE: the table made again with its keys, the next too") {
        FakeMysqlAnswer denied;
        denied.error = 1142;
        denied.message = "ALTER command denied to user 'u'@'h' for table `d`.`a`";
        mysql.script("ALTER TABLE `a`", denied);
        CHECK(load_deferring_keys(mysql, sql, hooks) == 0);
        CHECK(mysql.statements() ==
              std::vector<std::string>{
                  "s0: DROP TABLE IF EXISTS `a`", "s0: " + create_without_key("a", "v"),
                  "s0: SELECT DATABASE()", "s0: ALTER TABLE `a`", "s0: DROP TABLE IF EXISTS `a`",
                  "s0: " + create_with_key("a", "v"), "s0: INSERT INTO `a` VALUES (1,1)",
                  "s0: COMMIT", "s0: DROP TABLE IF EXISTS `b`", "s0: " + create_with_key("b", "w"),
                  "s0: INSERT INTO `b` VALUES (2,2)", "s0: COMMIT", "s0: COMMIT"});
        REQUIRE(said.size() == 1);
        CHECK_THAT(said[0], Catch::StartsWith("defer_keys: secondary keys are built during the "
                                              "load, as the user may not add them after it: "));
        CHECK_THAT(said[0], Catch::Contains("ALTER command denied"));
    }
    SECTION("a failed ALTER TABLE names it and the table's section is not done") {
        FakeMysqlAnswer full;
        full.error = 1114;
        full.message = "The table `a` is full";
        mysql.script("ALTER TABLE `a` ADD KEY `by_v` (`v`)", full);
        std::vector<std::size_t> checkpoints;
        hooks.checkpoint = [&](std::size_t done) { checkpoints.push_back(done); };
        CHECK_THROWS_WITH(load_deferring_keys(mysql, sql, hooks),
                          Catch::StartsWith("dump.sql: adding the secondary keys of `a` after "
                                            "its data (ALTER TABLE `a` ADD KEY `by_v` (`v`)): ") &&
                              Catch::Contains("The table `a` is full"));
        for (std::size_t done : checkpoints) CHECK(done == 0);
    }
}

TEST_CASE("load sql sections: deferred keys go to the database their table was made in",
          "[mysql_load]") {
    // mysqldump --databases: the next database's USE is read before the table's section ends.
    const std::string create = create_with_key("t", "v");
    FakeMysqlConnector mysql;
    for (const char* database : {"a", "b"}) {
        FakeMysqlAnswer answer;
        answer.columns = {"DATABASE()"};
        answer.rows = {{std::string(database)}};
        mysql.script("SELECT DATABASE()", answer);
    }
    CHECK(load_deferring_keys(mysql, "USE `a`;\nDROP TABLE IF EXISTS `t`;\n" + create +
                                         ";\nINSERT INTO `t` VALUES (1,1);\nCREATE DATABASE "
                                         "`b`;\nUSE `b`;\nDROP TABLE IF EXISTS `t`;\n" +
                                         create + ";\nINSERT INTO `t` VALUES (2,2);\nUSE `a`;\n") ==
          2);
    std::vector<std::string> run = mysql.statements();
    auto position = [&](const std::string& line) {
        return std::find(run.begin(), run.end(), line) - run.begin();
    };
    long a_keys = position("s0: ALTER TABLE `a`.`t` ADD KEY `by_v` (`v`)");
    long b_keys = position("s0: ALTER TABLE `b`.`t` ADD KEY `by_v` (`v`)");
    REQUIRE(a_keys < static_cast<long>(run.size()));
    REQUIRE(b_keys < static_cast<long>(run.size()));
    CHECK(position("s0: USE `b`") < a_keys);  // the USE came first, and did not move them
    CHECK(std::count_if(run.begin(), run.end(), [](const std::string& line) {
              return line.find("ADD KEY") != std::string::npos;
          }) == 2);
}

TEST_CASE("load sql sections: a CREATE TABLE before the first section keeps its keys",
          "[mysql_load]") {
    FakeMysqlConnector mysql;
    CHECK(load_deferring_keys(
              mysql, create_with_key("t", "v") + ";\nINSERT INTO `t` VALUES (1,1);\n") == 0);
    CHECK(mysql.statements() == std::vector<std::string>{"s0: " + create_with_key("t", "v"),
                                                         "s0: INSERT INTO `t` VALUES (1,1)",
                                                         "s0: COMMIT"});
}

TEST_CASE("load sql sections: a resumed load passes the finished tables but for their settings",
          "[mysql_load]") {
    fs::path path = fs::temp_directory_path() / "migrate-load-test-resume.sql";
    write_file(path,
               "SET NAMES utf8mb4;\nDROP TABLE IF EXISTS `a`;\nINSERT INTO `a` VALUES (1);\n"
               "DROP TABLE IF EXISTS `b`;\nINSERT INTO `b` VALUES (2);\n");
    FakeMysqlConnector mysql;
    CancelToken cancel;
    auto session = fake_session(mysql, cancel, "s0");
    SqlLoadTally tally;
    load_sql_sections({session.get()}, path.string(), "dump.sql", 3, {}, cancel, tally, {});
    CHECK(mysql.statements() ==
          std::vector<std::string>{"s0: SET NAMES utf8mb4", "s0: DROP TABLE IF EXISTS `b`",
                                   "s0: INSERT INTO `b` VALUES (2)", "s0: COMMIT", "s0: COMMIT"});
    CHECK(starts_table_section("DROP TABLE IF EXISTS `b`"));
    CHECK_FALSE(starts_table_section("/*!50001 DROP TABLE IF EXISTS `v`*/"));
    CHECK_FALSE(starts_table_section("DROP VIEW IF EXISTS `v`"));
    fs::remove(path);
}
