// shell: a command on this machine through /bin/sh; output to a per-step log, tail in the
// journal, stdout as an output.
#include <unistd.h>

#include <filesystem>

#include "../families.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"
#include "migrate/util/units.h"

namespace migrate::steps::basic {
namespace {

// Bytes in a file, or in all the files under a directory.
std::uintmax_t measure(const std::string& path) {
    std::error_code error;
    if (std::filesystem::is_regular_file(path, error))
        return std::filesystem::file_size(path, error);
    if (!std::filesystem::is_directory(path, error))
        throw StepError("measure_bytes: '" + path + "' does not exist after the command", false);
    std::uintmax_t total = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path, error))
        if (entry.is_regular_file(error)) total += entry.file_size(error);
    return total;
}

class ShellRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        return context.params.string("command");
    }

    void preflight(kinds::StepContext& context) override {
        std::string cwd = context.params.string("cwd");
        if (!cwd.empty() && !std::filesystem::is_directory(cwd))
            throw StepError("working directory '" + cwd + "' does not exist", false);
        if (::access("/bin/sh", X_OK) != 0) throw StepError("/bin/sh is not executable", false);
    }

    void run(kinds::StepContext& context) override {
        io::ProcessSpec spec;
        spec.command = context.params.string("command");
        spec.cwd = context.params.string("cwd");
        spec.env = context.params.string_map("env");
        spec.log_path = context.log_path;
        std::int64_t started = context.services.clock.steady_ms();
        std::int64_t last_shown = 0;
        spec.on_tick = [&](const std::string& last_line) {
            std::int64_t now = context.services.clock.steady_ms();
            if (now - last_shown < 2000) return;
            last_shown = now;
            std::string line = shorten(last_line, 120);
            context.events.progress(
                "running " + format_duration(Millis(now - started)) +
                    (line.empty() ? ", no output yet" : ", last: " + line) +
                    (context.log_path.empty() ? "" : " (log " + context.log_path + ")"),
                {{"elapsed_ms", now - started}});
        };
        io::ProcessResult result = context.services.processes.run(spec, context.cancel);
        context.details["exit_code"] = result.exit_code;
        context.details["tail"] = result.output_tail;
        context.outputs["exit_code"] = std::to_string(result.exit_code);
        context.outputs["stdout"] = trim(result.stdout_text);
        if (context.cancel.cancelled()) throw StepError("stopped", true);
        std::vector<std::string> accepted = context.params.string_list("success_codes");
        if (accepted.empty()) accepted.push_back("0");
        if (std::find(accepted.begin(), accepted.end(), std::to_string(result.exit_code)) !=
            accepted.end()) {
            if (context.params.has("measure_bytes"))
                context.metrics["bytes"] = measure(context.params.string("measure_bytes"));
            return;
        }
        if (result.term_signal != 0 && result.exit_code < 0)
            throw StepError(
                "the command was killed by signal " + std::to_string(result.term_signal), true);
        std::string last = tail_lines(result.output_tail, 1, 300);
        throw StepError("the command exited with status " + std::to_string(result.exit_code) +
                            (last.empty() ? "" : ": " + last),
                        true);
    }
};

}  // namespace

kinds::KindSpec shell_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "shell",
                .summary = "a command on this machine (/bin/sh -c); output to a log file per step, "
                           "its tail in the journal",
                .params = {{"command", runbook::ParamType::text, true, "",
                            "the command line, run by /bin/sh -c"},
                           {"cwd", runbook::ParamType::string, false, "", "working directory"},
                           {"env", runbook::ParamType::string_map, false, "",
                            "environment variables added for the command"},
                           {"success_codes", runbook::ParamType::string_list, false, "",
                            "exit codes that mean success (default: 0)"},
                           {"measure_bytes", runbook::ParamType::string, false, "",
                            "a file or directory the command produced: its size becomes the step's "
                            "bytes metric (for scale)"}},
                .outputs = {"stdout", "exit_code"},
            },
        .make = [] { return std::make_unique<ShellRunner>(); },
    };
}

}  // namespace migrate::steps::basic
