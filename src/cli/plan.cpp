// migrate plan RUNBOOK [--env E]: phases, steps, roles, dependencies, the downtime window.
#include <iomanip>
#include <iostream>

#include "cli.h"
#include "migrate/report/render.h"
#include "migrate/runbook/graph.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::cli {
namespace {

std::string marker(const runbook::Step& step) {
    switch (step.downtime) {
        case runbook::DowntimeMarker::start:
            return "downtime starts";
        case runbook::DowntimeMarker::end:
            return "downtime ends";
        default:
            return "";
    }
}

Json plan_json(const runbook::Runbook& book, const runbook::StepGraph& graph,
               const std::string& env) {
    Json phases = Json::array();
    for (const runbook::Phase& phase : book.phases) {
        Json steps = Json::array();
        for (const runbook::Step& step : phase.steps) {
            Json item{{"id", step.id},
                      {"kind", step.kind},
                      {"role", step.role},
                      {"needs", graph.needs(step.id)}};
            if (!step.name.empty()) item["name"] = step.name;
            if (step.when.present) item["when"] = step.when.text;
            if (step.timeout) item["timeout_ms"] = step.timeout->count();
            if (step.retry.attempts > 1) item["attempts"] = step.retry.attempts;
            if (!marker(step).empty())
                item["downtime"] =
                    step.downtime == runbook::DowntimeMarker::start ? "start" : "end";
            if (step.estimate) item["estimate_ms"] = step.estimate->count();
            item["on_failure"] = runbook::on_failure_name(step.on_failure);
            item["on_failure_from"] = step.on_failure_from;
            Json rollback = Json::array();
            for (const runbook::Step& undo : step.rollback) rollback.push_back(undo.id);
            if (!rollback.empty()) item["rollback"] = rollback;
            steps.push_back(item);
        }
        phases.push_back(Json{{"id", phase.id}, {"name", phase.name}, {"steps", steps}});
    }
    Json roles = Json::object();
    roles["executor"] = book.roles.count("executor") ? book.roles.at("executor") : "";
    for (const auto& [id, description] : book.roles) roles[id] = description;
    return Json{{"name", book.name},
                {"env", env},
                {"roles", roles},
                {"phases", phases},
                {"downtime_window", graph.downtime_steps()}};
}

}  // namespace

