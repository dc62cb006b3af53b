// Small text utilities shared by the validator, the engine and the reports.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace migrate {

// The candidate closest to `word` by edit distance, or "" when none is close enough to be a
// plausible typo.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// "; did you mean 'x'?" or "" — appended to "unknown ..." messages.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// Shell-style glob: '*' any run, '?' one character, "[abc]" a class.
bool glob_match(std::string_view pattern, std::string_view text);

std::string join(const std::vector<std::string>& parts, std::string_view separator);

std::string trim(std::string_view text);

// The last `max_lines` lines of `text` (at most `max_bytes`), for journal tails.
std::string tail_lines(std::string_view text, std::size_t max_lines, std::size_t max_bytes);

std::string hex_encode(const unsigned char* data, std::size_t size);

// Where `text` stops being UTF-8: the offset of the first byte that does not begin a whole
// sequence (a lead byte and its continuation bytes), or npos when all of it is.
std::size_t invalid_utf8_at(std::string_view text);
inline bool valid_utf8(std::string_view text) {
    return invalid_utf8_at(text) == std::string_view::npos;
}

}  // namespace migrate
