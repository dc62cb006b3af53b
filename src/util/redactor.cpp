// Secret masking for every output channel, in every encoding a secret travels in.
#include "migrate/util/redactor.h"

#include <algorithm>

#include "migrate/util/encoding.h"

namespace migrate {
namespace {

// Shorter base64 fragments of a secret inside a longer encoded text would match by chance.
constexpr std::size_t k_min_base64_fragment = 8;

std::string without_padding(std::string encoded) {
    while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
    return encoded;
}

// The base64 characters fixed by `secret`'s bytes alone when `lead` bytes (0, 1 or 2, modulo
// 3) come before it in the encoded text: the first characters also carry bits of the bytes
// before, the last partial one bits of the bytes after.
std::string base64_fragment(std::string_view secret, std::size_t lead) {
    std::string bytes(lead, '\0');
    bytes.append(secret);
    std::string encoded = base64_encode(bytes);
    std::size_t fixed = bytes.size() / 3 * 4 + bytes.size() % 3 * 8 / 6;
    std::size_t skip = lead == 0 ? 0 : lead + 1;
    return fixed > skip ? encoded.substr(skip, fixed - skip) : "";
}

std::string url_safe(std::string encoded) {
    std::replace(encoded.begin(), encoded.end(), '+', '-');
    std::replace(encoded.begin(), encoded.end(), '/', '_');
    return encoded;
}

// Where `pattern` matches `text` from `at`, each of its bytes as it is, as %XX (either case),
// or a space as '+': the end of the match, or npos. A '%' of the pattern may be "%25" or a
// plain '%': both are tried.
std::size_t match_end(std::string_view pattern, std::size_t p, std::string_view text,
                      std::size_t at) {
    while (p < pattern.size()) {
        if (at >= text.size()) return std::string_view::npos;
        char want = pattern[p];
        char got = text[at];
        if (got == '%' && at + 2 < text.size() && hex_value(text[at + 1]) >= 0 &&
            hex_value(text[at + 2]) >= 0 &&
            static_cast<char>(hex_value(text[at + 1]) * 16 + hex_value(text[at + 2])) == want) {
            if (want != '%') {
                at += 3;
                ++p;
                continue;
            }
            std::size_t end = match_end(pattern, p + 1, text, at + 3);
            if (end != std::string_view::npos) return end;
        }
        if (got != want && !(want == ' ' && got == '+')) return std::string_view::npos;
        ++at;
        ++p;
    }
    return at;
}

// `text` with every match of `pattern` masked; unchanged (and not copied) when none.
bool mask_pattern(std::string& text, std::string_view pattern) {
    std::string starts(1, pattern[0]);
    starts += '%';
    if (pattern[0] == ' ') starts += '+';
    std::string out;
    std::size_t copied = 0, at = 0;
    bool found = false;
    while ((at = text.find_first_of(starts, at)) != std::string::npos) {
        std::size_t end = match_end(pattern, 0, text, at);
        if (end == std::string_view::npos) {
            ++at;
            continue;
        }
        out.append(text, copied, at - copied);
        out += Redactor::k_mask;
        copied = at = end;
        found = true;
    }
    if (!found) return false;
    out.append(text, copied);
    text = std::move(out);
    return true;
}

}  // namespace

void Redactor::add_secret(std::string value) {
    std::lock_guard lock(m_mutex);
    add_secret_locked(std::move(value));
}

void Redactor::add_secret_locked(std::string value) {
    if (value.empty()) return;
    if (std::find(m_secrets.begin(), m_secrets.end(), value) != m_secrets.end()) return;
    m_secrets.push_back(value);
    std::string alone = without_padding(base64_encode(value));
    add_pattern_locked(alone);
    add_pattern_locked(url_safe(alone));
    for (std::size_t lead = 0; lead < 3; ++lead) {
        std::string fragment = base64_fragment(value, lead);
        if (fragment.size() < k_min_base64_fragment) continue;
        add_pattern_locked(url_safe(fragment));
        add_pattern_locked(std::move(fragment));
    }
    add_pattern_locked(std::move(value));
}

void Redactor::add_pattern_locked(std::string pattern) {
    if (pattern.empty()) return;
    if (std::find(m_patterns.begin(), m_patterns.end(), pattern) != m_patterns.end()) return;
    m_patterns.push_back(std::move(pattern));
    std::stable_sort(
        m_patterns.begin(), m_patterns.end(),
        [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

bool Redactor::holds_secret_locked(std::string_view text) const {
    return std::any_of(m_secrets.begin(), m_secrets.end(), [&](const std::string& secret) {
        return text.find(secret) != std::string_view::npos;
    });
}

void Redactor::add_basic_auth(std::string_view user, std::string_view password) {
    std::lock_guard lock(m_mutex);
    if (password.empty() || !holds_secret_locked(password)) return;
    std::string pair = std::string(user) + ":" + std::string(password);
    std::string encoded = without_padding(base64_encode(pair));
    add_pattern_locked(url_safe(encoded));
    add_pattern_locked(std::move(encoded));
}

void Redactor::add_url_credentials(std::string_view text) {
    std::size_t scheme = 0;
    while ((scheme = text.find("://", scheme)) != std::string_view::npos) {
        std::size_t start = scheme + 3;
        std::size_t end = text.find_first_of("/?# \t\r\n\"'", start);
        std::string_view authority = text.substr(
            start, end == std::string_view::npos ? std::string_view::npos : end - start);
        scheme = start;
        std::size_t at = authority.rfind('@');
        if (at == std::string_view::npos) continue;
        std::string_view userinfo = authority.substr(0, at);
        std::size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view raw_password = userinfo.substr(colon + 1);
        std::string password = percent_decode(raw_password);
        {
            std::lock_guard lock(m_mutex);
            if (password.empty() ||
                !(holds_secret_locked(raw_password) || holds_secret_locked(password)))
                continue;
            add_secret_locked(password);
        }
        add_basic_auth(percent_decode(userinfo.substr(0, colon)), password);
    }
}

std::string Redactor::redact(std::string_view text) const {
    std::lock_guard lock(m_mutex);
    std::string out(text);
    for (const std::string& pattern : m_patterns) mask_pattern(out, pattern);
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
    return m_patterns.empty();
}

// Percent-encoded, every byte of a secret may take three.
std::size_t Redactor::longest() const {
    std::lock_guard lock(m_mutex);
    return m_patterns.empty() ? 0 : 3 * m_patterns.front().size();
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
