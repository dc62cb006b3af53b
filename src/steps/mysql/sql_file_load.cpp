// Streaming one SQL file into a session: reader -> decoder thread -> splitter -> server.
#include "migrate/steps/mysql/sql_file_load.h"

#include <cctype>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "migrate/steps/files/archive_stream.h"
#include "migrate/steps/mysql/load_data.h"
#include "migrate/steps/mysql/load_keys.h"
#include "migrate/util/digest.h"
#include "migrate/util/error.h"

namespace migrate::steps::mysql {
namespace {

// An uncompressed file through the same decoder thread as a compressed one, so reading the
// disk and running statements overlap the same way.
class PlainDecoder : public files::Decoder {
public:
    explicit PlainDecoder(files::PartReader& reader) : m_reader(reader) {}
    std::size_t decode(char* out, std::size_t size) override {
        std::size_t filled = 0;
        while (filled < size) {
            std::size_t got = m_reader.read(out + filled, size - filled);
            if (got == 0) break;
            filled += got;
        }
        return filled;
    }

private:
    files::PartReader& m_reader;
};

// "statement 12 (line 40, INSERT INTO `accounts` ...)"
std::string position_of(const sql::SqlStatement& statement) {
    return "statement " + std::to_string(statement.number) + " (line " +
           std::to_string(statement.line) + ", " + sql::statement_summary(statement.text) + ")";
}

// mariadb-dump (10.11.8 and later) begins its files with a command for the mariadb client,
// hidden from the server in a comment for version 99.99.99: the client command goes.
std::string_view without_sandbox_command(std::string_view text) {
    static constexpr std::string_view k_sandbox = "/*M!999999\\- enable the sandbox mode */";
    if (text.substr(0, k_sandbox.size()) != k_sandbox) return text;
    text.remove_prefix(k_sandbox.size());
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    return text;
}

// Runs statements on one session: the error names the file and statement; COMMIT every
// `commit_bytes` of SQL; a dump's INSERTs as LOAD DATA when the options say so.
class StatementRunner {
public:
    StatementRunner(io::db::Session& session, const std::string& name,
                    const SqlLoadOptions& options, CancelToken& cancel, SqlLoadTally& tally)
        : m_session(session),
          m_name(name),
          m_options(options),
          m_cancel(cancel),
          m_tally(tally),
          m_load_data(options.load_data) {}

    void run(const sql::SqlStatement& statement) {
        if (m_cancel.cancelled() || (m_options.stop != nullptr && m_options.stop->load()))
            throw StepError(m_name + ": stopped before " + position_of(statement), true);
        if (m_options.before && !m_options.before(statement)) return;
        std::string_view text = without_sandbox_command(statement.text);
        if (text.empty()) return;
        std::optional<std::string> rewritten;
        if (m_options.rewrite) rewritten = m_options.rewrite(text);
        if (rewritten) text = *rewritten;
        if (!run_as_load_data(text, statement)) execute(text, statement);
        m_tally.statements.fetch_add(1, std::memory_order_relaxed);
        m_uncommitted += statement.text.size();
        if (m_options.commit_bytes > 0 && m_uncommitted >= m_options.commit_bytes)
            commit("after " + position_of(statement));
    }

    void commit(const std::string& where) {
        try {
            m_session.execute("COMMIT");
        } catch (const StepError& e) {
            throw StepError(m_name + ": COMMIT " + where + ": " + e.what(), e.retryable());
        }
        m_uncommitted = 0;
    }

    // The end of the file: what is left is committed.
    void flush() {
        if (m_options.commit_bytes > 0) commit("at the end of the file");
    }

private:
    void execute(std::string_view text, const sql::SqlStatement& statement) {
        for (bool again = true;; again = false) {
            try {
                m_session.execute(text);
                return;
            } catch (const io::db::DbError& e) {
                if (again && m_options.recover && m_options.recover(m_session, e)) continue;
                throw io::db::DbError(m_name + ": " + position_of(statement) + ": " + e.what(),
                                      e.code(), e.retryable());
            }
        }
    }

