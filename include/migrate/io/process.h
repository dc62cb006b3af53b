// Runs a step's command in its own process group, under a guard process that kills the
// group if migrate itself dies (even by SIGKILL), so no step work outlives the engine.
#pragma once

#include "migrate/io/services.h"

namespace migrate::io {

class SystemProcessRunner : public ProcessRunner {
public:
    explicit SystemProcessRunner(Millis grace = std::chrono::seconds(10)) : m_grace(grace) {}
    ProcessResult run(const ProcessSpec& spec, CancelToken& cancel) override;

private:
    Millis m_grace;  // between SIGTERM and SIGKILL when cancelled
};

}  // namespace migrate::io
