// migrate report JOURNAL [--format text|json|md|html] [-o FILE]
#include <fstream>
#include <iostream>

#include "cli.h"
#include "migrate/report/render.h"
#include "migrate/util/error.h"

namespace migrate::cli {

CommandAction setup_report(CLI::App& app, GlobalOptions& global) {
    struct Options {
        std::string journal;
        std::string format;
        std::string output;
        bool force = false;
    };
    auto options = std::make_shared<Options>();
    app.add_option("journal", options->journal, "the run's journal")->required();
    app.add_option("--format", options->format, "text, json, md or html")
        ->check(CLI::IsMember({"text", "json", "md", "html"}));
    app.add_option("-o,--output", options->output, "write to this file instead of stdout");
    app.add_flag("--force", options->force,
                 "read the records before the first bad line of a journal that does not verify");
    return [options, &global] {
        std::string format = options->format.empty() ? global.format : options->format;
        report::Timeline timeline = report::load_timeline(options->journal, options->force);
        std::string text = format == "json"
                               ? report::report_json(timeline, options->journal).dump(2) + "\n"
                           : format == "md"   ? report::report_markdown(timeline, options->journal)
                           : format == "html" ? report::report_html(timeline, options->journal)
                                              : report::report_text(timeline, options->journal);
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