    // A dump's INSERT run as LOAD DATA: true when it was, false when it is to run as it is.
    bool run_as_load_data(std::string_view text, const sql::SqlStatement& statement) {
        if (!m_load_data) return false;
        std::string first = statement_keywords(text, 1);
        if (first == "SET" || first == "USE") {  // SET NAMES may change the strings' charset
            m_charset.clear();
            return false;
        }
        if (first != "INSERT") return false;  // asks the server nothing for anything else
        if (m_charset.empty())
            m_charset = m_session.first_value("SELECT @@character_set_client").value_or("");
        std::optional<LoadDataForm> form = insert_as_load_data(text, m_charset);
        if (!form) return false;
        unsigned warnings = 0;
        std::uint64_t loaded = 0;
        try {
            loaded = m_session.load_data(form->statement, form->rows, warnings);
        } catch (const io::db::DbError& e) {
            if (io::db::Session::load_data_refused(e.code())) {
                m_load_data = false;  // the server allows no LOAD DATA LOCAL: INSERTs
                return false;
            }
            throw io::db::DbError(
                m_name + ": " + position_of(statement) + " (as LOAD DATA): " + e.what(), e.code(),
                e.retryable());
        }
        if (loaded != form->row_count || warnings > 0) {
            // LOAD DATA LOCAL turns what would fail an INSERT (a duplicate key, a value out
            // of range) into warnings: here they fail the statement as the INSERT would.
            Warning warning = warnings > 0 ? first_warning(m_session) : Warning{};
            std::string what =
                warning.message.empty()
                    ? "LOAD DATA loaded " + std::to_string(loaded) + " of its " +
                          std::to_string(form->row_count) + " rows"
                    : warning.message + " (error " + std::to_string(warning.code) + ")";
            throw io::db::DbError(
                m_name + ": " + position_of(statement) + ": " + m_session.spec().describe() + ": " +
                    what + "; as LOAD DATA, " + std::to_string(loaded) + " of its " +
                    std::to_string(form->row_count) + " rows into " + form->table +
                    " loaded, with " + std::to_string(warnings) +
                    " warning(s); the table is loaded again from its start on a retry or "
                    "resume (`load_data: false` runs the INSERTs instead)",
                warning.code, false);
        }
        m_tally.load_data.fetch_add(1, std::memory_order_relaxed);
        return true;
    }

    struct Warning {
        unsigned code = 0;
        std::string message;
    };
    // The last statement's first warning (SHOW WARNINGS: Level, Code, Message).
    static Warning first_warning(io::db::Session& session) {
        Warning warning;
        try {
            std::unique_ptr<io::db::Result> result = session.query("SHOW WARNINGS LIMIT 1");
            io::db::Row row;
            while (result->next(row))
                if (row.size() >= 3 && warning.message.empty()) {
                    warning.code = static_cast<unsigned>(std::stoul(std::string(row.view(1))));
                    warning.message = std::string(row.view(2));
                }
        } catch (const std::exception&) {
            // the counts are reported all the same
        }
        return warning;
    }

