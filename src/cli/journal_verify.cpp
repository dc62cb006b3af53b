// migrate journal verify JOURNAL: check the hash chain and the format; name the first bad line.
#include <iostream>
#include <set>

#include "cli.h"
#include "migrate/journal/journal.h"

namespace migrate::cli {

CommandAction setup_journal(CLI::App& app, GlobalOptions& global) {
    app.require_subcommand(1);
    CLI::App* verify = app.add_subcommand("verify", "check the hash chain and format; name the first bad line");
    auto path = std::make_shared<std::string>();
    verify->add_option("journal", *path, "the journal file")->required();
    return [path, &global] {
        journal::ReadResult result = journal::read_journal(*path);
        std::set<std::string> runs;
        for (const journal::Record& record : result.records) runs.insert(record.string("run"));
        std::optional<journal::Problem> problem = result.problem ? result.problem : result.torn_tail;
        if (global.json()) {
            Json out{{"journal", *path}, {"ok", !problem}, {"records", result.records.size()}, {"runs", runs.size()}};
            if (problem) out["problem"] = Json{{"line", problem->line}, {"message", problem->message}};
            print_json(out);
        } else if (problem) {
            std::cerr << *path << ":" << problem->line << ": " << problem->message << "\n"
                      << "  (" << result.records.size() << " records before it verify)" << std::endl;
        } else {
            std::cout << *path << ": ok: " << result.records.size() << " records, " << runs.size()
                      << " run(s), hash chain intact" << std::endl;
        }
        return problem ? 1 : 0;
    };
}

}  // namespace migrate::cli
