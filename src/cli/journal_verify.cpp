// migrate journal verify JOURNAL: check the hash chain and the format; name the first bad line.
#include <iostream>
#include <set>

#include "../journal/scan.h"
#include "cli.h"

namespace migrate::cli {

CommandAction setup_journal(CLI::App& app, GlobalOptions& global) {
    app.require_subcommand(1);
    CLI::App* verify =
        app.add_subcommand("verify", "check the hash chain and format; name the first bad line");
    auto path = std::make_shared<std::string>();
    verify->add_option("journal", *path, "the journal file")->required();
    return [path, &global] {
        journal::JournalText text = journal::JournalText::load(*path);
        std::set<std::string, std::less<>> runs;
        std::size_t records = 0;
        journal::ReadResult result =
            journal::scan_journal(text, [&](const journal::ScannedRecord& record) {
                ++records;
                if (record.event == "run.start" || record.event == "run.resume") {
                    std::string_view run;
                    if (record.element["run"].get_string().get(run) == simdjson::SUCCESS)
                        runs.emplace(run);
                }
            });
        std::optional<journal::Problem> problem =
            result.problem ? result.problem : result.torn_tail;
        if (global.json()) {
            Json out{
                {"journal", *path}, {"ok", !problem}, {"records", records}, {"runs", runs.size()}};
            if (problem)
                out["problem"] = Json{{"line", problem->line}, {"message", problem->message}};
            print_json(out);
        } else if (problem) {
            std::cerr << *path << ":" << problem->line << ": " << problem->message << "\n"
                      << "  (" << records << " records before it verify)" << std::endl;
        } else {
            std::cout << *path << ": ok: " << records << " records, " << runs.size()
                      << " run(s), hash chain intact" << std::endl;
        }
        return problem ? 1 : 0;
    };
}

}  // namespace migrate::cli
