// migrate report JOURNAL... [--format text|json|md|html] [-o FILE]
#include <fstream>
#include <iostream>
#include <optional>

#include "cli.h"
#include "migrate/report/render.h"
#include "migrate/util/error.h"

namespace migrate::cli {

namespace {

// Rehearsals side by side, with the next run's forecast and the backtest when the runbook
// their first run.start names can still be read.
std::string rehearsals_page(const std::vector<std::string>& paths, bool force,
                            const GlobalOptions& global) {
    std::vector<report::JournalInput> journals = read_journals(paths, force);
    const report::RunInfo* first =
        journals.front().timeline.runs.empty() ? nullptr : &journals.front().timeline.runs.front();
    std::string note;
    std::optional<report::Forecast> forecast;
    std::optional<report::Backtest> backtest;
    if (first != nullptr && !first->runbook.empty()) {
        try {
            runbook::ValidateOptions validate;
            if (!first->env.empty()) validate.env = first->env;
            runbook::LoadedRunbook loaded = load_checked(first->runbook, validate, global, false);
            report::EstimateOptions options;
            options.env = validate.env;
            forecast = report::estimate(loaded.book, journals, options);
            backtest = report::backtest(loaded.book, journals, options);
        } catch (const std::exception& e) {
            note = "No forecast band: the runbook " + first->runbook + " could not be read (" +
                   e.what() + ").";
        }
    }
    return report::rehearsals_html(journals, forecast ? &*forecast : nullptr,
                                   backtest ? &*backtest : nullptr, note);
}

}  // namespace

CommandAction setup_report(CLI::App& app, GlobalOptions& global) {
    struct Options {
        std::vector<std::string> journals;
        std::string format;
        std::string output;
        bool force = false;
    };
    auto options = std::make_shared<Options>();
    app.add_option("journal", options->journals,
                   "the run's journal; several (with --format html): rehearsals side by side")
        ->required();
    app.add_option("--format", options->format, "text, json, md or html")
        ->check(CLI::IsMember({"text", "json", "md", "html"}));
    app.add_option("-o,--output", options->output, "write to this file instead of stdout");
    app.add_flag("--force", options->force,
                 "read the records before the first bad line of a journal that does not verify");
    return [options, &global] {
        std::string format = options->format.empty() ? global.format : options->format;
        heap_for_journals(options->journals);
        std::string text;
        if (options->journals.size() > 1) {
            if (format != "html")
                throw UsageError(
                    "several journals are drawn side by side with --format html "
                    "only; for figures, use 'migrate estimate --backtest' or 'migrate "
                    "diff'");
            text = rehearsals_page(options->journals, options->force, global);
        } else {
            const std::string& journal = options->journals.front();
            report::Timeline timeline = report::load_timeline(journal, options->force);
            text = format == "json"   ? report::report_json(timeline, journal).dump(2) + "\n"
                   : format == "md"   ? report::report_markdown(timeline, journal)
                   : format == "html" ? report::report_html(timeline, journal)
                                      : report::report_text(timeline, journal);
        }
        if (options->output.empty()) {
            std::cout << text;
            return 0;
        }
        // Written beside, then renamed: a reader never sees half a report.
        std::string partial = options->output + ".partial";
        {
            std::ofstream out(partial, std::ios::binary | std::ios::trunc);
            out << text;
            if (!out.flush()) throw Fatal(partial + ": cannot write the report");
        }
        if (std::rename(partial.c_str(), options->output.c_str()) != 0)
            throw Fatal(options->output + ": cannot write the report");
        std::cerr << "report written to " << options->output << "\n";
        return 0;
    };
}

}  // namespace migrate::cli
