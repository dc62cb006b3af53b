// The small family of exceptions the core throws; main() has the one catch that prints them.
#pragma once

#include <stdexcept>
#include <string>

namespace migrate {

// Bad command line or bad input file: exit code 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Something the engine cannot go on from (journal unwritable, lock held): exit code 1
// unless a more specific code is given.
class Fatal : public std::runtime_error {
public:
    explicit Fatal(const std::string& message, int exit_code = 1)
        : std::runtime_error(message), m_exit_code(exit_code) {}
    int exit_code() const { return m_exit_code; }

private:
    int m_exit_code;
};

// A step attempt failed. Retryable failures are tried again under the step's retry policy.
class StepError : public std::runtime_error {
public:
    StepError(const std::string& message, bool retryable)
        : std::runtime_error(message), m_retryable(retryable) {}
    bool retryable() const { return m_retryable; }

private:
    bool m_retryable;
};

// A file that could not be opened, read or written: a StepError with the path and the
// system's reason apart, for callers that say more about what the file was.
class FileError : public StepError {
public:
    // "cannot read PATH: REASON", not retryable.
    FileError(const std::string& path, const std::string& reason)
        : FileError("cannot read " + path, path, reason, false) {}
    // "WHAT: REASON", where WHAT names the path ("cannot write /x.partial", or the path alone).
    FileError(const std::string& what, const std::string& path, const std::string& reason,
              bool retryable)
        : StepError(what + ": " + reason, retryable), m_path(path), m_reason(reason) {}
    const std::string& path() const { return m_path; }
    const std::string& reason() const { return m_reason; }

private:
    std::string m_path;
    std::string m_reason;
};

namespace exit_code {
constexpr int k_ok = 0;
constexpr int k_step_failed = 1;
constexpr int k_usage = 2;
constexpr int k_interrupted = 3;
constexpr int k_over_budget = 4;
}  // namespace exit_code

}  // namespace migrate
