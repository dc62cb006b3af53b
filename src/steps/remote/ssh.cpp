// ssh: a command, or a local script fed to the remote shell, on the hosts of a pattern.
#include <unistd.h>

#include <filesystem>

#include "../families.h"
#include "fanout.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::remote {
namespace {

// The command the remote shell runs: exports, then the command, under sudo when asked.
std::string remote_command(const kinds::Params& params, bool from_script) {
    std::string body;
    for (const auto& [name, value] : params.string_map("env")) {
        if (!is_name(name)) throw StepError("env: bad variable name '" + name + "'", false);
        body += "export " + name + "=" + shell_quote(value) + "; ";
    }
    std::string cwd = params.string("cwd");
    if (!cwd.empty()) body += "cd " + shell_quote(cwd) + " && ";
    body += from_script ? "sh -s" : params.string("command");
    if (!params.boolean("become")) return body;
    return "sudo -n -u " + shell_quote(params.string("become_user")) + " -- sh -c " +
           shell_quote(body);
}

class SshRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& params = context.params;
        std::string what =
            params.has("script") ? "script " + params.string("script") : params.string("command");
        std::string hosts = params.string("hosts");
        try {
            hosts +=
                " (" + std::to_string(context.hosts(params.string("hosts")).size()) + " hosts)";
        } catch (const std::exception&) {
        }
        return what + " on " + hosts + ", " + params.string("parallel") + " at once" +
               (params.has("serial") ? ", batches of " + params.string("serial") : "");
    }

    void preflight(kinds::StepContext& context) override {
        check_command(context.params);
        preflight_fanout(context);
    }

    void run(kinds::StepContext& context) override {
        const kinds::Params& params = context.params;
        check_command(params);
        std::vector<runbook::InventoryHost> hosts = selected_hosts(context);
        FanoutSettings settings = fanout_settings(params);
        SshSession session(context, params);
        bool from_script = params.has("script");
        std::string command = remote_command(params, from_script);
        std::string script = from_script ? params.string("script") : "";
        std::vector<std::string> accepted = params.string_list("success_codes");
        if (accepted.empty()) accepted.push_back("0");

        HostWork work = [&](const runbook::InventoryHost& host, CancelToken& cancel) {
            io::SshTarget target = ssh_target(host);
            io::ProcessSpec spec;
            // exec: the shell becomes the client, one process less per host.
            spec.command = "exec " + io::ssh_command_line(target, session.options(), command);
            if (from_script) spec.command += " < " + shell_quote(script);
            spec.log_path = host_log(context.log_path, host.name);
            session.used(target);
            io::ProcessResult result = context.services.processes.run(spec, cancel);
            HostOutcome outcome;
            outcome.exit_code = result.exit_code;
            outcome.stdout_text = result.stdout_text;
            outcome.tail = result.output_tail;
            outcome.ok = std::find(accepted.begin(), accepted.end(),
                                   std::to_string(result.exit_code)) != accepted.end();
            if (!outcome.ok) {
                std::string last = tail_lines(result.output_tail, 1, 200);
                // 255 is the ssh client's own failure: the host could not be reached.
                outcome.error = result.exit_code == 255 ? "ssh failed: " + last
                                : result.exit_code < 0
                                    ? "stopped"
                                    : "exit " + std::to_string(result.exit_code) +
                                          (last.empty() ? "" : ": " + last);
            }
            return outcome;
        };
        FanoutResult result = run_fanout(context, hosts, settings, params.string("hosts"), work);
        set_fanout_outputs(context, result);
        fail_if_over_budget(context, result);
    }

private:
    static void check_command(const kinds::Params& params) {
        bool command = params.has("command"), script = params.has("script");
        if (command == script)
            throw StepError(
                "give either 'command' or 'script' (a local file run by the remote "
                "shell)",
                false);
        if (script && ::access(params.string("script").c_str(), R_OK) != 0)
            throw StepError("script '" + params.string("script") + "' cannot be read", false);
    }
};

}  // namespace

kinds::KindSpec ssh_kind() {
    using runbook::ParamType;
    std::vector<runbook::ParamSpec> params = {
        {"hosts", ParamType::hosts, true, "",
         "a host pattern over the inventory: a group, all, web:!web3, web[0:9]"},
        {"command", ParamType::text, false, "", "the command line, run by the remote shell"},
        {"script", ParamType::string, false, "",
         "a local script, fed to the remote shell (sh -s) instead of a command"},
        {"env", ParamType::string_map, false, "", "variables exported for the command"},
        {"cwd", ParamType::string, false, "", "directory on the host to run in"},
        {"become", ParamType::boolean, false, "false", "run under sudo -n"},
        {"become_user", ParamType::string, false, "root", "the account sudo runs as"},
        {"success_codes", ParamType::string_list, false, "",
         "exit codes that mean success (default: 0)"},
    };
    for (auto& extra : fanout_params()) params.push_back(std::move(extra));
    for (auto& extra : ssh_params(false)) params.push_back(std::move(extra));
    return kinds::KindSpec{
        .schema =
            {
                .name = "ssh",
                .summary = "a command or script on the hosts of a pattern over the OpenSSH client, "
                           "fanned out with a concurrency limit, batches and a failure budget; "
                           "a result per host",
                .params = std::move(params),
                .outputs = {"ok", "failed", "ok_count", "failed_count"},
                .host_outputs = host_output_fields(),
                .check =
                    [](const runbook::Node& with, runbook::Diagnostics& diagnostics) {
                        if (!with.is_mapping()) return;
                        bool command = with.find("command") != nullptr;
                        bool script = with.find("script") != nullptr;
                        if (command && script)
                            diagnostics.error(with.find("script")->mark,
                                              "give 'command' or 'script', not both");
                        else if (!command && !script)
                            diagnostics.error(with.mark, "an ssh step needs 'command' or 'script'");
                    },
            },
        .resumable_inside = true,
        .make = [] { return std::make_unique<SshRunner>(); },
    };
}

}  // namespace migrate::steps::remote
