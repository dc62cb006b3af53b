// noop: does nothing. A placeholder while a runbook is drafted, and the unit of the
// engine-overhead benchmark.
#include "kinds_builtin.h"

namespace migrate::steps {
namespace {

class NoopRunner : public StepRunner {
public:
    std::string describe(const StepContext& context) const override {
        std::string note = context.params.string("note");
        return note.empty() ? "nothing" : note;
    }
    void run(StepContext&) override {}
};

}  // namespace

KindSpec noop_kind() {
    return KindSpec{"noop",
                    "does nothing: a placeholder while the runbook is drafted",
                    {{"note", ParamType::text, false, "", "what will go here"}},
                    {},
                    nullptr,
                    false,
                    nullptr,
                    [] { return std::make_unique<NoopRunner>(); }};
}

}  // namespace migrate::steps