    io::db::Session& m_session;
    const std::string& m_name;
    const SqlLoadOptions& m_options;
    CancelToken& m_cancel;
    SqlLoadTally& m_tally;
    std::uint64_t m_uncommitted = 0;
    bool m_load_data;       // off for good once the server refuses LOAD DATA LOCAL
    std::string m_charset;  // the session's character_set_client; "" until asked
};

// Reads, decodes and splits a file, handing each statement to `sink` as it is complete.
void stream_sql_file(const std::string& path, const std::string& name,
                     const SqlFileExpectation& expected, SqlLoadTally& tally,
                     const std::function<void(const sql::SqlStatement&)>& sink) {
    files::PartReader reader({path});
    files::Compression compression = files::sniff_compression(reader);
    Sha256 digest;
    if (!expected.sha256.empty()) reader.hash_into(&digest);
    std::unique_ptr<files::Decoder> decoder = compression == files::Compression::none
                                                  ? std::make_unique<PlainDecoder>(reader)
                                                  : files::make_decoder(compression, reader);
    sql::SqlSplitter splitter;
    std::uint64_t raw = 0;
    tally.file_bytes.store(0);
    {
        files::DecodedStream stream(std::move(decoder));
        for (std::string_view block = stream.next(); !block.empty(); block = stream.next()) {
            raw += block.size();
            tally.file_bytes.store(reader.position(), std::memory_order_relaxed);
            try {
                splitter.feed(block, sink);
            } catch (const UsageError& e) {
                throw StepError(name + ": " + e.what(), false);
            }
            tally.raw_bytes.fetch_add(block.size(), std::memory_order_relaxed);
        }
    }
    // The whole file was read: its hash and length are known now. The statements are run
    // already (but for an unended last one); the caller makes sure a table loaded from a
    // file that fails here is not taken for a loaded one.
    if (!expected.sha256.empty()) {
        std::string actual = digest.hex_digest();
        if (actual != expected.sha256)
            throw StepError(name + ": SHA-256 " + actual + " does not match the manifest's " +
                                expected.sha256 +
                                ": the file was damaged or replaced after the dump",
                            false);
    }
    if (expected.raw_bytes && raw != *expected.raw_bytes)
        throw StepError(name + ": decompresses to " + std::to_string(raw) +
                            " bytes of SQL, the manifest says " +
                            std::to_string(*expected.raw_bytes),
                        false);
    std::string problem = splitter.finish(sink);
    if (!problem.empty())
        throw StepError(name + ": " + problem + " (is the file cut short?)", false);
}

// ---- table sections on several sessions

constexpr std::uint64_t k_queue_bytes = 32 << 20;  // per session, read ahead of it
constexpr std::size_t k_no_section = static_cast<std::size_t>(-1);
constexpr Millis k_wait_tick{250};

// A statement copied out of the splitter's buffer for a session's queue, or the end of a
// section (COMMIT, then the section counts as done).
struct QueuedStatement {
    std::string text;
    std::size_t number = 0;
    std::size_t line = 0;
    std::size_t section = k_no_section;
    bool section_end = false;
};

bool may_run_beside_other_tables(std::string_view statement) {
    std::string words = statement_keywords(statement, 2);
    std::string first = words.substr(0, words.find(' '));
    return first == "INSERT" || first == "REPLACE" || first == "SET" || first == "LOCK" ||
           first == "UNLOCK" || words == "ALTER TABLE" || words == "CREATE TABLE";
}

class SectionLoad {
public:
    SectionLoad(const std::vector<io::db::Session*>& sessions, const std::string& name,
                std::size_t resume_after, const SqlSectionOptions& options, CancelToken& cancel,
                SqlLoadTally& tally, const SqlSectionHooks& hooks)
        : m_name(name),
          m_resume_after(resume_after),
          m_cancel(cancel),
          m_tally(tally),
          m_hooks(hooks),
          m_defer_keys(options.defer_keys),
          m_checkpointed(resume_after) {
        m_options.commit_bytes = options.commit_bytes;
        m_options.load_data = options.load_data;
        m_options.stop = &m_stop;
        for (io::db::Session* session : sessions)
            m_workers.push_back(std::make_unique<Worker>(session));
        for (std::size_t i = 0; i < m_workers.size(); ++i)
            m_workers[i]->thread = std::thread([this, i] { work(i); });
    }
    ~SectionLoad() { close(); }
    SectionLoad(const SectionLoad&) = delete;
    SectionLoad& operator=(const SectionLoad&) = delete;

    // On the reading thread, for every statement of the file in order.
    void dispatch(const sql::SqlStatement& statement) {
        say_note();
        rethrow_failure();
        std::string_view text = statement.text;
        if (statement.number <= m_resume_after) {
            if (sets_up_session(text)) to_every_session(statement);
        } else if (starts_table_section(text)) {
            begin_section(statement);
        } else if (m_current == k_no_section || statement_keywords(text, 1) == "USE") {
            // Before the first table: session settings for every session, the rest (CREATE
            // DATABASE...) on one while the others wait. A USE goes to every session once
            // each has run what it was given: the CREATE DATABASE of a file of several
            // databases is in the section before (a session that runs the USE first would
            // not find the database).
            if (statement_keywords(text, 1) == "USE") wait_until_idle(k_no_section);
            if (sets_up_session(text)) {
                to_every_session(statement);
            } else {
                wait_until_idle(k_no_section);
                push(0, queued(statement, k_no_section));
                wait_until_idle(k_no_section);
            }
        } else {
            if (!may_run_beside_other_tables(text)) wait_until_idle(m_current);
            push(m_current, queued(statement, m_section));
        }
        m_last_read = sql::SqlStatement{{}, statement.number, statement.line};
        if (m_hooks.progress) m_hooks.progress(statement);
    }

