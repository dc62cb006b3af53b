// mysql.load's deferred secondary keys: what is split off a CREATE TABLE, and what is not.
#include <catch2/catch.hpp>

#include "migrate/steps/mysql/load_keys.h"

using migrate::steps::mysql::add_keys_statement;
using migrate::steps::mysql::defer_secondary_keys;

TEST_CASE("plain secondary keys are split off a CREATE TABLE, the rest kept in order") {
    auto split = defer_secondary_keys(
        "CREATE TABLE `tickets` (\n"
        "  `id` int(10) unsigned NOT NULL,\n"
        "  `customer` int(10) unsigned NOT NULL,\n"
        "  `created` datetime NOT NULL,\n"
        "  `code` varchar(20) DEFAULT NULL COMMENT 'a, b',\n"
        "  PRIMARY KEY (`id`),\n"
        "  UNIQUE KEY `by_code` (`code`),\n"
        "  KEY `by_customer` (`customer`,`created`),\n"
        "  KEY `by_created` (`created`)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    REQUIRE(split);
    CHECK(split->keys == std::vector<std::string>{"KEY `by_customer` (`customer`,`created`)",
                                                  "KEY `by_created` (`created`)"});
    CHECK(split->create ==
          "CREATE TABLE `tickets` (\n"
          "  `id` int(10) unsigned NOT NULL,\n"
          "  `customer` int(10) unsigned NOT NULL,\n"
          "  `created` datetime NOT NULL,\n"
          "  `code` varchar(20) DEFAULT NULL COMMENT 'a, b',\n"
          "  PRIMARY KEY (`id`),\n"
          "  UNIQUE KEY `by_code` (`code`)\n"
          ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    CHECK(split->table == "`tickets`");
    CHECK(add_keys_statement(*split) ==
          "ALTER TABLE `tickets` ADD KEY `by_customer` (`customer`,`created`), ADD KEY "
          "`by_created` (`created`)");
}

TEST_CASE("a key in the middle of the definitions is split off too") {
    auto split = defer_secondary_keys(
        "CREATE TABLE `a` (\n  `id` int NOT NULL,\n  KEY `k` (`v`),\n  `v` int,\n"
        "  PRIMARY KEY (`id`)\n) ENGINE=InnoDB");
    REQUIRE(split);
    CHECK(split->create ==
          "CREATE TABLE `a` (\n  `id` int NOT NULL,\n  `v` int,\n  PRIMARY KEY (`id`)\n) "
          "ENGINE=InnoDB");
}

TEST_CASE("tables whose keys stay as they are") {
    // No secondary key; only unique, full-text and spatial ones.
    CHECK_FALSE(defer_secondary_keys(
        "CREATE TABLE `a` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB"));
    CHECK_FALSE(
        defer_secondary_keys("CREATE TABLE `a` (\n  `t` text,\n  FULLTEXT KEY `f` (`t`),\n"
                             "  UNIQUE KEY `u` (`t`(10))\n) ENGINE=InnoDB"));
    // A foreign key needs its index when the constraint is made.
    CHECK_FALSE(defer_secondary_keys(
        "CREATE TABLE `l` (\n  `id` int NOT NULL,\n  `o` int,\n  PRIMARY KEY (`id`),\n"
        "  KEY `o` (`o`),\n  CONSTRAINT `l_o` FOREIGN KEY (`o`) REFERENCES `o` (`id`)\n"
        ") ENGINE=InnoDB"));
    // Not as SHOW CREATE TABLE writes it: a line break inside a definition, one line, a view.
    CHECK_FALSE(
        defer_secondary_keys("CREATE TABLE `a` (\n  `c` int COMMENT 'one\nline two',\n  KEY `k` "
                             "(`c`)\n) ENGINE=InnoDB"));
    CHECK_FALSE(defer_secondary_keys("CREATE TABLE `a` (`c` int, KEY `k` (`c`)) ENGINE=InnoDB"));
    CHECK_FALSE(defer_secondary_keys("CREATE VIEW `v` AS SELECT 1"));
    CHECK_FALSE(defer_secondary_keys(""));
}

TEST_CASE("a CREATE TABLE whose name is not quoted as SHOW CREATE TABLE writes it is left alone") {
    for (const char* head : {"CREATE TABLE t (", "CREATE TABLE IF NOT EXISTS `t` (",
                             "CREATE TABLE ` (", "CREATE TABLE `t`(x) ("})
        CHECK_FALSE(defer_secondary_keys(std::string(head) +
                                         "\n  `id` int,\n  KEY `k` (`id`)\n) ENGINE=InnoDB"));
    auto qualified = defer_secondary_keys(
        "CREATE TABLE `db`.`t` (\n  `id` int,\n  KEY `k` (`id`)\n) ENGINE=InnoDB");
    REQUIRE(qualified);
    CHECK(qualified->table == "`db`.`t`");
    CHECK(add_keys_statement(*qualified) == "ALTER TABLE `db`.`t` ADD KEY `k` (`id`)");
}
