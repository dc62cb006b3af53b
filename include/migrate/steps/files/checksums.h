// Checksum lists as operators get them: `sha256sum`/`md5sum` output ("HASH  name", "HASH *name"),
// BSD style ("SHA256 (name) = HASH"), or inline in a runbook. Shared by download and verify.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "migrate/util/digest.h"

namespace migrate::steps::files {

struct ChecksumEntry {
    std::string name;  // as written in the list: relative to the list's directory or URL
    std::string hex;   // lowercase
    DigestAlgorithm algorithm = DigestAlgorithm::sha256;
    int line = 0;  // 1-based line in the list, 0 when inline
};

// Parses a checksum list. `source` names it in errors ("parts.sha256:3: ..."). Blank lines and
// lines starting with '#' are skipped. Throws StepError (not retryable) on a malformed line,
// a hash of an unknown length, or a name listed twice.
std::vector<ChecksumEntry> parse_checksum_list(const std::string& text, const std::string& source);

// One line of a list in sha256sum's format ("HASH  name\n"), the name escaped as GNU coreutils
// does when it holds '\\' or a newline, so that `sha256sum -c` and parse_checksum_list read it.
std::string checksum_list_line(const std::string& name, const std::string& hex);

// One inline hash given in a runbook: checks it is hex of a known length; `where` names it in
// the error.
ChecksumEntry inline_checksum(const std::string& name, const std::string& hex,
                              const std::string& where);

}  // namespace migrate::steps::files