    void finish() {
        end_section();
        // Whatever ran outside a section (a file without DROP TABLE) is committed too.
        for (std::size_t i = 0; i < m_workers.size(); ++i) {
            QueuedStatement commit;
            commit.section_end = true;
            push(i, std::move(commit));
        }
        wait_until_idle(k_no_section);
        m_finished = true;
        close();
        say_note();
        rethrow_failure();
        advance_checkpoint(0);
    }

private:
    struct Worker {
        explicit Worker(io::db::Session* s) : session(s) {}
        io::db::Session* session;
        std::deque<QueuedStatement> queue;
        std::uint64_t queued_bytes = 0;
        bool busy = false;
        std::thread thread;
    };
    struct Section {
        std::size_t start = 0;  // its DROP TABLE's statement number
        bool done = false;
    };

    static QueuedStatement queued(const sql::SqlStatement& statement, std::size_t section) {
        return QueuedStatement{std::string(statement.text), statement.number, statement.line,
                               section, false};
    }

    void begin_section(const sql::SqlStatement& statement) {
        end_section();
        advance_checkpoint(statement.number);
        std::size_t worker = wait_for_idle_worker();
        {
            std::lock_guard lock(m_mutex);
            m_sections.push_back(Section{statement.number, false});
        }
        m_section = m_sections.size() - 1;
        m_current = worker;
        push(worker, queued(statement, m_section));
    }

    void end_section() {
        if (m_current == k_no_section) return;
        QueuedStatement end;
        end.section = m_section;
        end.section_end = true;
        push(m_current, std::move(end));
    }

    void to_every_session(const sql::SqlStatement& statement) {
        for (std::size_t i = 0; i < m_workers.size(); ++i) push(i, queued(statement, k_no_section));
    }

    // Waits (reporting, checkpointing) until `ready` holds; the lock is held when it does.
    template <typename Ready>
    void wait(std::unique_lock<std::mutex>& lock, Ready ready) {
        while (!ready()) {
            if (m_error) return;
            m_changed.wait_for(lock, k_wait_tick);
            lock.unlock();
            advance_checkpoint(0);
            // The sessions may run well behind the reader (and do, at the end): keep
            // reporting what they have done while it waits (the hook throttles).
            if (m_hooks.progress) m_hooks.progress(m_last_read);
            lock.lock();
        }
    }

    void push(std::size_t worker, QueuedStatement statement) {
        std::unique_lock lock(m_mutex);
        Worker& w = *m_workers[worker];
        wait(lock, [&] { return w.queued_bytes < k_queue_bytes; });
        if (m_error) {
            lock.unlock();
            rethrow_failure();
        }
        w.queued_bytes += statement.text.size();
        w.queue.push_back(std::move(statement));
        lock.unlock();
        m_changed.notify_all();
    }

    bool idle(const Worker& worker) const { return worker.queue.empty() && !worker.busy; }

    std::size_t wait_for_idle_worker() {
        std::unique_lock lock(m_mutex);
        std::size_t found = k_no_section;
        wait(lock, [&] {
            for (std::size_t i = 0; i < m_workers.size(); ++i)
                if (idle(*m_workers[i])) {
                    found = i;
                    return true;
                }
            return false;
        });
        lock.unlock();
        rethrow_failure();
        return found;
    }

    // Until every session but `except` has run all it was given.
    void wait_until_idle(std::size_t except) {
        std::unique_lock lock(m_mutex);
        wait(lock, [&] {
            for (std::size_t i = 0; i < m_workers.size(); ++i)
                if (i != except && !idle(*m_workers[i])) return false;
            return true;
        });
        lock.unlock();
        rethrow_failure();
    }

    // The statements before the first section still loading are committed: checkpoint
    // there. `next_start`: a section about to begin (all before it may be done).
    void advance_checkpoint(std::size_t next_start) {
        std::size_t safe = 0;
        {
            std::lock_guard lock(m_mutex);
            if (m_error) return;
            while (m_first_open < m_sections.size() && m_sections[m_first_open].done)
                ++m_first_open;
            if (m_first_open < m_sections.size())
                safe = m_sections[m_first_open].start - 1;
            else if (next_start > 0)
                safe = next_start - 1;
        }
        if (safe > m_checkpointed) {
            m_checkpointed = safe;
            if (m_hooks.checkpoint) m_hooks.checkpoint(safe);
        }
    }

