// Streaming one SQL file into a session: reader -> decoder thread -> splitter -> server.
#include "migrate/steps/sql_file_load.h"

#include <cctype>
#include <cstring>
#include <stdexcept>

#include "migrate/steps/archive_stream.h"
#include "migrate/util/digest.h"
#include "migrate/util/error.h"

namespace migrate::steps {
namespace {

// An uncompressed file through the same decoder thread as a compressed one, so reading the
// disk and running statements overlap the same way.
class PlainDecoder : public Decoder {
public:
    explicit PlainDecoder(PartReader& reader) : m_reader(reader) {}
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
    PartReader& m_reader;
};

// "statement 12 (line 40, INSERT INTO `accounts` ...)"
std::string position_of(const SqlStatement& statement) {
    return "statement " + std::to_string(statement.number) + " (line " + std::to_string(statement.line) + ", " +
           statement_summary(statement.text) + ")";
}

// mariadb-dump (10.11.8 and later) begins its files with a command for the mariadb client,
// hidden from the server in a comment for version 99.99.99: the client command goes.
std::string_view without_sandbox_command(std::string_view text) {
    static constexpr std::string_view k_sandbox = "/*M!999999\\- enable the sandbox mode */";
    if (text.substr(0, k_sandbox.size()) != k_sandbox) return text;
    text.remove_prefix(k_sandbox.size());
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    return text;
}

class FileLoad {
public:
    FileLoad(engine::MysqlSession& session, const std::string& name, const SqlLoadOptions& options,
             CancelToken& cancel, SqlLoadTally& tally)
        : m_session(session), m_name(name), m_options(options), m_cancel(cancel), m_tally(tally) {}

    void feed(std::string_view chunk) {
        try {
            m_splitter.feed(chunk, [this](const SqlStatement& statement) { run(statement); });
        } catch (const std::invalid_argument& e) {
            throw StepError(m_name + ": " + e.what(), false);
        }
        m_tally.raw_bytes.fetch_add(chunk.size(), std::memory_order_relaxed);
    }

    void finish() {
        std::string problem = m_splitter.finish([this](const SqlStatement& statement) { run(statement); });
        if (!problem.empty()) throw StepError(m_name + ": " + problem + " (is the file cut short?)", false);
        if (m_options.commit_bytes > 0) commit("at its end");
    }

private:
    void run(const SqlStatement& statement) {
        if (m_cancel.cancelled() || (m_options.stop != nullptr && m_options.stop->load()))
            throw StepError(m_name + ": stopped before " + position_of(statement), true);
        if (m_options.before && !m_options.before(statement)) return;
        std::string_view text = without_sandbox_command(statement.text);
        if (text.empty()) return;
        for (bool again = true;; again = false) {
            try {
                m_session.execute(text);
                break;
            } catch (const engine::MysqlError& e) {
                if (again && m_options.recover && m_options.recover(m_session, e)) continue;
                throw engine::MysqlError(m_name + ": " + position_of(statement) + ": " + e.what(), e.code(),
                                         e.retryable());
            }
        }
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

    engine::MysqlSession& m_session;
    const std::string& m_name;
    const SqlLoadOptions& m_options;
    CancelToken& m_cancel;
    SqlLoadTally& m_tally;
    SqlSplitter m_splitter;
    std::uint64_t m_uncommitted = 0;
};

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

void load_sql_file(engine::MysqlSession& session, const std::string& path, const std::string& name,
                   const SqlFileExpectation& expected, const SqlLoadOptions& options, CancelToken& cancel,
                   SqlLoadTally& tally) {
    PartReader reader({path});
    Compression compression = sniff_compression(reader);
    Sha256 digest;
    if (!expected.sha256.empty()) reader.hash_into(&digest);
    std::unique_ptr<Decoder> decoder = compression == Compression::none ? std::make_unique<PlainDecoder>(reader)
                                                                         : make_decoder(compression, reader);
    FileLoad load(session, name, options, cancel, tally);
    std::uint64_t raw = 0;
    tally.file_bytes.store(0);
    {
        DecodedStream stream(std::move(decoder));
        for (std::string_view block = stream.next(); !block.empty(); block = stream.next()) {
            raw += block.size();
            tally.file_bytes.store(reader.position(), std::memory_order_relaxed);
            load.feed(block);
        }
    }
    // The whole file was read: its hash and length are known now. The statements are run
    // already (but for an unended last one); the caller makes sure a table loaded from a
    // file that fails here is not taken for a loaded one.
    if (!expected.sha256.empty()) {
        std::string actual = digest.hex_digest();
        if (actual != expected.sha256)
            throw StepError(name + ": SHA-256 " + actual + " does not match the manifest's " + expected.sha256 +
                                ": the file was damaged or replaced after the dump",
                            false);
    }
    if (expected.raw_bytes && raw != *expected.raw_bytes)
        throw StepError(name + ": decompresses to " + std::to_string(raw) + " bytes of SQL, the manifest says " +
                            std::to_string(*expected.raw_bytes),
                        false);
    load.finish();
}

std::string statement_keywords(std::string_view statement, std::size_t words) {
    std::string out;
    std::size_t i = 0, found = 0;
    while (i < statement.size() && found < words) {
        char c = statement[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (statement.compare(i, 3, "/*!") == 0 || statement.compare(i, 4, "/*M!") == 0) {
            // An executable comment: its version number, then code.
            i += statement[i + 2] == 'M' ? 4 : 3;
            while (i < statement.size() && std::isdigit(static_cast<unsigned char>(statement[i]))) ++i;
        } else if (statement.compare(i, 2, "/*") == 0) {
            std::size_t end = statement.find("*/", i + 2);
            i = end == std::string_view::npos ? statement.size() : end + 2;
        } else if (statement.compare(i, 2, "*/") == 0) {
            i += 2;
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

}  // namespace migrate::steps
