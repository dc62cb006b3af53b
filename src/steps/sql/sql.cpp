// sql: statements on a connection (post-import fixes), optionally in one transaction; the
// rows they changed as a metric, values from the last statement's first row as outputs.
#include "../families.h"
#include "migrate/kinds/connections.h"
#include "migrate/steps/sql/sql_split.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::sql {
namespace {

constexpr std::size_t k_output_limit = 64 * 1024;

// Every statement of the step: the list's items, each split at its `;`s.
std::vector<SqlStatementText> statements_of(const kinds::Params& params) {
    std::vector<SqlStatementText> all;
    for (const std::string& item : params.string_list("statements")) {
        try {
            for (SqlStatementText& statement : split_sql(item)) all.push_back(std::move(statement));
        } catch (const UsageError& e) {
            throw StepError(std::string("'statements': ") + e.what(), false);
        }
    }
    if (all.empty()) throw StepError("'statements' holds no statement", false);
    return all;
}

std::string count_of(std::size_t count) {
    return std::to_string(count) + (count == 1 ? " statement" : " statements");
}

// "statement 2 of 3 (UPDATE accounts SET ...)"
std::string label(const std::vector<SqlStatementText>& statements, std::size_t index) {
    return "statement " + std::to_string(index + 1) + " of " + std::to_string(statements.size()) +
           " (" + statement_summary(statements[index].text) + ")";
}

// Where a run without a transaction stopped: statements done, rows changed by them.
struct Progress {
    std::size_t done = 0;
    std::uint64_t rows = 0;
};

class SqlRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& p = context.params;
        try {
            std::vector<SqlStatementText> statements = statements_of(p);
            return count_of(statements.size()) + " on connection '" + p.string("connection") + "'" +
                   (p.boolean("transaction") ? " in one transaction" : "") + ": " +
                   statement_summary(statements.front().text);
        } catch (const std::exception&) {
            return "statements on connection '" + p.string("connection") + "'";
        }
    }

    void preflight(kinds::StepContext& context) override {
        statements_of(context.params);
        kinds::check_connection(context, context.params.string("connection"));
    }

    void run(kinds::StepContext& context) override {
        std::vector<SqlStatementText> statements = statements_of(context.params);
        bool transaction = context.params.boolean("transaction");
        Progress progress = transaction ? Progress{} : resume_point(context, statements.size());
        std::unique_ptr<io::db::Session> session =
            connect(context, context.params.string("connection"));
        if (transaction) session->execute("START TRANSACTION");
        try {
            for (std::size_t i = progress.done; i < statements.size(); ++i) {
                progress.rows += run_statement(context, *session, statements, i);
                progress.done = i + 1;
                report(context, progress, statements.size(), transaction);
            }
        } catch (const StepError& e) {
            if (transaction) throw rolled_back(*session, e);
            throw;
        }
        if (transaction) commit(*session);
        context.metrics["rows"] = progress.rows;
        context.metrics["statements"] = statements.size();
        context.outputs["rows"] = std::to_string(progress.rows);
    }

