// manual: a human step for a role. Confirmed (or rejected: the step fails) at the terminal, by
// `migrate confirm`, or by --yes in a rehearsal; who, how and how long it waited go into the
// journal.
#include "../families.h"
#include "migrate/util/error.h"

namespace migrate::steps::basic {
namespace {

class ManualRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        return "wait for " + context.step.role + ": " + context.params.string("instructions");
    }

    void run(kinds::StepContext& context) override {
        std::int64_t started = context.services.clock.steady_ms();
        io::ConfirmationRequest request{context.step.id, context.step.name, context.step.role,
                                        context.role_description,
                                        context.params.string("instructions")};
        std::optional<io::Confirmation> confirmation =
            context.services.confirmations.wait(request, context.cancel);
        if (!confirmation) throw StepError("no confirmation from " + context.step.role, true);
        Millis waited(context.services.clock.steady_ms() - started);
        context.events.confirmed(*confirmation, waited);
        // A no-go is a failed step: its on_failure (abort, continue, rollback) applies, and
        // trying again would only ask the same person again.
        if (confirmation->rejected)
            throw StepError("rejected by " + confirmation->by + ": " + confirmation->note, false);
        context.outputs["by"] = confirmation->by;
        context.outputs["note"] = confirmation->note;
        context.metrics["waited_ms"] = waited.count();
    }
};

}  // namespace

kinds::KindSpec manual_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "manual",
                .summary = "a human step for a role: instructions, then a confirmation (or a "
                           "rejection, which fails the step) at the terminal or by `migrate "
                           "confirm`",
                .params = {{"instructions", runbook::ParamType::text, true, "",
                            "what the person in the role must do"}},
                .outputs = {"by", "note"},
                .people = true,
            },
        .make = [] { return std::make_unique<ManualRunner>(); },
    };
}

}  // namespace migrate::steps::basic
