// migrate confirm JOURNAL STEP --as ROLE [--by NAME] [--note TEXT] [--evidence FILE|URL]
// [--reject]: confirm (or reject) a manual step that a running engine is waiting on.
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <thread>

#include "cli.h"
#include "migrate/io/confirm.h"
#include "migrate/report/progress.h"
#include "migrate/steps/kinds.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::cli {
namespace {

// Waits briefly for the engine to record the decision, so the operator knows it landed.
bool recorded(const std::string& path, const std::string& step, int after_line) {
    for (int i = 0; i < 50; ++i) {
        journal::ReadResult read = journal::read_journal(path);
        for (const journal::Record& record : read.records)
            if (record.line > after_line && record.event() == "step.confirm" &&
                record.string("step") == step)
                return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

// What the waiting step asks (evidence, approvals, who confirmed already), from its newest
// checkpoint; a step that asks nothing of the kind has none.
io::ConfirmationRequest asked_of(const journal::ReadResult& read, const std::string& step) {
    io::ConfirmationRequest request;
    request.step_id = step;
    for (const journal::Record& record : read.records) {
        if (record.event() != "step.checkpoint" || record.string("step") != step) continue;
        const Json& state = record.data.value("state", Json::object());
        if (!state.is_object() || !state.contains("approved_by")) continue;
        request.approvals = state.value("approvals", 1);
        request.evidence =
            io::evidence_policy(state.value("evidence", "none")).value_or(io::EvidencePolicy::none);
        request.approved_by.clear();
        for (const auto& name : state["approved_by"]) request.approved_by.push_back(name);
    }
    return request;
}

// Refuses, before anything is posted, a confirmation the step would not count.
void check_against_step(const io::ConfirmationRequest& asked, const io::Confirmation& decision) {
    if (decision.rejected) return;
    if (io::already_approved(asked, decision.by))
        throw UsageError("step '" + asked.step_id + "' is " +
                         io::second_person_message(asked, decision.by) + " (--by THEIR NAME)");
    if (std::string missing = io::evidence_missing(asked.evidence, decision); !missing.empty())
        throw UsageError(
            "step '" + asked.step_id + "' needs evidence (" + missing + "): " +
            (asked.evidence == io::EvidencePolicy::note ? "add --note TEXT"
             : asked.evidence == io::EvidencePolicy::required
                 ? "add --evidence FILE|URL or --note TEXT"
                 : "add --evidence " +
                       std::string(asked.evidence == io::EvidencePolicy::file ? "FILE" : "URL")));
}

}  // namespace

CommandAction setup_confirm(CLI::App& app, GlobalOptions& global) {
    struct Options {
        std::string journal;
        std::string step;
        std::string role;
        std::string by;
        std::string note;
        std::string evidence;
        bool reject = false;
    };
    auto options = std::make_shared<Options>();
    app.add_option("journal", options->journal, "the running run's journal")->required();
    app.add_option("step", options->step, "the manual step to confirm")->required();
    app.add_option("--as", options->role, "the role you confirm as")->required();
    app.add_option("--by", options->by, "your name (default: the login name)");
    app.add_option("--note", options->note, "a note for the journal (with --reject: why)");
    app.add_option("--evidence", options->evidence,
                   "a file (its SHA-256 and size are recorded) or a URL backing the confirmation");
    app.add_flag("--reject", options->reject,
                 "a no-go: the step fails with the note as its reason, and its on_failure applies");
    return [options, &global] {
        if (options->reject && trim(options->note).empty())
            throw UsageError(
                "--reject needs --note \"why\": the reason goes into the journal and "
                "the step's error");
        if (::access(options->journal.c_str(), R_OK) != 0 && errno == EACCES)
            throw UsageError(options->journal + ": " +
                             io::permission_advice(options->journal, false));
        journal::ReadResult read = journal::read_journal(options->journal);
        if (!journal::is_locked(options->journal))
            throw UsageError(
                options->journal +
                ": no migrate run is running on this journal, so nothing waits for a confirmation");
        report::RunStanding run = report::standing_of(read, true);
        const report::StepStanding* step = run.find(options->step);
        if (step == nullptr) {
            std::vector<std::string> ids;
            for (const auto& s : run.steps) ids.push_back(s.id);
            throw UsageError("the run has no step '" + options->step + "'" +
                             did_you_mean(options->step, ids));
        }
        if (step->state != "waiting")
            throw UsageError("step '" + options->step +
                             "' is not waiting for a confirmation (it is " + step->state +
                             (step->kind.empty() || steps::is_people_kind(step->kind)
                                  ? ""
                                  : ", and of kind " + step->kind) +
                             ")");
        if (step->role != options->role)
            throw UsageError("step '" + options->step + "' is for the role '" + step->role +
                             "', not '" + options->role + "'; confirm it --as " + step->role);
        std::string os_user = io::os_user();
        std::string by = options->by.empty() ? os_user : options->by;
        io::Confirmation decision{by, options->note, "migrate confirm", os_user, options->reject};
        if (!options->evidence.empty()) io::attach_evidence(decision, options->evidence);
        check_against_step(asked_of(read, options->step), decision);
        io::post_to_inbox(options->journal, {options->step, options->role, by, options->note,
                                             os_user, options->reject, decision.evidence,
                                             decision.evidence_sha256, decision.evidence_size});
        bool landed = recorded(options->journal, options->step, step->start_line);
        std::string verdict = options->reject ? "rejected" : "confirmed";
        if (global.json()) {
            Json answer{{"step", options->step}, {"role", options->role}, {"by", by},
                        {"os_user", os_user},    {"decision", verdict},   {"recorded", landed}};
            if (!decision.evidence.empty()) answer["evidence"] = decision.evidence;
            if (!decision.evidence_sha256.empty()) {
                answer["evidence_sha256"] = decision.evidence_sha256;
                answer["evidence_size"] = decision.evidence_size;
            }
            print_json(answer);
        } else if (landed)
            std::cout << verdict << " '" << options->step << "' as " << options->role << " (by "
                      << by << ")"
                      << (options->reject ? "; the step fails and its on_failure applies\n"
                                          : "; the run goes on\n");
        else
            std::cout << verdict << " '" << options->step
                      << "' sent; the run has not recorded it yet (is it stuck?)\n";
        return landed ? 0 : 1;
    };
}

}  // namespace migrate::cli