private:
    // Outside a transaction, each statement done is a checkpoint: a retry or a resume goes
    // on from the next one instead of running the done ones twice.
    static Progress resume_point(kinds::StepContext& context, std::size_t count) {
        if (!context.last_checkpoint || !context.last_checkpoint->is_object()) return {};
        const auto& state = *context.last_checkpoint;
        Progress progress{state.value("statements_done", std::size_t{0}),
                          state.value("rows", std::uint64_t{0})};
        if (progress.done == 0 || progress.done >= count) return {};
        context.events.say(context.step.id + ": statements 1 to " + std::to_string(progress.done) +
                           " ran before; going on with statement " +
                           std::to_string(progress.done + 1));
        return progress;
    }

    static void report(kinds::StepContext& context, const Progress& progress, std::size_t count,
                       bool transaction) {
        if (progress.done == count) return;
        nlohmann::ordered_json metrics{{"rows", progress.rows}, {"statements", progress.done}};
        context.events.progress(std::to_string(progress.done) + " of " + count_of(count) + " done",
                                metrics);
        if (!transaction)
            context.events.checkpoint(
                {{"statements_done", progress.done}, {"rows", progress.rows}});
    }

    // Rows changed by one statement (0 for one that returns rows).
    static std::uint64_t run_statement(kinds::StepContext& context, io::db::Session& session,
                                       const std::vector<SqlStatementText>& statements,
                                       std::size_t index) {
        bool last = index + 1 == statements.size();
        try {
            std::unique_ptr<io::db::Result> result = session.query(statements[index].text);
            if (last && context.params.has("outputs")) take_outputs(context, *result);
            io::db::Row row;
            while (result->next(row)) {
            }
            return result->columns().empty() ? result->affected_rows() : 0;
        } catch (const StepError& e) {
            throw StepError(label(statements, index) + ": " + e.what(), e.retryable());
        }
    }

    static void take_outputs(kinds::StepContext& context, io::db::Result& result) {
        if (result.columns().empty())
            throw StepError("'outputs' needs a statement that returns rows (a SELECT) last", false);
        io::db::Row row;
        bool found = result.next(row);
        for (const auto& [name, column] : context.params.string_map("outputs")) {
            int index = result.column_index(column);
            if (index < 0) {
                std::vector<std::string> names;
                for (const io::db::Column& c : result.columns()) names.push_back(c.name);
                throw StepError("output '" + name + "': the result has no column '" + column + "'" +
                                    did_you_mean(column, names) +
                                    " (columns: " + join(names, ", ") + ")",
                                false);
            }
            if (!found)
                throw StepError("output '" + name + "': the statement returned no row", false);
            context.outputs[name] =
                std::string(utf8_prefix(row.view(static_cast<std::size_t>(index)), k_output_limit));
        }
    }

    static StepError rolled_back(io::db::Session& session, const StepError& error) {
        try {
            session.execute("ROLLBACK");
        } catch (const StepError&) {
            // The connection is gone: the server discards the open transaction by itself.
        }
        return StepError(std::string(error.what()) + "; the transaction was rolled back",
                         error.retryable());
    }

    static void commit(io::db::Session& session) {
        try {
            session.execute("COMMIT");
        } catch (const io::db::DbError& e) {
            bool lost = e.code() == 2006 || e.code() == 2013 || e.code() == 2055;
            throw StepError(std::string("COMMIT: ") + e.what() +
                                (lost ? "; whether the transaction was committed is unknown" : ""),
                            e.retryable());
        }
    }
};

void check_sql(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    if (const runbook::Node* statements = with.find("statements")) {
        std::vector<const runbook::Node*> items;
        if (statements->is_scalar()) items.push_back(statements);
        for (const runbook::Node& item : statements->items) items.push_back(&item);
        std::size_t count = 0;
        bool literal = true;
        for (const runbook::Node* item : items) {
            if (!item->is_scalar() || item->value.find("${") != std::string::npos) {
                literal = false;
                continue;
            }
            try {
                count += split_sql(item->value).size();
            } catch (const UsageError& e) {
                diagnostics.error(item->mark, std::string("'statements': ") + e.what());
                literal = false;
            }
        }
        if (literal && count == 0)
            diagnostics.error(statements->mark,
                              "'statements' holds no statement (only whitespace and comments)");
    }
    if (const runbook::Node* outputs = with.find("outputs"))
        for (const auto& [key, value] : outputs->entries)
            if (key.value == "rows")
                diagnostics.error(
                    key.mark,
                    "the output 'rows' is the step's own (rows changed); name this one otherwise");
}

}  // namespace

kinds::KindSpec sql_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "sql",
                .summary = "statements on a database connection; a value from the last statement's "
                           "result as an output",
                .params =
                    {{"connection", runbook::ParamType::connection, true, "",
                      "a name under 'connections:'"},
                     {"statements", runbook::ParamType::string_list, true, "",
                      "SQL statements: a list, or a text of statements each ended by ';'"},
                     {"transaction", runbook::ParamType::boolean, false, "false",
                      "run all in one transaction, rolled back when one fails"},
                     {"outputs", runbook::ParamType::string_map, false, "",
                      "outputs from the first row of the last statement's result: name: column"}},
                .outputs = {"rows"},
                .declared_outputs = kinds::outputs_map_names,
                .check = check_sql,
            },
        .resumable_inside = true,
        .make = [] { return std::make_unique<SqlRunner>(); },
    };
}

}  // namespace migrate::steps::sql