CommandAction setup_plan(CLI::App& app, GlobalOptions& global) {
    struct Options {
        std::string runbook;
        std::string env;
        std::vector<std::string> sets;
        std::vector<std::string> journals;
    };
    auto options = std::make_shared<Options>();
    app.add_option("runbook", options->runbook, "the runbook")->required();
    app.add_option("--env", options->env, "the environment");
    app.add_option("--set", options->sets, "override a variable: name=value");
    app.add_option("--journal", options->journals,
                   "journals of earlier runs: show the estimates beside the plan");
    return [options, &global] {
        runbook::ValidateOptions validate;
        if (!options->env.empty()) validate.env = options->env;
        validate.sets = parse_sets(options->sets);
        runbook::LoadedRunbook loaded = load_checked(options->runbook, validate, global);
        const runbook::Runbook& book = loaded.book;
        runbook::StepGraph graph(book);
        std::optional<report::Forecast> forecast;
        std::map<std::string, const report::StepForecast*> figures;
        {
            // With journals the figures are measured; without, the runbook's priors.
            report::EstimateOptions estimate_options;
            if (!options->env.empty()) estimate_options.env = options->env;
            estimate_options.sets = validate.sets;
            forecast =
                report::estimate(book, read_journals(options->journals, false), estimate_options);
            for (const report::StepForecast& step : forecast->steps) figures[step.id] = &step;
        }
        if (global.json()) {
            Json out = plan_json(book, graph, options->env);
            if (forecast) out["estimate"] = report::forecast_json(*forecast);
            print_json(out);
            return 0;
        }
        std::cout << "plan '" << book.name << "'"
                  << (options->env.empty() ? "" : " (env " + options->env + ")") << ": "
                  << book.phases.size() << " phases, " << graph.order().size() << " steps\n";
        // Columns as wide as their longest entry, two blanks apart.
        std::size_t id_width = 2, role_width = 2, kind_width = 2;
        for (const runbook::Step* step : book.steps()) {
            id_width = std::max(id_width, step->id.size());
            role_width = std::max(role_width, step->role.size());
            kind_width = std::max(kind_width, step->kind.size());
        }
        int number = 0;
        for (const runbook::Phase& phase : book.phases) {
            std::cout << "\nphase " << phase.id << (phase.name.empty() ? "" : ": " + phase.name)
                      << (phase.urgency.empty() ? "" : " [urgency " + phase.urgency + "]") << "\n";
            for (const runbook::Step& step : phase.steps) {
                const auto& needs = graph.needs(step.id);
                std::cout << "  " << std::right << std::setw(3) << ++number << "  " << std::left
                          << std::setw(static_cast<int>(id_width + 2)) << step.id
                          << std::setw(static_cast<int>(role_width + 2)) << step.role
                          << std::setw(static_cast<int>(kind_width + 2)) << step.kind
                          << "after: " << (needs.empty() ? "-" : join(needs, ", "));
                if (step.when.present) std::cout << "  when: " << step.when.text;
                if (step.timeout) std::cout << "  timeout " << format_duration(*step.timeout);
                if (step.retry.attempts > 1) std::cout << "  attempts " << step.retry.attempts;
                if (!marker(step).empty()) std::cout << "  <- " << marker(step);
                if (const report::StepForecast* figure = figures[step.id])
                    std::cout << "\n       estimate: "
                              << (figure->source == "unknown"
                                      ? "unknown"
                                      : "P50 " + report::format_ms(figure->p50_ms) + ", P90 " +
                                            report::format_ms(figure->p90_ms) + " (" +
                                            figure->source +
                                            (figure->detail.empty() ? "" : ": " + figure->detail) +
                                            ")");
                std::cout << "\n";
                if (!step.name.empty()) std::cout << "       " << step.name << "\n";
                std::cout << "       on failure: " << runbook::on_failure_name(step.on_failure)
                          << (step.on_failure_from == "default" ? " (the default)"
                              : step.on_failure_from == "step"
                                  ? ""
                                  : " (from the " + step.on_failure_from + ")");
                if (!step.rollback.empty()) {
                    std::vector<std::string> undo;
                    for (const runbook::Step& rollback : step.rollback)
                        undo.push_back(rollback.id + " (" + rollback.kind + ")");
                    std::cout << "; rollback: " << join(undo, ", ");
                }
                std::cout << "\n";
            }
        }
        std::vector<std::string> window = graph.downtime_steps();
        std::cout << "\ndowntime window: ";
        if (window.empty())
            std::cout << "none marked (add 'downtime: start' and 'downtime: end' to steps)\n";
        else
            std::cout << window.size() << " steps, from '" << window.front() << "' to '"
                      << window.back() << "'\n";
        if (forecast) {
            std::cout << "estimated: whole run P50 " << report::format_ms(forecast->total_p50_ms)
                      << ", P90 " << report::format_ms(forecast->total_p90_ms);
            if (forecast->has_window)
                std::cout << "; downtime window P50 " << report::format_ms(forecast->window_p50_ms)
                          << ", P90 " << report::format_ms(forecast->window_p90_ms);
            std::cout << "\n";
            if (!forecast->must_end_by.empty())
                std::cout << "point of no return: the window must end by " << forecast->must_end_by
                          << "; a rollback takes " << report::format_ms(forecast->rollback_p90_ms)
                          << " (P90; " << forecast->rollback_basis << "), so it must start "
                          << report::format_ms(forecast->rollback_p90_ms)
                          << " before that (on_deadline: " << book.window->on_deadline << ")\n";
        }
        std::cout << "roles: executor";
        for (const auto& [id, description] : book.roles)
            if (id != "executor")
                std::cout << ", " << id << (description.empty() ? "" : " (" + description + ")");
        std::cout << "\n";
        return 0;
    };
}

}  // namespace migrate::cli
