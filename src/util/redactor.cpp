// Secret masking for every output channel.
#include "migrate/util/redactor.h"

#include <algorithm>

namespace migrate {

void Redactor::add_secret(std::string value) {
    if (value.empty()) return;
    std::lock_guard lock(m_mutex);
    if (std::find(m_secrets.begin(), m_secrets.end(), value) != m_secrets.end()) return;
    m_secrets.push_back(std::move(value));
    std::sort(m_secrets.begin(), m_secrets.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::redact(std::string_view text) const {
    std::lock_guard lock(m_mutex);
    std::string out(text);
    for (const std::string& secret : m_secrets) {
        std::size_t pos = 0;
        while ((pos = out.find(secret, pos)) != std::string::npos) {
            out.replace(pos, secret.size(), k_mask);
            pos += k_mask.size();
        }
    }
    return out;
}

void Redactor::redact(nlohmann::ordered_json& value) const {
    if (empty()) return;
    if (value.is_string()) {
        value = redact(value.get_ref<const std::string&>());
    } else if (value.is_array()) {
        for (auto& item : value) redact(item);
    } else if (value.is_object()) {
        nlohmann::ordered_json cleaned = nlohmann::ordered_json::object();
        for (auto& [key, item] : value.items()) {
            redact(item);
            cleaned[redact(key)] = std::move(item);
        }
        value = std::move(cleaned);
    }
}

bool Redactor::empty() const {
    std::lock_guard lock(m_mutex);
    return m_secrets.empty();
}

std::size_t Redactor::longest() const {
    std::lock_guard lock(m_mutex);
    return m_secrets.empty() ? 0 : m_secrets.front().size();
}

Redactor& Redactor::global() {
    static Redactor instance;
    return instance;
}

std::string StreamRedactor::feed(std::string_view chunk) {
    m_pending.append(chunk);
    std::string masked = m_redactor.redact(m_pending);
    std::size_t hold = m_redactor.longest() > 0 ? m_redactor.longest() - 1 : 0;
    // Hold back a tail that could be the start of a secret; never split a mask.
    if (masked.size() <= hold) {
        m_pending = masked;
        return "";
    }
    std::size_t cut = masked.size() - hold;
    m_pending = masked.substr(cut);
    return masked.substr(0, cut);
}

std::string StreamRedactor::finish() {
    std::string rest = m_redactor.redact(m_pending);
    m_pending.clear();
    return rest;
}

}  // namespace migrate
