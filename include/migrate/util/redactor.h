// Keeps secret values out of everything migrate writes: journal, logs, reports, terminal.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace migrate {

class Redactor {
public:
    static constexpr std::string_view k_mask = "***";

    void add_secret(std::string value);
    // Every occurrence of every secret replaced by "***".
    std::string redact(std::string_view text) const;
    // Redacts every string inside a JSON value (keys included), in place.
    void redact(nlohmann::ordered_json& value) const;
    bool empty() const;
    // The longest secret: how many bytes a streaming redactor must hold back.
    std::size_t longest() const;

    // The process-wide instance used by loggers and writers.
    static Redactor& global();

private:
    mutable std::mutex m_mutex;
    std::vector<std::string> m_secrets;  // longest first, so overlapping secrets mask fully
};

// Redacts a byte stream (a step's output) whose chunks may split a secret in two: holds back
// as many bytes as the longest secret, minus one, until more arrive or the stream ends.
class StreamRedactor {
public:
    explicit StreamRedactor(const Redactor& redactor) : m_redactor(redactor) {}
    // Returns the text that is now safe to write.
    std::string feed(std::string_view chunk);
    std::string finish();

private:
    const Redactor& m_redactor;
    std::string m_pending;
};

}  // namespace migrate
