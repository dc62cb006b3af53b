// The fast path through a journal: verifies the hash chain and parses each line with
// simdjson, handing every verified record to a visitor without building a DOM of the whole
// file. `report` and `estimate` read million-record journals this way; parse_journal()
// is built on it. Private (src/, not include/): simdjson stays out of the public headers.
#pragma once

#include <simdjson.h>

#include <functional>
#include <string_view>

#include "migrate/journal/journal.h"

namespace migrate::journal {

struct ScannedRecord {
    int line = 0;
    std::string_view text;  // the whole line, without its newline
    std::string_view event;
    simdjson::dom::element element;  // valid only during the visit
};

using RecordVisitor = std::function<void(const ScannedRecord& record)>;

// A journal's bytes for scan_journal, followed by at least SIMDJSON_PADDING readable bytes.
// A file is mapped read-only and populated at once, not copied: reading a 250 MB journal
// into a buffer was a fifth of a report's time. migrate only ever appends to a journal, so
// the mapping stays valid while a run writes on (a file cut shorter by hand meanwhile would
// end the reader with SIGBUS).
class JournalText {
public:
    // Throws UsageError when the file cannot be read.
    static JournalText load(const std::string& path);
    static JournalText copy(std::string_view text);
    JournalText(JournalText&& other) noexcept;
    JournalText& operator=(JournalText&&) = delete;
    JournalText(const JournalText&) = delete;
    JournalText& operator=(const JournalText&) = delete;
    ~JournalText();
    std::string_view view() const { return m_view; }

private:
    JournalText() = default;
    void* m_map = nullptr;
    std::size_t m_map_size = 0;
    simdjson::padded_string m_copy;
    std::string_view m_view;
};

// Verifies `text` and visits each verified record in order; stops at the first problem.
// The returned ReadResult has no `records`: the visitor saw them.
ReadResult scan_journal(const JournalText& text, const RecordVisitor& visit);

}  // namespace migrate::journal