    // On the reading thread: a worker's line for the operator, once.
    void say_note() {
        std::string note;
        {
            std::lock_guard lock(m_mutex);
            note.swap(m_note);
        }
        if (!note.empty() && m_hooks.say) m_hooks.say(note);
    }

    void work(std::size_t index) {
        Worker& w = *m_workers[index];
        SqlLoadOptions options = m_options;
        std::vector<DeferredKeys> deferred;  // of this session's tables, added at their end
        std::string original;                // the CREATE TABLE last made without its keys
        bool in_section = false;  // a table's CREATE TABLE before the first section waits not
        if (m_defer_keys)
            options.rewrite = [&](std::string_view text) -> std::optional<std::string> {
                if (!in_section || !m_defer_keys.load()) return std::nullopt;
                std::optional<DeferredKeys> split = defer_secondary_keys(text);
                if (!split) return std::nullopt;
                original = text;
                std::string create = std::move(split->create);
                deferred.push_back(std::move(*split));
                return create;
            };
        StatementRunner runner(*w.session, m_name, options, m_cancel, m_tally);
        for (;;) {
            QueuedStatement item;
            {
                std::unique_lock lock(m_mutex);
                m_changed.wait(lock, [&] { return !w.queue.empty() || m_closing; });
                if (w.queue.empty()) return;
                item = std::move(w.queue.front());
                w.queue.pop_front();
                w.queued_bytes -= item.text.size();
                w.busy = true;
            }
            m_changed.notify_all();
            bool ok = false;
            try {
                if (!m_stop.load()) {
                    if (item.section_end) {
                        runner.commit("at the end of a table");
                        add_keys(w, deferred);
                    } else {
                        in_section = item.section != k_no_section;
                        std::size_t before = deferred.size();
                        runner.run(sql::SqlStatement{item.text, item.number, item.line});
                        if (deferred.size() > before)
                            keep_keys_without_alter(w, deferred, original);
                    }
                    ok = true;
                }
            } catch (...) {
                std::lock_guard lock(m_mutex);
                if (!m_error) m_error = std::current_exception();
                m_stop = true;
            }
            {
                std::lock_guard lock(m_mutex);
                w.busy = false;
                if (ok && item.section_end && item.section != k_no_section)
                    m_sections[item.section].done = true;
            }
            m_changed.notify_all();
        }
    }

    // The table just made without its keys: placed in its database; when the user may not
    // ALTER it, made again with them, and no later table defers its keys.
    void keep_keys_without_alter(Worker& w, std::vector<DeferredKeys>& deferred,
                                 const std::string& original) {
        std::optional<std::string> why;
        try {
            why = place_deferred_keys(*w.session, deferred.back(), original);
        } catch (const io::db::DbError& e) {
            throw io::db::DbError(m_name + ": " + e.what(), e.code(), e.retryable());
        }
        if (!why) return;
        deferred.pop_back();
        if (!m_defer_keys.exchange(false)) return;
        std::lock_guard lock(m_mutex);
        m_note = *why;
    }

    // At the end of a section, after its rows are committed: the keys of its table.
    void add_keys(Worker& w, std::vector<DeferredKeys>& deferred) {
        for (const DeferredKeys& keys : deferred) {
            try {
                add_deferred_keys(*w.session, keys);
            } catch (const io::db::DbError& e) {
                throw io::db::DbError(m_name + ": " + e.what(), e.code(), e.retryable());
            }
            m_tally.keys_deferred.fetch_add(keys.keys.size());
        }
        deferred.clear();
    }

    void rethrow_failure() {
        std::exception_ptr error;
        {
            std::lock_guard lock(m_mutex);
            error = m_error;
        }
        if (!error) return;
        close();
        say_note();  // why a table's keys were kept, even when a later statement failed
        std::rethrow_exception(error);
    }

