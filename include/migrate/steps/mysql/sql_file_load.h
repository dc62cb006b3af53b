// One SQL file streamed into a MySQL session: read and decompressed (plain, gzip or zstd,
// told by its first bytes) on a thread of its own, hashed as it streams, split into
// statements (DELIMITER included) and each statement run as soon as it is complete. No
// copy of the file is made, in memory or on disk.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "migrate/io/db/session.h"
#include "migrate/steps/sql/sql_split.h"

namespace migrate::steps::mysql {

// What the file must prove as it streams (from a dump's manifest); empty: nothing.
struct SqlFileExpectation {
    std::optional<std::uint64_t> raw_bytes;  // the SQL it decompresses to
    std::string sha256;                      // of the file on disk
};

// Counts shared with the thread that reports progress.
struct SqlLoadTally {
    std::atomic<std::uint64_t> raw_bytes{0};      // SQL read and split so far
    std::atomic<std::uint64_t> statements{0};     // statements run
    std::atomic<std::uint64_t> load_data{0};      // of those, INSERTs run as LOAD DATA
    std::atomic<std::uint64_t> keys_deferred{0};  // secondary keys added after the data
    std::atomic<std::uint64_t> file_bytes{0};     // of the file being read, as it is on disk
};

struct SqlLoadOptions {
    // With the session in autocommit=0, COMMIT after this many bytes of statements and at
    // the end of the file: fewer log flushes than one commit per statement. 0: no COMMIT.
    std::uint64_t commit_bytes = 0;
    // A dump's multi-row INSERT of literals runs as LOAD DATA LOCAL (load_data.h): the same
    // rows, without the server parsing SQL. It must load every row without a warning, or
    // the statement fails (LOAD DATA LOCAL turns errors into warnings). Where the server
    // refuses LOAD DATA LOCAL, the session goes on with the INSERTs.
    bool load_data = false;
    // Before each statement: false skips it (a resumed plain file passing what it loaded).
    std::function<bool(const sql::SqlStatement&)> before;
    // Before each statement is run: the text to run instead (a CREATE TABLE without its
    // secondary keys, say), or nothing to run it as it is.
    std::function<std::optional<std::string>(std::string_view)> rewrite;
    // Set by someone else to stop between statements (another table's load failed).
    const std::atomic<bool>* stop = nullptr;
    // Given a statement the server refused: true when it fixed the cause (dropped a
    // procedure that exists already, say) and the statement should run once more.
    std::function<bool(io::db::Session&, const io::db::DbError&)> recover;
};

// Loads `path` into `session`; messages name the file as `name`. Throws StepError
// (engine::MysqlError, with the server's code, for a statement the server refused):
// "NAME: statement 12 (line 40, INSERT INTO `t` ...): <the server's message>", retryable
// when the server's error is (a lost connection, a deadlock); not retryable for damaged
// data, a hash or length that does not match, a quote left open at the end.
void load_sql_file(io::db::Session& session, const std::string& path, const std::string& name,
                   const SqlFileExpectation& expected, const SqlLoadOptions& options,
                   CancelToken& cancel, SqlLoadTally& tally);

struct SqlSectionOptions {
    std::uint64_t commit_bytes = 0;  // as SqlLoadOptions'
    bool load_data = false;          // as SqlLoadOptions'
    // Each table's CREATE TABLE runs without its plain secondary keys (load_keys.h); they
    // are added in one ALTER TABLE at the end of its section, before it counts as done. A
    // user who may not ALTER the table gets its keys, and every later table's, at once.
    bool defer_keys = false;
};

// What a load of table sections tells its caller, on the caller's thread.
struct SqlSectionHooks {
    // Every statement up to `statements_done` is committed: a later attempt may start at
    // the one after (a table's DROP TABLE).
    std::function<void(std::size_t statements_done)> checkpoint;
    // Between statements and while waiting, for progress reports (throttle them).
    std::function<void(const sql::SqlStatement&)> progress;
    // A line for the operator (why keys are not deferred).
    std::function<void(const std::string&)> say;
};

// A file as mysqldump writes it, loaded on several sessions at once. Each table's section
// (from its DROP TABLE to the next table's) runs whole, in order, on one session; sections
// of different tables run side by side. Statements that may depend on other tables (views,
// triggers, routines, anything but the table's own CREATE, ALTER, LOCK, INSERT and SET)
// wait until every other session is idle; the session settings before the first table, and
// every USE, run on every session. Statements up to `resume_after` are passed, but for
// their SET and USE (a resumed attempt). With one session it is the plain sequential load.
void load_sql_sections(const std::vector<io::db::Session*>& sessions, const std::string& path,
                       const std::string& name, std::size_t resume_after,
                       const SqlSectionOptions& options, CancelToken& cancel, SqlLoadTally& tally,
                       const SqlSectionHooks& hooks);

// Does this statement begin a table's section of a mysqldump file (a DROP TABLE not inside
// an executable comment)?
bool starts_table_section(std::string_view statement);

// The statement's first keywords, upper case, with executable comment markers
// (`/*!40101 `, `/*M!100101 `) and plain comments before it passed over: "SET", "DROP TABLE".
std::string statement_keywords(std::string_view statement, std::size_t words);

// Statements that only set the session up (SET ..., USE ...): a resumed plain file runs
// them again while it passes the statements loaded before.
bool sets_up_session(std::string_view statement);

}  // namespace migrate::steps::mysql
