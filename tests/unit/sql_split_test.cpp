// The SQL statement splitter: quotes, escapes, backticks, comments, lines, and chunks.
#include <catch2/catch.hpp>

#include "migrate/steps/sql/sql_split.h"

using namespace migrate::steps::sql;

namespace {

std::vector<std::string> texts(std::string_view sql) {
    std::vector<std::string> out;
    for (const SqlStatementText& statement : split_sql(sql)) out.push_back(statement.text);
    return out;
}

using Strings = std::vector<std::string>;

// Feeds `sql` in pieces of `size` bytes; the statements with their numbers and lines.
Strings split_in_chunks(std::string_view sql, std::size_t size) {
    Strings out;
    SqlSplitter splitter;
    auto keep = [&](const SqlStatement& s) {
        out.push_back(std::to_string(s.number) + "@" + std::to_string(s.line) + ":" +
                      std::string(s.text));
    };
    for (std::size_t at = 0; at < sql.size(); at += size) splitter.feed(sql.substr(at, size), keep);
    std::string problem = splitter.finish(keep);
    if (!problem.empty()) out.push_back("problem: " + problem);
    return out;
}

}  // namespace

TEST_CASE("sql split: statements end at ';', whitespace around them goes", "[sql_split]") {
    CHECK(texts("UPDATE a SET x = 1; UPDATE b SET y = 2;") ==
          Strings{"UPDATE a SET x = 1", "UPDATE b SET y = 2"});
    CHECK(texts("  SELECT 1  \n") == Strings{"SELECT 1"});
    CHECK(texts("SELECT 1;\n\nSELECT 2") == Strings{"SELECT 1", "SELECT 2"});
    CHECK(texts(";;  ; \n").empty());
    CHECK(texts("").empty());
}

TEST_CASE("sql split: ';' inside quotes does not split", "[sql_split]") {
    CHECK(texts("INSERT INTO t VALUES ('a;b'); SELECT \"c;d\"") ==
          Strings{"INSERT INTO t VALUES ('a;b')", "SELECT \"c;d\""});
    CHECK(texts("SELECT 'it''s; fine'; SELECT 2") == Strings{"SELECT 'it''s; fine'", "SELECT 2"});
    CHECK(texts("SELECT \"say \"\"hi;\"\"\"; SELECT 2") ==
          Strings{"SELECT \"say \"\"hi;\"\"\"", "SELECT 2"});
}