    void close() {
        {
            std::lock_guard lock(m_mutex);
            if (m_closing) return;
            m_closing = true;
            if (m_error || !m_finished) m_stop = true;
            // Stopped early (an error, a cancel): what is queued is not run.
            if (m_stop.load())
                for (auto& worker : m_workers) worker->queue.clear();
        }
        m_changed.notify_all();
        for (auto& worker : m_workers)
            if (worker->thread.joinable()) worker->thread.join();
    }

    const std::string& m_name;
    std::size_t m_resume_after;
    CancelToken& m_cancel;
    SqlLoadTally& m_tally;
    const SqlSectionHooks& m_hooks;
    sql::SqlStatement m_last_read;  // number and line of the last statement read (no text)
    SqlLoadOptions m_options;
    std::atomic<bool> m_defer_keys;  // until a user who may not ALTER TABLE is met
    std::atomic<bool> m_stop{false};

    std::mutex m_mutex;  // guards the queues, sections, busy flags and the error
    std::condition_variable m_changed;
    std::vector<std::unique_ptr<Worker>> m_workers;
    std::vector<Section> m_sections;
    std::exception_ptr m_error;
    std::string m_note;  // a worker's line for the operator, said by the reading thread
    bool m_closing = false;
    bool m_finished = false;  // every statement ran: the workers end once their queues are empty

    // The reading thread's own.
    std::size_t m_current = k_no_section;  // the worker of the section being read
    std::size_t m_section = k_no_section;
    std::size_t m_first_open = 0;
    std::size_t m_checkpointed = 0;
};

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

void load_sql_file(io::db::Session& session, const std::string& path, const std::string& name,
                   const SqlFileExpectation& expected, const SqlLoadOptions& options,
                   CancelToken& cancel, SqlLoadTally& tally) {
    StatementRunner runner(session, name, options, cancel, tally);
    stream_sql_file(path, name, expected, tally,
                    [&](const sql::SqlStatement& statement) { runner.run(statement); });
    runner.flush();
}

void load_sql_sections(const std::vector<io::db::Session*>& sessions, const std::string& path,
                       const std::string& name, std::size_t resume_after,
                       const SqlSectionOptions& options, CancelToken& cancel, SqlLoadTally& tally,
                       const SqlSectionHooks& hooks) {
    SectionLoad load(sessions, name, resume_after, options, cancel, tally, hooks);
    stream_sql_file(path, name, {}, tally,
                    [&](const sql::SqlStatement& statement) { load.dispatch(statement); });
    load.finish();
}

bool starts_table_section(std::string_view statement) {
    statement = without_sandbox_command(statement);
    std::size_t first = statement.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || statement.substr(first, 2) == "/*") return false;
    return statement_keywords(statement, 2) == "DROP TABLE";
}

std::string statement_keywords(std::string_view statement, std::size_t words) {
    statement = without_sandbox_command(statement);
    std::string out;
    std::size_t i = 0, found = 0;
    while (i < statement.size() && found < words) {
        char c = statement[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (statement.compare(i, 3, "/*!") == 0 || statement.compare(i, 4, "/*M!") == 0) {
            // An executable comment: its version number, then code.
            i += statement[i + 2] == 'M' ? 4 : 3;
            while (i < statement.size() && std::isdigit(static_cast<unsigned char>(statement[i])))
                ++i;
        } else if (statement.compare(i, 2, "/*") == 0) {
            std::size_t end = statement.find("*/", i + 2);
            i = end == std::string_view::npos ? statement.size() : end + 2;
        } else if (statement.compare(i, 2, "*/") == 0) {
            i += 2;
        } else if (c == '#' || (statement.compare(i, 2, "--") == 0 &&
                                (i + 2 == statement.size() ||
                                 static_cast<unsigned char>(statement[i + 2]) <= ' '))) {
            std::size_t end = statement.find('\n', i);
            i = end == std::string_view::npos ? statement.size() : end + 1;
        } else if (is_word_char(c)) {
            if (!out.empty()) out += ' ';
            while (i < statement.size() && is_word_char(statement[i]))
                out += static_cast<char>(std::toupper(static_cast<unsigned char>(statement[i++])));
            ++found;
        } else {
            break;
        }
    }
    return out;
}

bool sets_up_session(std::string_view statement) {
    std::string first = statement_keywords(statement, 1);
    return first == "SET" || first == "USE";
}

}  // namespace migrate::steps::mysql
