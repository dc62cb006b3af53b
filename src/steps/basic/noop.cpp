// noop: does nothing. A placeholder while a runbook is drafted, and the unit of the
// engine-overhead benchmark.
#include "../families.h"

namespace migrate::steps::basic {
namespace {

class NoopRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        std::string note = context.params.string("note");
        return note.empty() ? "nothing" : note;
    }
    void run(kinds::StepContext&) override {}
};

}  // namespace

kinds::KindSpec noop_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "noop",
                .summary = "does nothing: a placeholder while the runbook is drafted",
                .params = {{"note", runbook::ParamType::text, false, "", "what will go here"}},
                .outputs = {},
            },
        .make = [] { return std::make_unique<NoopRunner>(); },
    };
}

}  // namespace migrate::steps::basic