TEST_CASE("sql split: backslash escapes a quote inside a string", "[sql_split]") {
    CHECK(texts(R"(SELECT 'it\'s; fine'; SELECT 2)") ==
          Strings{R"(SELECT 'it\'s; fine')", "SELECT 2"});
    CHECK(texts(R"(SELECT 'C:\\'; SELECT 2)") == Strings{R"(SELECT 'C:\\')", "SELECT 2"});
    CHECK(texts(R"(SELECT "a\";b"; SELECT 2)") == Strings{R"(SELECT "a\";b")", "SELECT 2"});
}

TEST_CASE("sql split: backticks quote names; a backslash does not escape in them", "[sql_split]") {
    CHECK(texts("SELECT `a;b` FROM `t``;x`; SELECT 2") ==
          Strings{"SELECT `a;b` FROM `t``;x`", "SELECT 2"});
    CHECK(texts("SELECT `a\\`; SELECT 2") == Strings{"SELECT `a\\`", "SELECT 2"});
}

TEST_CASE("sql split: comments hide ';' and comment-only pieces are no statements", "[sql_split]") {
    CHECK(texts("-- fix the accounts; carefully\nUPDATE a SET x = 1;") ==
          Strings{"UPDATE a SET x = 1"});
    CHECK(texts("# a hash comment; too\nSELECT 1") == Strings{"SELECT 1"});
    CHECK(texts("/* block; comment */ SELECT 1; /* trailing */") == Strings{"SELECT 1"});
    CHECK(texts("SELECT 1 /* inner; */ + 1; SELECT 2") ==
          Strings{"SELECT 1 /* inner; */ + 1", "SELECT 2"});
    CHECK(texts("UPDATE a SET x = 1; -- done\n") == Strings{"UPDATE a SET x = 1"});
    CHECK(texts("/* only */ -- comments\n# here;\n").empty());
}

TEST_CASE("sql split: '--' is a comment only before a space or control character", "[sql_split]") {
    CHECK(texts("SELECT 5--1; SELECT 2") == Strings{"SELECT 5--1", "SELECT 2"});
    CHECK(texts("SELECT 5 --\tnote; still comment\n; SELECT 2") ==
          Strings{"SELECT 5 --\tnote; still comment", "SELECT 2"});
    CHECK(texts("SELECT 1 --") == Strings{"SELECT 1 --"});
}

TEST_CASE("sql split: executable comments are code", "[sql_split]") {
    CHECK(texts("/*!40101 SET NAMES utf8mb4 */;\n/*M!100100 SET x = 1 */;") ==
          Strings{"/*!40101 SET NAMES utf8mb4 */", "/*M!100100 SET x = 1 */"});
}

TEST_CASE("sql split: quotes inside comments and comments inside quotes", "[sql_split]") {
    CHECK(texts("-- don't stop here\nSELECT 1; SELECT 2") == Strings{"SELECT 1", "SELECT 2"});
    CHECK(texts("/* it's */ SELECT 1; SELECT 2") == Strings{"SELECT 1", "SELECT 2"});
    CHECK(texts("SELECT '-- not a comment; really'; SELECT '/*'; SELECT 3") ==
          Strings{"SELECT '-- not a comment; really'", "SELECT '/*'", "SELECT 3"});
}

TEST_CASE("sql split: each statement knows its number and the line its code starts on",
          "[sql_split]") {
    std::string sql = "-- header\nUPDATE a\n  SET x = 'multi\nline';\n\n/* c */ SELECT 2;";
    std::vector<SqlStatementText> statements = split_sql(sql);
    REQUIRE(statements.size() == 2);
    CHECK(statements[0].line == 2);
    CHECK(statements[1].line == 6);
}

TEST_CASE("sql split: any chunking gives the same statements", "[sql_split]") {
    std::string sql =
        "-- fix-ups\nUPDATE a SET s = 'x;y\\'z' WHERE id = 1;\n/*!40101 SET @a = 1 */;\n"
        "SELECT `c;d`, \"e\"\"f;\" FROM t # tail;\n;SELECT 5--1;\n/* end; */ SELECT 'last'";
    Strings whole = split_in_chunks(sql, sql.size());
    REQUIRE(whole.size() == 5);
    CHECK(whole[0] == "1@2:UPDATE a SET s = 'x;y\\'z' WHERE id = 1");
    CHECK(whole[4] == "5@6:SELECT 'last'");
    for (std::size_t size : {1, 2, 3, 5, 7, 13}) {
        INFO("chunks of " << size);
        CHECK(split_in_chunks(sql, size) == whole);
    }
}

TEST_CASE("sql split: a quote or comment left open is named with its line", "[sql_split]") {
    CHECK_THROWS_WITH(split_sql("SELECT 1;\nSELECT 'oops;"),
                      "a ' quote opened on line 2 of the text is never closed");
    CHECK_THROWS_WITH(split_sql("SELECT `x"),
                      "a ` quote opened on line 1 of the text is never closed");
    CHECK_THROWS_WITH(split_sql("SELECT 1; /* open"),
                      "a /* comment opened on line 1 of the text is never closed");
    CHECK(split_in_chunks("SELECT 1; SELECT \"x", 4) ==
          Strings{"1@1:SELECT 1",
                  "problem: a \" quote opened on line 1 of the text is never closed"});
}

TEST_CASE("sql split: a splitter is reusable after finish", "[sql_split]") {
    SqlSplitter splitter;
    Strings seen;
    auto keep = [&](const SqlStatement& s) {
        seen.push_back(std::to_string(s.number) + ":" + std::string(s.text));
    };
    splitter.feed("SELECT 'open", keep);
    CHECK_FALSE(splitter.finish(keep).empty());
    splitter.feed("SELECT 1;", keep);
    CHECK(splitter.finish(keep).empty());
    CHECK(seen == Strings{"1:SELECT 1"});
}

TEST_CASE("sql split: summaries are the first line, shortened without splitting a character",
          "[sql_split]") {
    CHECK(statement_summary("UPDATE a\nSET x = 1") == "UPDATE a ...");
    CHECK(statement_summary("SELECT 1") == "SELECT 1");
    CHECK(statement_summary("SELECT 'ééé'", 10) == "SELECT 'éé ...");  // 10 characters
}

TEST_CASE("sql split: DELIMITER changes the delimiter, as mysqldump writes triggers",
          "[sql_split][delimiter]") {
    std::string sql =
        "CREATE TABLE t (id INT);\n"
        "DELIMITER ;;\n"
        "/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN\n"
        "  SET NEW.id = NEW.id + 1; SET @x = ';;';\nEND */;;\n"
        "DELIMITER ;\n"
        "INSERT INTO t VALUES (1);\n";
    Strings whole = split_in_chunks(sql, sql.size());
    REQUIRE(whole.size() == 3);
    CHECK(whole[0] == "1@1:CREATE TABLE t (id INT)");
    CHECK(whole[1] ==
          "2@3:/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN\n"
          "  SET NEW.id = NEW.id + 1; SET @x = ';;';\nEND */");
    CHECK(whole[2] == "3@7:INSERT INTO t VALUES (1)");
    for (std::size_t size : {1, 2, 3, 5, 7, 13}) {
        INFO("chunks of " << size);
        CHECK(split_in_chunks(sql, size) == whole);
    }
}

TEST_CASE("sql split: the delimiter may be any string, the command any case",
          "[sql_split][delimiter]") {
    CHECK(texts("delimiter //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nDelimiter $$ \nSELECT "
                "2$$ SELECT 3$$") ==
          Strings{"CREATE PROCEDURE p() BEGIN SELECT 1; END", "SELECT 2", "SELECT 3"});
    // A delimiter longer than one character is not split by its first character alone.
    CHECK(texts("DELIMITER ;;\nSELECT 1; SELECT 2;;") == Strings{"SELECT 1; SELECT 2"});
    // The last statement needs no delimiter, and the command may end the text.
    CHECK(texts("DELIMITER ;;\nSELECT 1") == Strings{"SELECT 1"});
    CHECK(texts("SELECT 1;\nDELIMITER ;;").size() == 1);
}

TEST_CASE("sql split: DELIMITER is a command only at the start of a statement",
          "[sql_split][delimiter]") {
    // Inside a statement, in quotes or as part of a name, it is SQL.
    CHECK(
        texts("SELECT 1 AS x,\nDELIMITER ;\nSELECT 'DELIMITER ;;'; SELECT delimiter_x FROM t;") ==
        Strings{"SELECT 1 AS x,\nDELIMITER", "SELECT 'DELIMITER ;;'", "SELECT delimiter_x FROM t"});
    // After a comment it still starts the statement.
    CHECK(texts("-- routines\nDELIMITER ;;\nSELECT 1;;") == Strings{"SELECT 1"});
    // Line numbers go on counting across it.
    std::vector<SqlStatementText> statements = split_sql("SELECT 1;\nDELIMITER ;;\n\nSELECT 2;;");
    REQUIRE(statements.size() == 2);
    CHECK(statements[1].line == 4);
}

TEST_CASE("sql split: DELIMITER without a delimiter is an error naming its line",
          "[sql_split][delimiter]") {
    CHECK_THROWS_WITH(split_sql("SELECT 1;\nDELIMITER   \nSELECT 2;"),
                      "line 2: DELIMITER needs the new delimiter after it (as in DELIMITER ;;)");
}

TEST_CASE("sql split: hex literals and long code run through the fast path unchanged",
          "[sql_split]") {
    std::string hex = "0x";
    for (int i = 0; i < 5000; ++i) hex += "0aFf";
    std::string sql = "INSERT INTO t VALUES (1," + hex +
                      ",-2),(2,'a;b',NULL);\nINSERT INTO t VALUES (3,'',0x00);";
    Strings whole = split_in_chunks(sql, sql.size());
    REQUIRE(whole.size() == 2);
    CHECK(whole[0] == "1@1:INSERT INTO t VALUES (1," + hex + ",-2),(2,'a;b',NULL)");
    for (std::size_t size : {1, 7, 4096}) CHECK(split_in_chunks(sql, size) == whole);
}
