// migrate validate RUNBOOK [--env E] [--set k=v]...
#include <iostream>

#include "cli.h"

namespace migrate::cli {

CommandAction setup_validate(CLI::App& app, GlobalOptions& global) {
    struct Options {
        std::string runbook;
        std::string env;
        std::vector<std::string> sets;
    };
    auto options = std::make_shared<Options>();
    app.add_option("runbook", options->runbook, "the runbook (YAML or JSON)")->required();
    app.add_option("--env", options->env,
                   "check this environment only (default: every environment)");
    app.add_option("--set", options->sets, "override a variable: name=value");
    return [options, &global] {
        runbook::ValidateOptions validate;
        if (!options->env.empty()) validate.env = options->env;
        validate.sets = parse_sets(options->sets);
        runbook::LoadedRunbook loaded = load_checked(options->runbook, validate, global);
        std::size_t steps = loaded.book.steps().size();
        if (global.json()) {
            print_json(Json{{"ok", true},
                            {"name", loaded.book.name},
                            {"phases", loaded.book.phases.size()},
                            {"steps", steps},
                            {"diagnostics", loaded.diagnostics->to_json()}});
        } else {
            std::cout << options->runbook << ": ok: '" << loaded.book.name << "', "
                      << loaded.book.phases.size() << " phases, " << steps << " steps" << std::endl;
        }
        return 0;
    };
}

}  // namespace migrate::cli
