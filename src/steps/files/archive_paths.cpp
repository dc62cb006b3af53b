// The path rules of extract: every entry and every link stays inside the destination.
#include "migrate/steps/files/archive_paths.h"

#include <algorithm>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::files {
namespace {

[[noreturn]] void refuse(const std::string& entry, const std::string& reason) {
    throw StepError("refused archive entry '" + entry + "': " + reason + "; nothing was extracted",
                    false);
}

bool has_dot_dot(const std::vector<std::string>& components) {
    return std::find(components.begin(), components.end(), "..") != components.end();
}

// "a/../.." can resolve inside on paper yet outside on disk when "a" is itself a link, so
// a target may climb only before it descends ("../../shared/x").
bool climbs_after_name(const std::vector<std::string>& components) {
    bool named = false;
    for (const std::string& component : components) {
        if (component != "..")
            named = true;
        else if (named)
            return true;
    }
    return false;
}

}  // namespace

std::vector<std::string> path_components(const std::string& path) {
    std::vector<std::string> components;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string::npos) slash = path.size();
        std::string component = path.substr(start, slash - start);
        if (!component.empty() && component != ".") components.push_back(component);
        start = slash + 1;
    }
    return components;
}

bool symlink_escapes(const std::string& link_path, const std::string& target) {
    if (target.empty() || target[0] == '/') return true;
    std::vector<std::string> resolved = path_components(link_path);
    if (!resolved.empty()) resolved.pop_back();  // a link resolves in its own directory
    for (const std::string& component : path_components(target)) {
        if (component != "..") {
            resolved.push_back(component);
        } else if (resolved.empty()) {
            return true;
        } else {
            resolved.pop_back();
        }
    }
    return false;
}

std::string EntryPlacer::placed_path(const std::string& name, const std::string& what,
                                     bool& skipped) const {
    if (name.empty()) refuse(what, "an empty name");
    if (name[0] == '/') refuse(what, "an absolute path");
    if (has_dot_dot(path_components(name))) refuse(what, "a '..' component in its path");
    // Stripped as tar strips: a leading "./" counts as a component.
    std::size_t start = 0;
    for (int stripped = 0; stripped < m_strip; ++stripped) {
        while (start < name.size() && name[start] == '/') ++start;
        std::size_t slash = name.find('/', start);
        skipped =
            slash == std::string::npos || name.find_first_not_of('/', slash) == std::string::npos;
        if (skipped) return "";
        start = slash;
    }
    return join(path_components(name.substr(start)), "/");
}

void EntryPlacer::check_not_through_symlink(const std::string& path,
                                            const std::string& entry) const {
    if (m_symlinks.empty() || path.empty()) return;
    for (std::size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1))
        if (m_symlinks.count(path.substr(0, slash)))
            refuse(entry, "it would be written through the symlink '" + path.substr(0, slash) +
                              "' extracted before it");
}

void EntryPlacer::check_symlink_target(const std::string& path,
                                       const ArchiveEntryName& entry) const {
    const std::string& target = entry.target;
    if (target.empty()) refuse(entry.path, "a symlink with an empty target");
    if (target[0] == '/') refuse(entry.path, "a symlink to the absolute path '" + target + "'");
    if (symlink_escapes(path, target))
        refuse(entry.path, "a symlink to '" + target + "', which points outside the destination");
    if (climbs_after_name(path_components(target)))
        refuse(entry.path,
               "a symlink to '" + target +
                   "': '..' after a name can leave the destination through another link");
}

PlacedEntry EntryPlacer::place(const ArchiveEntryName& entry) {
    PlacedEntry placed;
    placed.path = placed_path(entry.path, entry.path, placed.skipped);
    if (placed.skipped) return placed;
    if (placed.path.empty() && entry.type != EntryType::directory)
        refuse(entry.path, "it names the destination itself");
    check_not_through_symlink(placed.path, entry.path);
    if (m_symlinks.count(placed.path))
        refuse(entry.path, "it would replace the symlink extracted before it");
    // A device node inside a restored tree is a way into the machine, not site data.
    if (entry.type == EntryType::device)
        refuse(entry.path, "a device node; extract does not create devices");
    if (entry.type == EntryType::symlink) {
        check_symlink_target(placed.path, entry);
        m_symlinks.insert(placed.path);
    } else if (entry.type == EntryType::hardlink) {
        if (entry.target.empty()) refuse(entry.path, "a hard link with an empty target");
        if (entry.target[0] == '/')
            refuse(entry.path, "a hard link to the absolute path '" + entry.target + "'");
        if (has_dot_dot(path_components(entry.target)))
            refuse(entry.path, "a hard link to '" + entry.target + "', which has a '..' component");
        placed.target = placed_path(entry.target, entry.path, placed.skipped);
        if (placed.skipped) return placed;
        if (placed.target.empty()) refuse(entry.path, "a hard link to the destination itself");
        check_not_through_symlink(placed.target, entry.path);
    }
    return placed;
}

}  // namespace migrate::steps::files
