// The database seam: where a connection goes, a session that runs statements and streams
// results row by row, and the connector that opens sessions. Nothing here is a driver's: the
// binary uses MariaDB Connector/C (io/db/mysql/), unit tests use a fake.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "migrate/util/clock.h"
#include "migrate/util/error.h"

namespace migrate::io::db {

struct Tls {
    bool enabled = false;  // a `tls:` block was given: the connection must be encrypted
    std::string ca_file;   // the CA that signed the server's certificate
    bool verify = true;    // check the server's certificate and host name
};

struct ConnectionSpec {
    std::string name;  // the runbook's name for it, in every message
    std::string host;  // TCP, even for "localhost"
    unsigned port = 3306;
    std::string socket;  // a Unix socket instead of host:port
    std::string user;
    std::string password;  // a secret: never part of a message
    std::string database;
    Tls tls;
    Millis connect_timeout{std::chrono::seconds(10)};
    // How long one read may wait for the server: the longest a single statement may run
    // before the connection is given up as lost.
    Millis read_timeout{std::chrono::hours(1)};
    Millis write_timeout{std::chrono::minutes(10)};

    // "connection 'source' (127.0.0.1:3306)" or "connection 'source' (socket /run/mysqld.sock)"
    std::string describe() const;
};

// A failed connection or statement. retryable() is true for errors that another attempt
// may not meet: the server gone or restarting, a lost connection, a lock wait timeout, a
// deadlock.
class DbError : public StepError {
public:
    DbError(const std::string& message, unsigned code, bool retryable)
        : StepError(message, retryable), m_code(code) {}
    unsigned code() const { return m_code; }  // the server's or client's errno; 0 for our own

private:
    unsigned m_code;
};

// What a column holds, as far as writing its values back as SQL cares. Each driver maps its
// protocol's type codes to these.
enum class ColumnType {
    number,    // integers, decimals, floats: written without quotes
    string,    // character and byte strings, BIT, BLOB/TEXT, GEOMETRY: bytes when `binary`
    temporal,  // dates and times (which come with the binary character set, yet are text)
    other,
};

struct Column {
    std::string name;
    ColumnType type = ColumnType::other;
    bool numeric = false;  // written without quotes in SQL
    bool binary = false;   // bytes, not text (binary charset)
};

// One row of a result, viewed in place: no copy is made. The views are valid until the
// next row is read or the result is destroyed.
class Row {
public:
    Row() = default;
    Row(const char* const* values, const unsigned long* lengths, std::size_t count)
        : m_values(values), m_lengths(lengths), m_count(count) {}
    std::size_t size() const { return m_count; }
    bool is_null(std::size_t column) const { return m_values[column] == nullptr; }
    // The value's bytes ("" for NULL).
    std::string_view view(std::size_t column) const {
        return m_values[column] == nullptr ? std::string_view()
                                           : std::string_view(m_values[column], m_lengths[column]);
    }
    // A copy, nullopt for NULL.
    std::optional<std::string> value(std::size_t column) const {
        if (is_null(column)) return std::nullopt;
        return std::string(view(column));
    }

private:
    const char* const* m_values = nullptr;
    const unsigned long* m_lengths = nullptr;
    std::size_t m_count = 0;
};

// The outcome of one statement. Rows are read from the server as next() asks for them, so
// a result of any size costs the memory of one row. Until it is destroyed (which reads and
// drops what is left), the session runs nothing else.
class Result {
public:
    virtual ~Result() = default;
    // Empty when the statement returns no rows (UPDATE, CREATE...).
    virtual const std::vector<Column>& columns() const = 0;
    // Reads the next row into `row`; false at the end. Throws MysqlError when the
    // connection fails on the way.
    virtual bool next(Row& row) = 0;
    // Rows changed by a statement without a result; rows read so far for one with a result.
    virtual std::uint64_t affected_rows() const = 0;
    // The column's index, or -1.
    int column_index(std::string_view name) const;
};

class Session {
public:
    virtual ~Session() = default;
    // Runs a statement; returns the rows it changed. A result set, if any, is read and dropped.
    virtual std::uint64_t execute(std::string_view sql) = 0;
    // Runs a statement and streams its result (see MysqlResult).
    virtual std::unique_ptr<Result> query(std::string_view sql) = 0;
    // Runs `statement`, a LOAD DATA LOCAL INFILE, with `data` as the file's content: the
    // file name in it is never opened, and a server asking for any file at another time gets
    // nothing. Returns the rows loaded; `warnings` gets the server's warning count. Throws
    // DbError with a code load_data_refused() knows where it cannot be done (a server with
    // local_infile off; this default, for sessions without it, with 1148).
    virtual std::uint64_t load_data(std::string_view statement, std::string_view data,
                                    unsigned& warnings);
    static constexpr unsigned k_load_data_unavailable = 1148;  // ER_NOT_ALLOWED_COMMAND
    // The server's answers to LOAD DATA LOCAL where it is off: 1148 (MySQL, older MariaDB),
    // 4166 (MariaDB 10.5 and later: ER_LOAD_INFILE_CAPABILITY_DISABLED).
    static bool load_data_refused(unsigned code) { return code == 1148 || code == 4166; }
    virtual std::string server_version() = 0;
    // Throws MysqlError when the server does not answer.
    virtual void ping() = 0;
    // Appends `text` escaped for use inside '...' under the session's character set.
    virtual void append_escaped(std::string& out, std::string_view text) = 0;
    virtual const ConnectionSpec& spec() const = 0;

    // Runs a query and returns its first column, one value per row (NULL as "").
    std::vector<std::string> first_column(std::string_view sql);
    // Runs a query and returns the first row's first value: nullopt when there is no row or
    // the value is NULL. Other rows are read and dropped.
    std::optional<std::string> first_value(std::string_view sql);

    std::string escape(std::string_view text) {
        std::string out;
        append_escaped(out, text);
        return out;
    }
};

class Connector {
public:
    virtual ~Connector() = default;
    // Opens a session (utf8mb4, the spec's timeouts). Throws MysqlError naming the connection.
    // While a statement runs, a cancelled `cancel` stops it on the server (KILL QUERY) and
    // unblocks the caller, who gets a MysqlError; the session must not outlive `cancel`.
    virtual std::unique_ptr<Session> connect(const ConnectionSpec& spec, CancelToken& cancel) = 0;
};

}  // namespace migrate::io::db
