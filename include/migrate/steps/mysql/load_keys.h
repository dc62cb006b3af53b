// mysql.load's deferred secondary keys: a table is created without its plain secondary keys,
// loaded, and given them in one ALTER TABLE at the end, so InnoDB builds each index once
// from sorted keys instead of inserting into it row by row (as myloader's
// --innodb-optimize-keys does).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migrate::steps::mysql {

struct DeferredKeys {
    std::string create;             // the CREATE TABLE without them
    std::vector<std::string> keys;  // "KEY `by_customer` (`customer`,`created`)", in order
};

// Splits the plain secondary keys (`KEY ...`; not PRIMARY, UNIQUE, FULLTEXT or SPATIAL ones)
// off a CREATE TABLE statement as SHOW CREATE TABLE writes it: one definition per line,
// indented two spaces, between the line that opens with `(` and the one that closes it.
// Nothing when there is no such key, when the table has a foreign key (its index must be
// there when the constraint is made), or when the text is not in that form.
std::optional<DeferredKeys> defer_secondary_keys(std::string_view create_table);

// ALTER TABLE `table` ADD KEY ..., ADD KEY ...: every deferred key in one statement.
std::string add_keys_statement(const std::string& table, const std::vector<std::string>& keys);

}  // namespace migrate::steps::mysql
