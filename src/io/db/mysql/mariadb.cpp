// The MySQL seam over MariaDB Connector/C: sessions that stream results with
// mysql_use_result, errors that name the connection, and cancellation that kills the
// running statement on the server.
#include "migrate/io/db/mysql/mariadb.h"

#include <mysql.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "migrate/util/redactor.h"

namespace migrate::io::db::mysql {

bool error_is_transient(unsigned code) {
    switch (code) {
        case 1040:  // too many connections
        case 1053:  // server shutdown in progress
        case 1205:  // lock wait timeout
        case 1213:  // deadlock
        case 1927:  // connection killed (MariaDB, e.g. while the server shuts down)
        case 2002:  // cannot connect through the socket
        case 2003:  // cannot connect to host:port
        case 2006:  // server has gone away
        case 2013:  // lost connection during a query
        case 2055:  // lost connection, with the system error
            return true;
        default:
            return false;
    }
}

ColumnType column_type_of(unsigned protocol_type, bool numeric) {
    if (numeric) return ColumnType::number;
    switch (protocol_type) {
        case MYSQL_TYPE_BIT:
        case MYSQL_TYPE_VARCHAR:
        case MYSQL_TYPE_VAR_STRING:
        case MYSQL_TYPE_STRING:
        case MYSQL_TYPE_TINY_BLOB:
        case MYSQL_TYPE_MEDIUM_BLOB:
        case MYSQL_TYPE_LONG_BLOB:
        case MYSQL_TYPE_BLOB:
        case MYSQL_TYPE_GEOMETRY:
            return ColumnType::string;
        case MYSQL_TYPE_DATE:
        case MYSQL_TYPE_NEWDATE:
        case MYSQL_TYPE_TIME:
        case MYSQL_TYPE_TIME2:
        case MYSQL_TYPE_DATETIME:
        case MYSQL_TYPE_DATETIME2:
        case MYSQL_TYPE_TIMESTAMP:
        case MYSQL_TYPE_TIMESTAMP2:
        case MYSQL_TYPE_YEAR:
            return ColumnType::temporal;
        default:
            return ColumnType::other;
    }
}

namespace {

constexpr unsigned k_binary_charset = 63;
constexpr Millis k_cancel_poll{50};
constexpr unsigned k_kill_connect_timeout_s = 3;

unsigned whole_seconds(Millis duration) {
    return static_cast<unsigned>(std::max<std::int64_t>(1, (duration.count() + 999) / 1000));
}

// Options shared by a session's connection and the one that kills its statement.
void set_options(MYSQL* mysql, const ConnectionSpec& spec, unsigned connect_timeout) {
    unsigned read_timeout = whole_seconds(spec.read_timeout);
    unsigned write_timeout = whole_seconds(spec.write_timeout);
    mysql_options(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_options(mysql, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
    mysql_options(mysql, MYSQL_OPT_WRITE_TIMEOUT, &write_timeout);
    mysql_options(mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    unsigned protocol = spec.socket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
    mysql_options(mysql, MYSQL_OPT_PROTOCOL, &protocol);
    // A server must never be able to make migrate read a local file (a session allows
    // LOAD DATA LOCAL only through its own handler: see connect()).
    unsigned local_infile = 0;
    mysql_options(mysql, MYSQL_OPT_LOCAL_INFILE, &local_infile);
    if (spec.tls.enabled) {
        my_bool enforce = 1;
        my_bool verify = spec.tls.verify ? 1 : 0;
        mysql_options(mysql, MYSQL_OPT_SSL_ENFORCE, &enforce);
        mysql_options(mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
        if (!spec.tls.ca_file.empty())
            mysql_options(mysql, MYSQL_OPT_SSL_CA, spec.tls.ca_file.c_str());
    }
}

bool open_connection(MYSQL* mysql, const ConnectionSpec& spec) {
    const char* host = spec.socket.empty() ? spec.host.c_str() : "localhost";
    return mysql_real_connect(mysql, host, spec.user.empty() ? nullptr : spec.user.c_str(),
                              spec.password.c_str(),
                              spec.database.empty() ? nullptr : spec.database.c_str(), spec.port,
                              spec.socket.empty() ? nullptr : spec.socket.c_str(),
                              CLIENT_MULTI_RESULTS) != nullptr;
}

DbError error_of(MYSQL* mysql, const ConnectionSpec& spec, const std::string& doing) {
    unsigned code = mysql_errno(mysql);
    std::string message = spec.describe() + ": " + doing + mysql_error(mysql) + " (error " +
                          std::to_string(code) + ")";
    return DbError(Redactor::global().redact(message), code, error_is_transient(code));
}

// Watches a session's cancel token while a statement runs. When it fires, kills the
// statement on the server from a second connection (so the work stops there, not just here)
// and shuts the socket down, which unblocks a read the server will never answer.
class StatementCanceller {
public:
    StatementCanceller(MYSQL* mysql, const ConnectionSpec& spec, CancelToken& cancel)
        : m_mysql(mysql), m_spec(spec), m_cancel(cancel), m_thread([this] { watch(); }) {}
    ~StatementCanceller() {
        {
            std::lock_guard lock(m_mutex);
            m_closing = true;
        }
        m_changed.notify_all();
        m_thread.join();
    }
    StatementCanceller(const StatementCanceller&) = delete;
    StatementCanceller& operator=(const StatementCanceller&) = delete;

    void set_busy(bool busy) { m_busy.store(busy); }
    bool fired() const { return m_fired.load(); }

private:
    void watch() {
        std::unique_lock lock(m_mutex);
        while (!m_closing) {
            m_changed.wait_for(lock, k_cancel_poll);
            if (m_closing || m_fired || !m_cancel.cancelled() || !m_busy.load()) continue;
            m_fired = true;
            lock.unlock();
            kill_statement();
            ::shutdown(static_cast<int>(mysql_get_socket(m_mysql)), SHUT_RDWR);
            lock.lock();
        }
    }

    void kill_statement() {
        MYSQL* killer = mysql_init(nullptr);
        if (killer == nullptr) return;
        set_options(killer, m_spec, k_kill_connect_timeout_s);
        if (open_connection(killer, m_spec)) {
            std::string kill = "KILL QUERY " + std::to_string(mysql_thread_id(m_mysql));
            mysql_real_query(killer, kill.data(), kill.size());
        }
        mysql_close(killer);
    }

    MYSQL* m_mysql;
    const ConnectionSpec& m_spec;
    CancelToken& m_cancel;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_closing = false;
    std::atomic<bool> m_busy{false};
    std::atomic<bool> m_fired{false};
    std::thread m_thread;  // last: starts once the members above exist
};

// The only "file" a session ever sends the server for LOAD DATA LOCAL INFILE: the bytes
// load_data() was given, while it runs. Any other request (a server asking on its own) is
// refused at its start: no local file is ever opened.
struct InfileSource {
    std::string_view data;
    std::size_t sent = 0;
    bool active = false;
};

int infile_init(void** state, const char* /*name*/, void* source) {
    *state = source;
    auto* infile = static_cast<InfileSource*>(source);
    if (infile == nullptr || !infile->active) return 1;
    infile->sent = 0;
    return 0;
}

int infile_read(void* state, char* buffer, unsigned int size) {
    auto* infile = static_cast<InfileSource*>(state);
    std::size_t left = infile->data.size() - infile->sent;
    std::size_t count = std::min<std::size_t>(left, size);
    std::memcpy(buffer, infile->data.data() + infile->sent, count);
    infile->sent += count;
    return static_cast<int>(count);
}

void infile_end(void* /*state*/) {}

int infile_error(void* /*state*/, char* message, unsigned int size) {
    std::snprintf(message, size, "migrate sends no local file but its own LOAD DATA's rows");
    return 2000;  // CR_UNKNOWN_ERROR
}

class MariadbSession;

class MariadbResult : public Result {
public:
    MariadbResult(MariadbSession& session, MYSQL_RES* result, std::uint64_t affected);
    ~MariadbResult() override;
    MariadbResult(const MariadbResult&) = delete;
    MariadbResult& operator=(const MariadbResult&) = delete;
    const std::vector<Column>& columns() const override { return m_columns; }
    bool next(Row& row) override;
    std::uint64_t affected_rows() const override { return m_affected; }

private:
    MariadbSession& m_session;
    MYSQL_RES* m_result;
    std::vector<Column> m_columns;
    std::uint64_t m_affected;
    bool m_done = false;
};

class MariadbSession : public Session {
public:
    MariadbSession(MYSQL* mysql, ConnectionSpec spec, CancelToken& cancel)
        : m_mysql(mysql),
          m_spec(std::move(spec)),
          m_cancel(cancel),
          m_canceller(std::make_unique<StatementCanceller>(m_mysql, m_spec, cancel)) {
        mysql_set_local_infile_handler(m_mysql, infile_init, infile_read, infile_end, infile_error,
                                       &m_infile);
    }
    ~MariadbSession() override {
        m_canceller.reset();  // its thread uses the connection: stop it first
        mysql_close(m_mysql);
    }
    MariadbSession(const MariadbSession&) = delete;
    MariadbSession& operator=(const MariadbSession&) = delete;

    std::uint64_t execute(std::string_view sql) override {
        std::unique_ptr<Result> result = query(sql);
        Row row;
        while (result->next(row)) {
        }
        return result->affected_rows();
    }

    std::unique_ptr<Result> query(std::string_view sql) override {
        check_usable();
        {
            Busy busy(*this);
            if (mysql_real_query(m_mysql, sql.data(), sql.size()) != 0) throw failure("");
        }
        MYSQL_RES* result = mysql_use_result(m_mysql);
        if (result == nullptr && mysql_field_count(m_mysql) != 0) throw failure("");
        std::uint64_t affected = result == nullptr ? mysql_affected_rows(m_mysql) : 0;
        m_result_open = true;
        return std::make_unique<MariadbResult>(*this, result, affected);
    }

    std::uint64_t load_data(std::string_view statement, std::string_view data,
                            unsigned& warnings) override {
        check_usable();
        m_infile = InfileSource{data, 0, true};
        int failed = 0;
        {
            Busy busy(*this);
            failed = mysql_real_query(m_mysql, statement.data(), statement.size());
        }
        m_infile = InfileSource{};
        if (failed != 0) throw failure("");
        warnings = mysql_warning_count(m_mysql);
        return mysql_affected_rows(m_mysql);
    }

    std::string server_version() override { return mysql_get_server_info(m_mysql); }

    void ping() override {
        check_usable();
        Busy busy(*this);
        if (mysql_ping(m_mysql) != 0) throw failure("ping: ");
    }

    void append_escaped(std::string& out, std::string_view text) override {
        std::size_t at = out.size();
        out.resize(at + text.size() * 2 + 1);
        unsigned long written =
            mysql_real_escape_string(m_mysql, out.data() + at, text.data(), text.size());
        out.resize(at + written);
    }

    const ConnectionSpec& spec() const override { return m_spec; }

    // Used by MariadbResult.
    MYSQL* handle() { return m_mysql; }
    DbError failure(const std::string& doing) {
        if (m_canceller->fired())
            return DbError(m_spec.describe() + ": stopped; the statement was killed on the server",
                           mysql_errno(m_mysql), true);
        return error_of(m_mysql, m_spec, doing);
    }
    void result_closed() { m_result_open = false; }

    // Marks a blocking call, so a cancellation knows there is a statement to kill.
    class Busy {
    public:
        explicit Busy(MariadbSession& session) : m_session(session) {
            m_session.m_canceller->set_busy(true);
        }
        ~Busy() { m_session.m_canceller->set_busy(false); }
        Busy(const Busy&) = delete;
        Busy& operator=(const Busy&) = delete;

    private:
        MariadbSession& m_session;
    };

private:
    void check_usable() {
        if (m_result_open)
            throw DbError(m_spec.describe() + ": a result is still being read; finish it first", 0,
                          false);
        if (m_cancel.cancelled()) throw DbError(m_spec.describe() + ": stopped", 0, true);
    }

    MYSQL* m_mysql;
    ConnectionSpec m_spec;
    CancelToken& m_cancel;
    std::unique_ptr<StatementCanceller> m_canceller;
    bool m_result_open = false;
    InfileSource m_infile;
};

MariadbResult::MariadbResult(MariadbSession& session, MYSQL_RES* result, std::uint64_t affected)
    : m_session(session), m_result(result), m_affected(affected), m_done(result == nullptr) {
    if (m_result == nullptr) return;
    unsigned count = mysql_num_fields(m_result);
    const MYSQL_FIELD* fields = mysql_fetch_fields(m_result);
    m_columns.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
        const MYSQL_FIELD& field = fields[i];
        bool numeric = IS_NUM(field.type);
        bool binary = field.charsetnr == k_binary_charset && !numeric;
        m_columns.push_back(
            Column{field.name, column_type_of(field.type, numeric), numeric, binary});
    }
}

MariadbResult::~MariadbResult() {
    MYSQL* mysql = m_session.handle();
    MariadbSession::Busy busy(m_session);
    // Reads what is left of this result, then any further ones (a CALL answers with two).
    if (m_result != nullptr) mysql_free_result(m_result);
    while (mysql_more_results(mysql) && mysql_next_result(mysql) == 0)
        if (MYSQL_RES* more = mysql_use_result(mysql)) mysql_free_result(more);
    m_session.result_closed();
}

bool MariadbResult::next(Row& row) {
    if (m_done) return false;
    MYSQL_ROW values;
    {
        MariadbSession::Busy busy(m_session);
        values = mysql_fetch_row(m_result);
    }
    if (values == nullptr) {
        m_done = true;
        if (mysql_errno(m_session.handle()) != 0) throw m_session.failure("while reading rows: ");
        return false;
    }
    row = Row(values, mysql_fetch_lengths(m_result), m_columns.size());
    ++m_affected;
    return true;
}

}  // namespace

MariadbConnector::MariadbConnector() {
    // Not thread-safe itself; every later call is, once it has run.
    static std::once_flag k_initialised;
    std::call_once(k_initialised, [] { mysql_library_init(0, nullptr, nullptr); });
}

std::unique_ptr<Session> MariadbConnector::connect(const ConnectionSpec& spec,
                                                   CancelToken& cancel) {
    Redactor::global().add_secret(spec.password);
    if (cancel.cancelled()) throw DbError(spec.describe() + ": stopped before connecting", 0, true);
    MYSQL* mysql = mysql_init(nullptr);
    if (mysql == nullptr) throw DbError(spec.describe() + ": out of memory", 0, false);
    set_options(mysql, spec, whole_seconds(spec.connect_timeout));
    // LOAD DATA LOCAL allowed on a session: its handler (infile_init) serves only the rows
    // of a load_data() call, never a file.
    unsigned local_infile = 1;
    mysql_options(mysql, MYSQL_OPT_LOCAL_INFILE, &local_infile);
    if (!open_connection(mysql, spec)) {
        DbError error = error_of(mysql, spec, "cannot connect: ");
        mysql_close(mysql);
        throw error;
    }
    return std::make_unique<MariadbSession>(mysql, spec, cancel);
}

}  // namespace migrate::io::db::mysql
