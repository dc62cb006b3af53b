// The parts of a multi-part archive: a glob's matches put in the order of their numeric
// suffix (.1 .2 ... .10, .001 .002), with gaps and duplicates found before anything is read.
#pragma once

#include <string>
#include <vector>

namespace migrate::steps::files {

struct PartList {
    std::vector<std::string> parts;  // in reading order
    std::vector<std::string>
        ignored;  // matches without a numeric suffix (a .sha256 beside the parts)
};

// Does the path's file name hold a glob character (* ? [)?
bool is_glob(const std::string& path);

// Orders a glob's matches. One match is taken as it is. Otherwise the parts are the matches
// whose name ends in '.' and digits; numbering starts at 0 or 1 and has no gap. Throws
// StepError (not retryable) naming the missing parts ("backup.tar.gz.3"), two matches with
// one number, or matches none of which is numbered.
PartList order_parts(const std::vector<std::string>& matches);

// The files in the pattern's directory whose name matches its last component, ordered as
// above. Only the file name may hold a glob. Throws StepError when nothing matches.
PartList expand_parts(const std::string& pattern);

}  // namespace migrate::steps::files
