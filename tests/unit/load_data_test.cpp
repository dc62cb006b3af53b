// mysql.load's INSERT-to-LOAD DATA conversion: the rows it writes for each kind of literal,
// and every INSERT it leaves alone.
#include <catch2/catch.hpp>

#include "migrate/steps/mysql/load_data.h"

using migrate::steps::mysql::insert_as_load_data;

TEST_CASE("a dump's INSERT becomes LOAD DATA rows, one line per row") {
    auto form = insert_as_load_data(
        "INSERT INTO `tickets` (`id`,`subject`,`amount`,`closed`) VALUES "
        "(1,'first',12.50,NULL),\n(2,'second',-3e2,NULL);",
        "utf8mb4");
    REQUIRE(form);
    CHECK(form->row_count == 2);
    CHECK(form->table == "`tickets`");
    CHECK(form->rows == "1\tfirst\t12.50\t\\N\n2\tsecond\t-3e2\t\\N\n");
    CHECK(form->statement ==
          "LOAD DATA LOCAL INFILE 'migrate-rows' INTO TABLE `tickets` CHARACTER SET utf8mb4 "
          "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
          "(`id`,`subject`,`amount`,`closed`)");
}

TEST_CASE("SQL's escapes become LOAD DATA's, byte for byte") {
    // In SQL: a\'b, a''b, \\, \n, \r, \t, \0, \Z, \% and \_ (which keep their backslash),
    // \" and \x (the byte itself), a raw tab and a raw newline.
    auto form = insert_as_load_data(
        "INSERT INTO t (a) VALUES ('a\\'b a''b \\\\ \\n\\r\\t\\0\\Z \\% \\_ \\\" \\x \t|\n|')",
        "utf8mb4");
    REQUIRE(form);
    CHECK(form->rows == "a'b a'b \\\\ \\n\\r\\t\\0\\Z \\\\% \\\\_ \" x \\t|\\n|\n");
}

TEST_CASE("a string that reads \\N stays a string; NULL is \\N; '' is empty, not NULL") {
    auto form = insert_as_load_data("INSERT INTO t (a,b,c) VALUES ('\\\\N',null,'')", "latin1");
    REQUIRE(form);
    CHECK(form->rows == "\\\\N\t\\N\t\n");
    CHECK(form->statement.find("CHARACTER SET latin1") != std::string::npos);
}

TEST_CASE("0x bytes are unhexed into their column; '' beside them is an empty value") {
    auto form = insert_as_load_data(
        "INSERT INTO `db`.`files` (`id`,`content`) VALUES (1,0x00ff10),(2,''),(3,NULL),(4,X'AB')",
        "utf8mb4");
    REQUIRE(form);
    CHECK(form->table == "`db`.`files`");
    CHECK(form->rows == "1\t00ff10\n2\t\n3\t\\N\n4\tAB\n");
    CHECK(form->statement.find("(`id`,@migrate_hex_1) SET `content` = UNHEX(@migrate_hex_1)") !=
          std::string::npos);
}

TEST_CASE("an INSERT without a column list loads into the table's columns") {
    auto form = insert_as_load_data("insert into `t` values (1,'a'),(2,'b')", "utf8mb4");
    REQUIRE(form);
    CHECK(form->rows == "1\ta\n2\tb\n");
    CHECK(form->statement.back() == '\'');  // ends at LINES TERMINATED BY '\n': no list
}

TEST_CASE("INSERTs that cannot be carried exactly are left as they are") {
    for (const char* insert : {
             "INSERT IGNORE INTO t (a) VALUES (1)",
             "REPLACE INTO t (a) VALUES (1)",
             "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = 2",
             "INSERT INTO t (a) VALUES (NOW())",
             "INSERT INTO t (a) VALUES (b'101')",
             "INSERT INTO t (a) VALUES (_binary 'x')",
             "INSERT INTO t (a) VALUES (1 + 2)",
             "INSERT INTO t (a) VALUES (DEFAULT)",
             "INSERT INTO t (a) VALUES ('open",
             "INSERT INTO t (a,b) VALUES (1)",
             "INSERT INTO t (a) VALUES (1,2)",
             "INSERT INTO t VALUES (1),(1,2)",
             "INSERT INTO t VALUES (0x01)",               // bytes, but no column to unhex into
             "INSERT INTO t (a) VALUES (0x01),('text')",  // bytes and text in one column
             "INSERT INTO t (a) VALUES (1); DELETE FROM t",
             "INSERT INTO t (a) SELECT 1",
             "UPDATE t SET a = 1",
             "INSERT INTO t (a) VALUES (1e)x",
         })
        CHECK_FALSE(insert_as_load_data(insert, "utf8mb4"));
    CHECK_FALSE(insert_as_load_data("INSERT INTO t (a) VALUES (1)", "utf8mb4'; DROP"));
}
