// Text helpers: typo suggestions, globbing, joining, tails, UTF-8 cuts, token scanners.
#include "migrate/util/text.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace migrate {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best;
    // A typo in a name longer than this is not worth an edit distance of its size.
    if (word.size() > k_max_typo_word) return best;
    std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
    for (const std::string& candidate : candidates) {
        // The distance is at least the difference in length.
        std::size_t longer = std::max(word.size(), candidate.size());
        if (longer - std::min(word.size(), candidate.size()) >= best_distance) continue;
        std::size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    std::string match = closest_match(word, candidates);
    return match.empty() ? "" : "; did you mean '" + match + "'?";
}

bool glob_match(std::string_view pattern, std::string_view text) {
    std::size_t p = 0, t = 0, star_p = std::string_view::npos, star_t = 0;
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == '[') {
            std::size_t close = pattern.find(']', p + 1);
            if (close != std::string_view::npos) {
                std::string_view set = pattern.substr(p + 1, close - p - 1);
                if (set.find(text[t]) != std::string_view::npos) {
                    p = close + 1;
                    ++t;
                    continue;
                }
            }
        } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
            continue;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star_p = p++;
            star_t = t;
            continue;
        }
        if (star_p == std::string_view::npos) return false;
        p = star_p + 1;
        t = ++star_t;
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) out += separator;
        out += parts[i];
    }
    return out;
}

std::string to_lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string shell_quote(std::string_view word) {
    bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](unsigned char c) {
        return std::isalnum(c) || std::strchr("/._-+:@%,=", c) != nullptr;
    });
    if (plain) return std::string(word);
    std::string quoted = "'";
    for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

std::string shell_words(const std::vector<std::string>& words) {
    std::string line;
    for (const std::string& word : words) {
        if (!line.empty()) line += ' ';
        line += shell_quote(word);
    }
    return line;
}

std::string trim(std::string_view text) {
    std::size_t begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string_view::npos) return "";
    std::size_t end = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(begin, end - begin + 1));
}

std::string tail_lines(std::string_view text, std::size_t max_lines, std::size_t max_bytes) {
    text = utf8_suffix(text, max_bytes);
    std::size_t end = text.size();
    while (end > 0 && text[end - 1] == '\n') --end;
    std::size_t pos = end;
    for (std::size_t lines = 0; pos > 0; --pos) {
        if (text[pos - 1] == '\n' && ++lines == max_lines) break;
    }
    return std::string(text.substr(pos, end - pos));
}

std::string hex_encode(const unsigned char* data, std::size_t size) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out(size * 2, '0');
    for (std::size_t i = 0; i < size; ++i) {
        out[2 * i] = k_digits[data[i] >> 4];
        out[2 * i + 1] = k_digits[data[i] & 15];
    }
    return out;
}

std::size_t invalid_utf8_at(std::string_view text) {
    // RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF (what JSON
    // writers such as nlohmann_json refuse).
    auto in = [](unsigned char byte, unsigned char low, unsigned char high) {
        return byte >= low && byte <= high;
    };
    for (std::size_t i = 0; i < text.size();) {
        auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = lead < 0x80            ? 1
                             : in(lead, 0xC2, 0xDF) ? 2
                             : in(lead, 0xE0, 0xEF) ? 3
                             : in(lead, 0xF0, 0xF4) ? 4
                                                    : 0;
        if (length == 0 || i + length > text.size()) return i;
        auto second = static_cast<unsigned char>(text[i + (length > 1 ? 1 : 0)]);
        if (length > 1) {
            unsigned char low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
            unsigned char high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
            if (!in(second, low, high)) return i;
        }
        for (std::size_t k = 2; k < length; ++k)
            if (!in(static_cast<unsigned char>(text[i + k]), 0x80, 0xBF)) return i;
        i += length;
    }
    return std::string_view::npos;
}

namespace {

bool continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

bool digit(char c) { return c >= '0' && c <= '9'; }
bool lower(char c) { return c >= 'a' && c <= 'z'; }
bool letter(char c) { return lower(c) || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    std::size_t end = max_bytes;
    // A UTF-8 sequence is at most 4 bytes: step back over at most 3 continuation bytes
    // (on text that is not UTF-8, cut where asked rather than far before it).
    for (int i = 0; i < 3 && end > 0 && continuation_byte(text[end]); ++i) --end;
    if (continuation_byte(text[end])) end = max_bytes;
    return text.substr(0, end);
}

std::string_view utf8_suffix(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    std::size_t start = text.size() - max_bytes;
    for (int i = 0; i < 3 && start < text.size() && continuation_byte(text[start]); ++i) ++start;
    return text.substr(start);
}

std::size_t utf8_length(std::string_view text) {
    std::size_t count = 0;
    for (char c : text) count += !continuation_byte(c);
    return count;
}

std::string shorten(std::string_view text, std::size_t max_chars, std::string_view mark) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (continuation_byte(text[i])) continue;
        if (chars++ == max_chars) return std::string(text.substr(0, i)) + std::string(mark);
    }
    return std::string(text);
}

std::size_t scan_name(std::string_view text) {
    if (text.empty() || !(letter(text[0]) || text[0] == '_')) return 0;
    std::size_t n = 1;
    while (n < text.size() && (letter(text[n]) || digit(text[n]) || text[n] == '_')) ++n;
    return n;
}

std::size_t scan_id(std::string_view text) {
    if (text.empty() || !(lower(text[0]) || digit(text[0]))) return 0;
    std::size_t n = 1;
    while (n < text.size() &&
           (lower(text[n]) || digit(text[n]) || text[n] == '_' || text[n] == '-'))
        ++n;
    return n;
}

namespace {

std::size_t scan_digits(std::string_view text) {
    std::size_t n = 0;
    while (n < text.size() && digit(text[n])) ++n;
    return n;
}

}  // namespace

bool is_whole_number(std::string_view text, std::size_t max_digits) {
    if (!text.empty() && text[0] == '-') text.remove_prefix(1);
    std::size_t digits = scan_digits(text);
    return digits > 0 && digits <= max_digits && digits == text.size();
}

bool is_plain_number(std::string_view text) {
    if (!text.empty() && text[0] == '-') text.remove_prefix(1);
    std::size_t whole = scan_digits(text);
    if (whole == 0) return false;
    if (whole == text.size()) return true;
    if (text[whole] != '.') return false;
    std::size_t fraction = scan_digits(text.substr(whole + 1));
    return fraction > 0 && whole + 1 + fraction == text.size();
}

}  // namespace migrate
