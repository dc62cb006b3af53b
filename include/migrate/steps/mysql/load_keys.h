// mysql.load's deferred secondary keys: a table is created without its plain secondary keys,
// loaded, and given them in one ALTER TABLE at the end, so InnoDB builds each index once
// from sorted keys instead of inserting into it row by row (as myloader's
// --innodb-optimize-keys does).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migrate::io::db {
class Session;
}

namespace migrate::steps::mysql {

struct DeferredKeys {
    std::string table;              // as the CREATE TABLE names it, quoted: "`tickets`"
    std::string create;             // the CREATE TABLE without them
    std::vector<std::string> keys;  // "KEY `by_customer` (`customer`,`created`)", in order
};

// Splits the plain secondary keys (`KEY ...`; not PRIMARY, UNIQUE, FULLTEXT or SPATIAL ones)
// off a CREATE TABLE statement as SHOW CREATE TABLE writes it: one definition per line,
// indented two spaces, between the line that opens with `(` and the one that closes it.
// Nothing when there is no such key, when the table has a foreign key (its index must be
// there when the constraint is made), or when the text is not in that form (a name that is
// not quoted, `IF NOT EXISTS`).
std::optional<DeferredKeys> defer_secondary_keys(std::string_view create_table);

// ALTER TABLE `table` ADD KEY ..., ADD KEY ...: every deferred key in one statement.
std::string add_keys_statement(const DeferredKeys& deferred);

// Runs that ALTER TABLE; its failure names it: "adding the secondary keys of `t` after its
// data (ALTER TABLE ...): <the server's message>", with the server's code.
void add_deferred_keys(io::db::Session& session, const DeferredKeys& deferred);

// Right after the table was created (empty) without its keys, on the session that made
// it: the name gets the session's database (a plain file may USE another one before the
// keys are added: `a`.`t`, not `b`.`t`), then an ALTER TABLE that changes nothing tries
// the grant. A user may be granted CREATE and INSERT but not ALTER, and could then not add
// the keys after the data: when the server refuses (error 1142), the table is made again
// as its CREATE TABLE was written (`original`), and the returned line says why the keys
// are built during the load. Nothing when the keys may wait. Another failure is thrown,
// naming the table.
std::optional<std::string> place_deferred_keys(io::db::Session& session, DeferredKeys& deferred,
                                               std::string_view original);

// An attempt killed while its ALTER TABLE added keys leaves that statement running on the
// server, and the next attempt's DROP TABLE of the table waits for it, maybe for hours, with
// nothing to show. Before a load into `database` that an earlier attempt of the step wrote
// (a resume, a retry), such statements of the same user (`ALTER TABLE `database`.`t` ADD
// KEY ...`, the form add_keys_statement writes) are stopped with KILL QUERY: their table
// is loaded again from scratch anyway. Returns a line per statement found, for the
// operator: stopped, or why not.
std::vector<std::string> stop_earlier_key_builds(io::db::Session& session,
                                                 const std::string& database);

}  // namespace migrate::steps::mysql
