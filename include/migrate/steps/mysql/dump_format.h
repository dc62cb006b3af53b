// The pieces of the dump directory's format (docs/dump-format.md) that need no server: file
// names, the choice of tables by name and glob, and SQL values written fast into a buffer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "migrate/io/db/session.h"

namespace migrate::steps::mysql {

constexpr int k_dump_format_version = 1;
constexpr const char* k_dump_manifest = "migrate-dump.json";
constexpr const char* k_dump_marker = "migrate-dump.complete";
// Every file of a finished dump with its SHA-256, in sha256sum's format: `sha256sum -c` and
// the `verify` kind check a copy of the dump against it.
constexpr const char* k_dump_checksums = "SHA256SUMS";

// A table's name for its files: every byte outside [A-Za-z0-9_-] written %XX.
std::string encode_table_name(std::string_view name);

// The marker's one line: "migrate-dump 1 sha256=<hex>\n".
std::string dump_marker_line(const std::string& manifest_sha256);

// The tables a dump takes out of those the database has, or a load out of those a dump has.
struct TableSelection {
    std::vector<std::string> chosen;    // in the order of `tables`
    std::vector<std::string> excluded;  // present but left out by `exclude`
};

// The one table selection of mysql.dump and mysql.load. `include` (empty: all) and
// `exclude` hold names or globs (*, ?, [..]; glob_match's syntax). An include entry without
// glob characters that names no table, or a glob matching none, is an error: throws
// StepError (not retryable) naming it, with a did-you-mean. Messages name the include
// parameter as `parameter` (as the step wrote it) and the tables' place as `source`.
TableSelection select_tables(const std::vector<std::string>& tables,
                             const std::vector<std::string>& include,
                             const std::vector<std::string>& exclude,
                             std::string_view parameter = "include",
                             std::string_view source = "the database");

// How a column's values are written in SQL.
enum class ValueStyle { number, hex, quoted };
ValueStyle value_style(const io::db::Column& column);

// Appends `text` inside '...' with \0 \n \r \\ \' \" \Z escaped.
void append_quoted(std::string& out, std::string_view text);
// Appends 0x and the hex of `bytes`, or '' when empty.
void append_hex(std::string& out, std::string_view bytes);
void append_value(std::string& out, ValueStyle style, bool is_null, std::string_view value);

// The session settings every data file begins with.
std::string_view dump_file_header();

// CREATE statements as SHOW CREATE prints them, without the DEFINER=... clause, so they load
// as the loading user.
std::string strip_definer(std::string_view create_statement);

}  // namespace migrate::steps::mysql
