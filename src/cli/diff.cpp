// migrate diff JOURNAL_A JOURNAL_B
#include <iostream>

#include "cli.h"
#include "migrate/report/render.h"

namespace migrate::cli {

CommandAction setup_diff(CLI::App& app, GlobalOptions& global) {
    struct Options {
        std::string a, b;
        bool force = false;
    };
    auto options = std::make_shared<Options>();
    app.add_option("journal_a", options->a, "the earlier run")->required();
    app.add_option("journal_b", options->b, "the later run")->required();
    app.add_flag("--force", options->force,
                 "read the records before the first bad line of journals that do not verify");
    return [options, &global] {
        heap_for_journals({options->a, options->b});
        report::Timeline a = report::load_timeline(options->a, options->force);
        report::Timeline b = report::load_timeline(options->b, options->force);
        report::RunDiff diff = report::diff_runs(a, options->a, b, options->b);
        if (global.json())
            print_json(report::diff_json(diff));
        else
            std::cout << report::diff_text(diff);
        return 0;
    };
}

}  // namespace migrate::cli
