// Keeps secret values out of everything migrate writes: journal, logs, reports, terminal.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace migrate {

// A secret is masked in every form it travels in (docs/runbook.md, "Secrets"):
// - as it is, and percent-encoded: any of its bytes written %XX (either case), a space also
//   as '+' (form encoding), whatever an encoder chose to leave as it is;
// - in base64 (standard and URL-safe alphabets): the secret encoded alone, and, for secrets
//   of 7 bytes or more, the characters that depend only on its bytes when it sits inside a
//   longer encoded text at any of the three byte alignments;
// - as an HTTP Basic credential: base64 of "user:password" for every URL whose password
//   holds a secret (add_url_credentials) and every user/password pair given to
//   add_basic_auth. A URL's password that holds a secret in its percent-encoded form is
//   masked decoded too, as libcurl decodes it before sending it.
class Redactor {
public:
    static constexpr std::string_view k_mask = "***";

    void add_secret(std::string value);
    // Every URL in `text` ("scheme://user:password@host..."): when its password holds a secret,
    // as written or percent-decoded, the decoded password and the Basic credential of the
    // decoded pair are secrets too. Called before migrate sends a request with that URL.
    void add_url_credentials(std::string_view text);
    // The Basic credential of `user`:`password` becomes a secret when the password holds one.
    void add_basic_auth(std::string_view user, std::string_view password);
    // Every occurrence of every secret, in any of its forms, replaced by "***".
    std::string redact(std::string_view text) const;
    // Redacts every string inside a JSON value (keys included), in place.
    void redact(nlohmann::ordered_json& value) const;
    bool empty() const;
    // The longest text a secret can take in any form: how many bytes a streaming redactor
    // must hold back.
    std::size_t longest() const;

    // The process-wide instance used by loggers and writers.
    static Redactor& global();

private:
    void add_secret_locked(std::string value);
    void add_pattern_locked(std::string pattern);
    bool holds_secret_locked(std::string_view text) const;

    mutable std::mutex m_mutex;
    std::vector<std::string> m_secrets;   // the values as declared (or decoded from a URL)
    std::vector<std::string> m_patterns;  // those and their base64 forms, longest first
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
