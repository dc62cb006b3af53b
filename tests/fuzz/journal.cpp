// libFuzzer target: the journal reader. The input is read as it is (mostly refused by the
// hash chain), and again with each line signed into the chain (a trailing "h" field
// replaced by the right hash), so that the checks behind the chain are reached too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "migrate/journal/journal.h"

namespace {

constexpr std::string_view k_hash_field = ",\"h\":\"";

std::string signed_lines(const std::string& text) {
    std::string out, previous;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        bool complete = end != std::string::npos;
        std::string line = text.substr(start, complete ? end - start : std::string::npos);
        start = complete ? end + 1 : text.size();
        if (!complete || line.empty() || line.back() != '}') {
            out += line + (complete ? "\n" : "");  // left as it is: refused or torn
            continue;
        }
        std::size_t field = line.rfind(k_hash_field);
        if (field != std::string::npos && line.size() - field == k_hash_field.size() + 64 + 2)
            line = line.substr(0, field) + "}";
        std::string hash = migrate::journal::chain_hash(previous, line);
        line.pop_back();
        out += line + std::string(k_hash_field) + hash + "\"}\n";
        previous = hash;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    for (const std::string& journal : {text, signed_lines(text)}) {
        migrate::journal::ReadResult result = migrate::journal::parse_journal(journal);
        for (const migrate::journal::Record& record : result.records) {
            record.event();
            record.data.dump();
        }
    }
    return 0;
}
