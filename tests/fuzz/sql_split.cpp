// libFuzzer target: the SQL splitter of the sql kind and mysql.load, fed the input in one
// piece and again in chunks of every size the first byte chooses; both must agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "migrate/steps/sql/sql_split.h"
#include "migrate/util/error.h"

namespace {

using migrate::steps::sql::SqlSplitter;
using migrate::steps::sql::SqlStatement;

std::vector<std::string> split(std::string_view text, std::size_t chunk, std::string& problem,
                               bool& threw) {
    std::vector<std::string> statements;
    auto keep = [&](const SqlStatement& statement) {
        statements.emplace_back(statement.text);
        migrate::steps::sql::statement_summary(statement.text, 40);
    };
    SqlSplitter splitter;
    try {
        for (std::size_t at = 0; at < text.size(); at += chunk)
            splitter.feed(text.substr(at, chunk), keep);
        problem = splitter.finish(keep);
    } catch (const migrate::UsageError& e) {
        problem = e.what();
        threw = true;
    }
    return statements;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::size_t chunk = data[0] % 16 + 1;
    std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::string whole_problem, chunked_problem;
    bool threw = false;
    std::vector<std::string> whole = split(text, text.size() + 1, whole_problem, threw);
    std::vector<std::string> chunked = split(text, chunk, chunked_problem, threw);
    // Streaming must not change the result (an exception may come at another point).
    if (!threw && (whole != chunked || whole_problem != chunked_problem)) std::abort();
    return 0;
}
