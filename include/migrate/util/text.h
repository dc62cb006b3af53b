// Small text utilities shared by the validator, the engine and the reports.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace migrate {

// The candidate closest to `word` by edit distance, or "" when none is close enough to be a
// plausible typo (or `word` is longer than k_max_typo_word bytes).
constexpr std::size_t k_max_typo_word = 64;
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// "; did you mean 'x'?" or "" — appended to "unknown ..." messages.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// Shell-style glob: '*' any run, '?' one character, "[abc]" a class.
bool glob_match(std::string_view pattern, std::string_view text);

std::string join(const std::vector<std::string>& parts, std::string_view separator);

std::string trim(std::string_view text);

// ASCII letters in lower case; other bytes as they are.
std::string to_lower(std::string text);

// A word for a command line the operator may paste: as it is when plain, else in single
// quotes (a quote inside as '\'').
std::string shell_quote(std::string_view word);
// Words joined by spaces, each passed through shell_quote: a command line for /bin/sh.
std::string shell_words(const std::vector<std::string>& words);

// The last `max_lines` lines of `text` (at most `max_bytes`), for journal tails.
std::string tail_lines(std::string_view text, std::size_t max_lines, std::size_t max_bytes);

std::string hex_encode(const unsigned char* data, std::size_t size);

// Where `text` stops being UTF-8: the offset of the first byte that does not begin a whole
// sequence (a lead byte and its continuation bytes), or npos when all of it is.
std::size_t invalid_utf8_at(std::string_view text);
inline bool valid_utf8(std::string_view text) {
    return invalid_utf8_at(text) == std::string_view::npos;
}

// ---- cutting text at character boundaries (never inside a UTF-8 sequence)

// The longest start of `text` of at most `max_bytes` that ends on a character boundary.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);
// The longest end of `text` of at most `max_bytes` that starts on a character boundary.
std::string_view utf8_suffix(std::string_view text, std::size_t max_bytes);
// How many characters (code points) `text` holds; a stray byte counts as one.
std::size_t utf8_length(std::string_view text);
// `text` when it has at most `max_chars` characters; else its first `max_chars` characters
// followed by `mark` ("..." by default). For messages and columns that quote input.
std::string shorten(std::string_view text, std::size_t max_chars, std::string_view mark = "...");

// ---- token scanners for the small grammars of the input (hand-written: std::regex's
// recursive matcher overflows the stack on long input). Each returns the length of the
// token at the start of `text`, 0 when there is none.

// [A-Za-z_][A-Za-z0-9_]*: variable, environment-variable and secret names, output names.
std::size_t scan_name(std::string_view text);
// [a-z0-9][a-z0-9_-]*: step, phase, role, environment and connection ids.
std::size_t scan_id(std::string_view text);
inline bool is_name(std::string_view text) {
    return !text.empty() && scan_name(text) == text.size();
}
inline bool is_id(std::string_view text) { return !text.empty() && scan_id(text) == text.size(); }
// -?[0-9]{1,max_digits}
bool is_whole_number(std::string_view text, std::size_t max_digits);
// -?[0-9]+(\.[0-9]+)?
bool is_plain_number(std::string_view text);

}  // namespace migrate
