// Where an archive entry lands under the destination, and the refusals that keep every entry
// and every link inside it: absolute names, '..', links that point out, writes through links.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace migrate::steps::files {

enum class EntryType { file, directory, symlink, hardlink, device, other };

struct ArchiveEntryName {
    std::string path;  // as stored in the archive
    EntryType type = EntryType::file;
    std::string target;  // symlinks: the link's text; hard links: the linked entry's path
};

struct PlacedEntry {
    bool skipped = false;  // fewer components than strip_components: not extracted
    std::string path;      // relative to the destination, normalised; "" is the destination itself
    std::string target;    // hard links: the linked entry, relative to the destination
};

// Path components without "" and "." ("./a//b/" -> a, b); ".." is kept.
std::vector<std::string> path_components(const std::string& path);

// Does a symlink at `link_path` (relative to the destination) with this relative target
// resolve outside the destination? Resolved in the link's directory, component by component.
bool symlink_escapes(const std::string& link_path, const std::string& target);

// Places the entries of one archive in order. It remembers the symlinks placed so far, so an
// entry that would be written through one of them is refused even where the disk writer
// would not see the link yet (test-only mode writes nothing).
class EntryPlacer {
public:
    explicit EntryPlacer(int strip_components = 0) : m_strip(strip_components) {}
    // Throws StepError (not retryable) naming the entry and the rule it breaks.
    PlacedEntry place(const ArchiveEntryName& entry);

private:
    std::string placed_path(const std::string& name, const std::string& what, bool& skipped) const;
    void check_not_through_symlink(const std::string& path, const std::string& entry) const;
    void check_symlink_target(const std::string& path, const ArchiveEntryName& entry) const;

    int m_strip;
    std::set<std::string> m_symlinks;
};

}  // namespace migrate::steps::files
