// manual: a human step for a role. Confirmed (or rejected: the step fails) at the terminal, by
// `migrate confirm`, or by --yes in a rehearsal; who, how and how long it waited go into the
// journal. A step may ask for evidence (a note, a file, a URL) and for approvals by several
// different people; each approval is a step.confirm record and a checkpoint, so the approvals
// given before an interruption still count after --resume.
#include "../families.h"
#include "migrate/io/confirm.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::basic {
namespace {

io::EvidencePolicy evidence_of(const kinds::Params& params) {
    std::string name = params.string("evidence");
    std::optional<io::EvidencePolicy> policy = io::evidence_policy(name);
    if (!policy)
        throw StepError(
            "parameter 'evidence' is '" + name + "'; expected none, required, note, file or url",
            false);
    return *policy;
}

int approvals_of(const kinds::Params& params) {
    std::int64_t approvals = params.integer("approvals");
    if (approvals < 1 || approvals > 20)
        throw StepError("parameter 'approvals' must be 1 to 20, not " + std::to_string(approvals),
                        false);
    return static_cast<int>(approvals);
}

class ManualRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& p = context.params;
        std::string asks;
        if (p.integer("approvals") > 1)
            asks += ", " + p.string("approvals") + " different people confirm";
        if (p.string("evidence") != "none")
            asks += ", with evidence (" + p.string("evidence") + ")";
        return "wait for " + context.step.role + asks + ": " + p.string("instructions");
    }

    void preflight(kinds::StepContext& context) override {
        evidence_of(context.params);
        approvals_of(context.params);
    }

    void run(kinds::StepContext& context) override {
        io::ConfirmationRequest request{context.step.id, context.step.name, context.step.role,
                                        context.role_description,
                                        context.params.string("instructions")};
        request.evidence = evidence_of(context.params);
        request.approvals = approvals_of(context.params);
        bool keeps_state = request.approvals > 1 || request.evidence != io::EvidencePolicy::none;
        if (context.last_checkpoint && context.last_checkpoint->contains("approved_by"))
            for (const auto& name : (*context.last_checkpoint)["approved_by"])
                request.approved_by.push_back(name.get<std::string>());
        if (!request.approved_by.empty())
            context.events.say(context.step.id + ": " + std::to_string(request.approved_by.size()) +
                               " of " + std::to_string(request.approvals) +
                               " approvals recorded before (by " + join(request.approved_by, ", ") +
                               ")");
        else if (keeps_state)
            checkpoint(context, request);  // what `migrate confirm` checks before posting
        Millis waited_total(0);
        io::Confirmation last;
        while (static_cast<int>(request.approved_by.size()) < request.approvals) {
            std::int64_t started = context.services.clock.steady_ms();
            std::optional<io::Confirmation> confirmation =
                context.services.confirmations.wait(request, context.cancel);
            if (!confirmation) throw StepError("no confirmation from " + context.step.role, true);
            Millis waited(context.services.clock.steady_ms() - started);
            waited_total += waited;
            bool by_yes = confirmation->via == "--yes";
            if (!confirmation->rejected && !by_yes) {
                if (std::string why = refusal(request, *confirmation); !why.empty()) {
                    context.events.say(context.step.id + ": not counted: " + why);
                    continue;
                }
            }
            if (by_yes && request.evidence != io::EvidencePolicy::none)
                confirmation->evidence_waived = "--yes";
            confirmation->approval = static_cast<int>(request.approved_by.size()) + 1;
            confirmation->approvals = request.approvals;
            context.events.confirmed(*confirmation, waited);
            // A no-go is a failed step: its on_failure (abort, continue, rollback) applies, and
            // trying again would only ask the same person again. A resume asks everyone anew.
            if (confirmation->rejected) {
                if (!request.approved_by.empty()) {
                    request.approved_by.clear();
                    checkpoint(context, request);
                }
                throw StepError("rejected by " + confirmation->by + ": " + confirmation->note,
                                false);
            }
            last = *confirmation;
            // --yes stands for everyone in a rehearsal: no people time to count.
            if (by_yes) break;
            request.approved_by.push_back(confirmation->by);
            if (static_cast<int>(request.approved_by.size()) < request.approvals)
                checkpoint(context, request);
        }
        context.outputs["by"] =
            request.approved_by.empty() ? last.by : join(request.approved_by, ", ");
        context.outputs["note"] = last.note;
        if (!last.evidence.empty()) context.outputs["evidence"] = last.evidence;
        context.metrics["waited_ms"] = waited_total.count();
    }

private:
    static std::string refusal(const io::ConfirmationRequest& request,
                               const io::Confirmation& confirmation) {
        if (io::already_approved(request, confirmation.by))
            return io::second_person_message(request, confirmation.by);
        if (std::string missing = io::evidence_missing(request.evidence, confirmation);
            !missing.empty())
            return "evidence needed: " + missing;
        return "";
    }

    static void checkpoint(kinds::StepContext& context, const io::ConfirmationRequest& request) {
        context.events.checkpoint({{"approved_by", request.approved_by},
                                   {"approvals", request.approvals},
                                   {"evidence", io::evidence_policy_name(request.evidence)}});
    }
};

void check_manual(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    const runbook::Node* approvals = with.find("approvals");
    if (approvals != nullptr && approvals->is_scalar() &&
        approvals->value.find("${") == std::string::npos) {
        try {
            long count = std::stol(approvals->value);
            if (count < 1 || count > 20)
                diagnostics.error(approvals->mark,
                                  "'approvals' must be 1 to 20 (how many different people "
                                  "confirm), not " +
                                      approvals->value);
        } catch (const std::exception&) {
            // the parameter table reports a value that is not an integer
        }
    }
}

}  // namespace

kinds::KindSpec manual_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "manual",
                .summary = "a human step for a role: instructions, then a confirmation (or a "
                           "rejection, which fails the step) at the terminal or by `migrate "
                           "confirm`, with evidence and several approvers when asked",
                .params = {{"instructions", runbook::ParamType::text, true, "",
                            "what the person in the role must do"},
                           {"evidence",
                            runbook::ParamType::string,
                            false,
                            "none",
                            "what a confirmation must carry: required (a note, a file or a URL), "
                            "note, file, url, or none",
                            {"none", "required", "note", "file", "url"}},
                           {"approvals", runbook::ParamType::integer, false, "1",
                            "how many different people must confirm (a rejection by anyone "
                            "fails the step)"}},
                .outputs = {"by", "note", "evidence"},
                .check = check_manual,
                .people = true,
            },
        .resumable_inside = true,
        .make = [] { return std::make_unique<ManualRunner>(); },
    };
}

}  // namespace migrate::steps::basic
