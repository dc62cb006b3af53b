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

// Verifies `text` and visits each verified record in order; stops at the first problem.
// The returned ReadResult has no `records`: the visitor saw them.
ReadResult scan_journal(const simdjson::padded_string& text, const RecordVisitor& visit);

// Reads a file into a padded buffer for scan_journal; throws UsageError when it cannot.
simdjson::padded_string load_journal_text(const std::string& path);

}  // namespace migrate::journal
