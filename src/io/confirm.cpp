// Confirmations and rejections of manual steps.
#include "migrate/io/confirm.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "migrate/util/digest.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::io {
namespace {

std::string user_name(uid_t uid) {
    passwd* entry = ::getpwuid(uid);
    return entry ? entry->pw_name : "uid " + std::to_string(uid);
}

std::string group_name(gid_t gid) {
    group* entry = ::getgrgid(gid);
    return entry ? entry->gr_name : "gid " + std::to_string(gid);
}

bool in_group(gid_t gid) {
    if (::getegid() == gid) return true;
    std::vector<gid_t> groups(static_cast<std::size_t>(std::max(::getgroups(0, nullptr), 0)));
    int count = ::getgroups(static_cast<int>(groups.size()), groups.data());
    return std::find(groups.begin(), groups.begin() + std::max(count, 0), gid) !=
           groups.begin() + std::max(count, 0);
}

std::string numbered(const std::vector<std::string>& waiting) {
    std::string list;
    for (std::size_t i = 0; i < waiting.size(); ++i)
        list += (i ? ", " : "") + std::to_string(i + 1) + ") " + waiting[i];
    return list;
}

// The inbox is opened for appending; its creator makes it group-writable when the journal's
// folder is, whatever the umask, so that a colleague's account in that group can post.
int open_inbox(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
        struct stat folder {};
        std::string dir = std::filesystem::path(path).parent_path().string();
        struct stat created {};
        if (::stat(dir.empty() ? "." : dir.c_str(), &folder) == 0 && (folder.st_mode & S_IWGRP) &&
            ::fstat(fd, &created) == 0)
            ::fchmod(fd, (created.st_mode & 07777) | S_IRGRP | S_IWGRP);
        return fd;
    }
    if (errno != EEXIST) return -1;
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
}

}  // namespace

std::string inbox_path(const std::string& journal_path) { return journal_path + ".confirm"; }

namespace {
const std::vector<std::pair<EvidencePolicy, std::string>> k_evidence_policies = {
    {EvidencePolicy::none, "none"},
    {EvidencePolicy::required, "required"},
    {EvidencePolicy::note, "note"},
    {EvidencePolicy::file, "file"},
    {EvidencePolicy::url, "url"}};

bool is_url(const std::string& text) { return text.find("://") != std::string::npos; }
}  // namespace

std::optional<EvidencePolicy> evidence_policy(const std::string& name) {
    for (const auto& [policy, word] : k_evidence_policies)
        if (word == name) return policy;
    return std::nullopt;
}

std::string evidence_policy_name(EvidencePolicy policy) {
    for (const auto& [known, word] : k_evidence_policies)
        if (known == policy) return word;
    return "none";
}

void attach_evidence(Confirmation& confirmation, const std::string& given) {
    std::string evidence = trim(given);
    if (evidence.empty()) throw UsageError("the evidence is empty: give a file or a URL");
    if (is_url(evidence)) {
        confirmation.evidence = evidence;
        return;
    }
    std::error_code error;
    std::filesystem::path path = std::filesystem::absolute(evidence).lexically_normal();
    auto status = std::filesystem::status(path, error);
    if (!std::filesystem::exists(status))
        throw UsageError("evidence file " + path.string() +
                         " does not exist (give an existing file, or a URL with its scheme)");
    if (!std::filesystem::is_regular_file(status))
        throw UsageError("evidence " + path.string() + " is not a regular file");
    if (::access(path.c_str(), R_OK) != 0)
        throw UsageError("evidence file " + path.string() + ": " +
                         permission_advice(path.string(), false));
    try {
        confirmation.evidence_sha256 = hash_file(path.string(), DigestAlgorithm::sha256);
        confirmation.evidence_size = static_cast<std::int64_t>(std::filesystem::file_size(path));
    } catch (const std::exception& e) {
        throw UsageError(std::string("evidence file cannot be read: ") + e.what());
    }
    confirmation.evidence = path.string();
}

std::string evidence_missing(EvidencePolicy policy, const Confirmation& confirmation) {
    bool url = is_url(confirmation.evidence);
    bool file = !confirmation.evidence.empty() && !url;
    bool note = !trim(confirmation.note).empty();
    switch (policy) {
        case EvidencePolicy::none:
            return "";
        case EvidencePolicy::required:
            return note || file || url ? "" : "a note, a file or a URL";
        case EvidencePolicy::note:
            return note ? "" : "a note";
        case EvidencePolicy::file:
            return file ? "" : "a file";
        case EvidencePolicy::url:
            return url ? "" : "a URL";
    }
    return "";
}

bool already_approved(const ConfirmationRequest& request, const std::string& by) {
    std::string name = to_lower(trim(by));
    return std::any_of(request.approved_by.begin(), request.approved_by.end(),
                       [&](const std::string& done) { return to_lower(trim(done)) == name; });
}

std::string second_person_message(const ConfirmationRequest& request, const std::string& by) {
    static const char* k_ordinals[] = {"first", "second", "third", "fourth", "fifth"};
    std::size_t next = request.approved_by.size();
    std::string who = next < std::size(k_ordinals) ? k_ordinals[next] : "another";
    return "already confirmed by " + trim(by) + "; a " + who + " person must confirm";
}

std::string os_user() { return user_name(::getuid()); }

std::string confirm_command(const std::string& journal_path, const std::string& step,
                            const std::string& role) {
    std::string absolute = std::filesystem::absolute(journal_path).lexically_normal().string();
    return "migrate confirm " + shell_quote(absolute) + " " + step + " --as " + role;
}

std::string permission_advice(const std::string& path, bool write) {
    // The obstacle: a folder on the way this account may not enter, else the file itself, or
    // (when it does not exist) the folder it would be created in.
    std::filesystem::path absolute = std::filesystem::absolute(path).lexically_normal();
    std::filesystem::path target = absolute;
    std::string what = write ? "write" : "read";
    std::string bit = write ? "g+w" : "g+r";
    mode_t needed = write ? S_IWGRP : S_IRGRP;
    std::filesystem::path folder;
    for (const auto& part : absolute.parent_path()) {
        folder /= part;
        if (::access(folder.c_str(), X_OK) != 0) {
            target = folder;
            what = "enter";
            bit = "g+x";
            needed = S_IXGRP;
            break;
        }
    }
    struct stat info {};
    if (what != "enter" && ::stat(target.c_str(), &info) != 0) {
        target = absolute.parent_path();
        what = "create files in";
        bit = "g+w";
        needed = S_IWGRP;
    }
    if (::stat(target.c_str(), &info) != 0) return target.string() + ": " + std::strerror(errno);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    std::string group = group_name(info.st_gid);
    std::string message = "you (" + os_user() + ") may not " + what + " " + target.string() +
                          " (owner " + user_name(info.st_uid) + ", group " + group + ", mode " +
                          mode + "); ";
    bool member = in_group(info.st_gid);
    if (!member)
        message += "the run's operator can add you to its group (usermod -aG " + group + " " +
                   os_user() + ", then log in again)";
    if (!(info.st_mode & needed))
        message += std::string(member ? "" : " and ") + "chmod " + bit + " " +
                   shell_quote(target.string());
    return message + "; docs/engine.md (Confirming from another account) shows the setup";
}

void post_to_inbox(const std::string& journal_path, const InboxEntry& entry) {
    nlohmann::ordered_json line = {{"step", entry.step},       {"role", entry.role},
                                   {"by", entry.by},           {"note", entry.note},
                                   {"os_user", entry.os_user}, {"rejected", entry.rejected}};
    if (!entry.evidence.empty()) {
        line["evidence"] = entry.evidence;
        if (!entry.evidence_sha256.empty()) {
            line["evidence_sha256"] = entry.evidence_sha256;
            line["evidence_size"] = entry.evidence_size;
        }
    }
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::string path = inbox_path(journal_path);
    int fd = open_inbox(path);
    if (fd < 0 && errno == EACCES) throw UsageError(path + ": " + permission_advice(path, true));
    if (fd < 0) throw Fatal(path + ": cannot write the confirmation: " + std::strerror(errno));
    ssize_t written = ::write(fd, text.data(), text.size());
    ::fsync(fd);
    ::close(fd);
    if (written != static_cast<ssize_t>(text.size()))
        throw Fatal(path + ": cannot write the confirmation");
}

TerminalAnswer parse_terminal_answer(const std::string& line,
                                     const std::vector<std::string>& waiting) {
    TerminalAnswer answer;
    // The note begins at the first ':' that is not a URL's "://".
    std::size_t colon = line.find(':');
    while (colon != std::string::npos && line.compare(colon, 3, "://") == 0)
        colon = line.find(':', colon + 1);
    std::string head = line.substr(0, colon);
    if (colon != std::string::npos) answer.note = trim(line.substr(colon + 1));
    std::vector<std::string> words;
    std::istringstream in(head);
    for (std::string word; in >> word;) words.push_back(word);
    // After the step: `as NAME` and `with FILE|URL`, in either order.
    std::size_t keyword = 1;
    while (keyword < words.size() && to_lower(words[keyword]) != "as" &&
           to_lower(words[keyword]) != "with")
        ++keyword;
    for (std::size_t i = keyword; i < words.size();) {
        std::string which = to_lower(words[i]);
        std::size_t end = i + 1;
        while (end < words.size() && to_lower(words[end]) != "as" && to_lower(words[end]) != "with")
            ++end;
        std::string value =
            join(std::vector<std::string>(words.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                          words.begin() + static_cast<std::ptrdiff_t>(end)),
                 " ");
        if (value.empty()) {
            answer.message = which == "as" ? "say who after 'as', e.g. 'done as Jana Novak'"
                                           : "say what after 'with', a file or a URL, e.g. 'done "
                                             "with /srv/restore-test.log'";
            return answer;
        }
        (which == "as" ? answer.by : answer.evidence) = value;
        i = end;
    }
    words.resize(std::min(keyword, words.size()));
    std::string list = std::to_string(waiting.size()) + " steps wait: " + numbered(waiting);
    std::string usage =
        "type the id or number of the step (" + numbered(waiting) + "), or reject ID: why";
    bool reject = !words.empty() && to_lower(words[0]) == "reject";
    if (reject) words.erase(words.begin());
    if (words.size() > 1) {
        answer.message = "'" + trim(head) + "' is not an answer; " +
                         (waiting.size() == 1 ? "type done (or " + waiting[0] + ")" +
                                                    " [as NAME] [: note], or reject: why"
                                              : usage);
        return answer;
    }
    std::string target = words.empty() ? "" : to_lower(words[0]);
    if (!reject && target.empty()) {
        answer.message = waiting.size() == 1 ? "type done (or " + waiting[0] +
                                                   ") [as NAME] [: note], or reject: why"
                                             : usage;
        return answer;
    }
    if (target.empty() || target == "done" || target == "yes" || target == "y") {
        if (waiting.size() != 1) {
            answer.message = list + "; say which: " + (reject ? "reject ID: why" : usage);
            return answer;
        }
        answer.step = waiting[0];
    } else if (std::all_of(target.begin(), target.end(), ::isdigit)) {
        std::size_t number = target.size() < 6 ? std::stoul(target) : 0;
        if (number < 1 || number > waiting.size()) {
            answer.message = "no step number " + target + "; " + list;
            return answer;
        }
        answer.step = waiting[number - 1];
    } else if (std::find(waiting.begin(), waiting.end(), target) != waiting.end()) {
        answer.step = target;
    } else {
        answer.message = "'" + words[0] + "' is not waiting here" + did_you_mean(target, waiting) +
                         "; waiting: " + numbered(waiting);
        return answer;
    }
    answer.kind = reject ? TerminalAnswer::Kind::reject : TerminalAnswer::Kind::confirm;
    return answer;
}

EngineConfirmations::EngineConfirmations(std::string journal_path, bool auto_confirm, bool terminal)
    : m_journal_path(std::move(journal_path)), m_auto_confirm(auto_confirm), m_terminal(terminal) {
    if (m_journal_path.empty()) return;  // a dry run: no journal, no inbox
    // Only confirmations posted after this run started count.
    std::ifstream in(inbox_path(m_journal_path), std::ios::binary | std::ios::ate);
    if (in) m_inbox_offset = static_cast<std::size_t>(in.tellg());
}

std::optional<InboxEntry> EngineConfirmations::poll_inbox(const ConfirmationRequest& request) {
    // New entries are kept until the step they name asks: parallel manual steps share the inbox.
    if (std::ifstream in{inbox_path(m_journal_path), std::ios::binary}) {
        in.seekg(static_cast<std::streamoff>(m_inbox_offset));
        std::string line;
        while (std::getline(in, line)) {
            if (in.eof()) break;  // an entry still being written
            m_inbox_offset += line.size() + 1;
            try {
                auto entry = nlohmann::json::parse(line);
                m_pending.push_back(
                    InboxEntry{entry.value("step", ""), entry.value("role", ""),
                               entry.value("by", ""), entry.value("note", ""),
                               entry.value("os_user", ""), entry.value("rejected", false),
                               entry.value("evidence", ""), entry.value("evidence_sha256", ""),
                               entry.value("evidence_size", std::int64_t{-1})});
            } catch (const std::exception&) {
                // `migrate confirm` writes whole JSON lines only; anything else is not a
                // confirmation.
            }
        }
    }
    for (auto it = m_pending.begin(); it != m_pending.end(); ++it)
        if (it->step == request.step_id && it->role == request.role) {
            InboxEntry entry = *it;
            m_pending.erase(it);
            return entry;
        }
    return std::nullopt;
}

std::vector<std::string> EngineConfirmations::waiting_ids() const {
    std::vector<std::string> ids;  // those still undecided
    for (const ConfirmationRequest& request : m_waiting)
        if (!m_decided.count(request.step_id)) ids.push_back(request.step_id);
    return ids;
}

void EngineConfirmations::print_prompt(const ConfirmationRequest& request) {
    std::cout << "\n  >> " << request.role
              << (request.role_description.empty() ? "" : " (" + request.role_description + ")")
              << ", step " << request.step_id
              << (request.step_name.empty() || request.step_name == request.step_id
                      ? ""
                      : " \"" + request.step_name + "\"")
              << ":\n     " << request.instructions << "\n";
    if (request.approvals > 1)
        std::cout << "     " << request.approvals << " different people must confirm"
                  << (request.approved_by.empty()
                          ? ""
                          : "; confirmed so far by " + join(request.approved_by, ", "))
                  << "\n";
    bool evidence = request.evidence != EvidencePolicy::none;
    if (evidence)
        std::cout << "     evidence needed: " << evidence_missing(request.evidence, Confirmation{})
                  << "\n";
    if (m_terminal && m_waiting.size() == 1)
        std::cout << "     here: type done (or " << request.step_id << ") [as NAME]"
                  << (evidence ? " [with FILE|URL]" : "") << " [: note], or reject: why\n";
    std::cout << "     from another terminal: "
              << confirm_command(m_journal_path, request.step_id, request.role)
              << (request.approvals > 1 ? " --by NAME" : "")
              << (request.evidence == EvidencePolicy::note ? " --note TEXT"
                  : evidence                               ? " --evidence FILE|URL"
                                                           : "")
              << std::endl;
    if (m_terminal && m_waiting.size() > 1) print_waiting_list();
}

void EngineConfirmations::print_waiting_list() {
    std::cout << "  >> " << m_waiting.size() << " steps wait:";
    for (std::size_t i = 0; i < m_waiting.size(); ++i) {
        const ConfirmationRequest& step = m_waiting[i];
        std::cout << "\n     " << i + 1 << ") " << step.step_id
                  << (step.step_name.empty() || step.step_name == step.step_id
                          ? ""
                          : " \"" + step.step_name + "\"")
                  << " (" << step.role << ")";
    }
    std::cout << "\n     type the id or number of the one you confirm [as NAME] [: note], "
                 "or reject ID: why"
              << std::endl;
}

// What was typed before the prompt was on screen was not typed in answer to it.
bool EngineConfirmations::discard_typed_ahead() {
    pollfd fd{0, POLLIN, 0};
    bool typed = !m_terminal_buffer.empty() || ::poll(&fd, 1, 0) > 0;
    ::tcflush(0, TCIFLUSH);
    m_terminal_buffer.clear();
    m_pending_reject.reset();
    return typed;
}

void EngineConfirmations::read_terminal() {
    pollfd fd{0, POLLIN, 0};
    while (::poll(&fd, 1, 0) > 0) {
        char buffer[256];
        ssize_t n = ::read(0, buffer, sizeof buffer);
        if (n <= 0) {
            m_terminal = false;  // stdin closed: only `migrate confirm` remains
            return;
        }
        m_terminal_buffer.append(buffer, static_cast<std::size_t>(n));
    }
    // Lines beyond the last undecided step stay unread: the next prompt discards them.
    for (std::size_t newline; (m_pending_reject || !waiting_ids().empty()) &&
                              (newline = m_terminal_buffer.find('\n')) != std::string::npos;) {
        std::string line = trim(m_terminal_buffer.substr(0, newline));
        m_terminal_buffer.erase(0, newline + 1);
        answer(line);
    }
}

void EngineConfirmations::answer(const std::string& line) {
    if (m_pending_reject) {
        PendingReject reject = *m_pending_reject;
        m_pending_reject.reset();
        if (line.empty()) {
            std::cout << "     not rejected; " << reject.step << " still waits" << std::endl;
            return;
        }
        m_decided[reject.step] = Confirmation{reject.by, line, "terminal", os_user(), true};
        return;
    }
    if (line.empty()) return;
    TerminalAnswer parsed = parse_terminal_answer(line, waiting_ids());
    if (parsed.kind == TerminalAnswer::Kind::unclear) {
        std::cout << "     " << parsed.message << std::endl;
        return;
    }
    std::string by = parsed.by.empty() ? os_user() : parsed.by;
    bool reject = parsed.kind == TerminalAnswer::Kind::reject;
    if (reject && parsed.note.empty()) {
        m_pending_reject = PendingReject{parsed.step, by};
        std::cout << "     why do you reject " << parsed.step
                  << "? (one line for the journal; an empty line cancels)" << std::endl;
        return;
    }
    Confirmation decision{by, parsed.note, "terminal", os_user(), reject};
    if (!parsed.evidence.empty()) {
        try {
            attach_evidence(decision, parsed.evidence);
        } catch (const UsageError& e) {
            std::cout << "     " << e.what() << std::endl;
            return;
        }
    }
    if (const ConfirmationRequest* request = waiting_request(parsed.step))
        if (std::string why = refusal(*request, decision); !why.empty()) {
            std::cout << "     " << why << std::endl;
            return;
        }
    m_decided[parsed.step] = decision;
}

const ConfirmationRequest* EngineConfirmations::waiting_request(const std::string& step) const {
    for (const ConfirmationRequest& request : m_waiting)
        if (request.step_id == step) return &request;
    return nullptr;
}

std::string EngineConfirmations::refusal(const ConfirmationRequest& request,
                                         const Confirmation& decision) const {
    if (decision.rejected) return "";  // a no-go needs only its reason, from anyone
    if (already_approved(request, decision.by))
        return request.step_id + ": " + second_person_message(request, decision.by) +
               (decision.via == "terminal" ? " (type done as THEIR NAME)" : "");
    if (std::string missing = evidence_missing(request.evidence, decision); !missing.empty())
        return request.step_id + " needs evidence, " + missing + ": " +
               (decision.via == "terminal"
                    ? "type done with FILE|URL, or done: a note"
                    : "confirm again with --evidence FILE|URL or --note TEXT");
    return "";
}

void EngineConfirmations::stop_waiting(const std::string& step, bool announce) {
    m_waiting.erase(std::remove_if(m_waiting.begin(), m_waiting.end(),
                                   [&](const ConfirmationRequest& r) { return r.step_id == step; }),
                    m_waiting.end());
    m_decided.erase(step);
    if (m_pending_reject && m_pending_reject->step == step) m_pending_reject.reset();
    if (!announce || !m_terminal) return;
    if (m_waiting.size() > 1) print_waiting_list();
    if (m_waiting.size() == 1)
        std::cout << "  >> still waiting: " << m_waiting[0].step_id
                  << "; type done (or its id) [as NAME] [: note], or reject: why" << std::endl;
}

std::optional<Confirmation> EngineConfirmations::wait(const ConfirmationRequest& request,
                                                      CancelToken& cancel) {
    std::unique_lock lock(m_mutex);
    if (m_auto_confirm)
        return Confirmation{"--yes", "confirmed by --yes (rehearsal)", "--yes", os_user(), false};
    if (!m_inbox_made) {  // the first step that waits makes the inbox for colleagues
        if (int fd = open_inbox(inbox_path(m_journal_path)); fd >= 0) ::close(fd);
        m_inbox_made = true;
    }
    m_waiting.push_back(request);
    // Flushed before the prompt is shown, so that an answer to it is never lost.
    bool discarded = m_terminal && discard_typed_ahead();
    print_prompt(request);
    if (discarded) std::cout << "     (what was typed before this prompt is ignored)" << std::endl;
    std::optional<Confirmation> decision;
    while (!cancel.cancelled() && !decision) {
        if (auto entry = poll_inbox(request)) {
            Confirmation posted{entry->by, entry->note, "migrate confirm", entry->os_user,
                                entry->rejected};
            posted.evidence = entry->evidence;
            posted.evidence_sha256 = entry->evidence_sha256;
            posted.evidence_size = entry->evidence_size;
            // `migrate confirm` refuses these itself; one posted in a race is refused here.
            if (std::string why = refusal(request, posted); !why.empty()) {
                std::cout << "  >> not counted: " << why << std::endl;
                continue;
            }
            decision = posted;
            break;
        }
        if (m_terminal) read_terminal();
        if (auto it = m_decided.find(request.step_id); it != m_decided.end()) {
            decision = it->second;
            break;
        }
        lock.unlock();
        cancel.wait_for(std::chrono::milliseconds(200));
        lock.lock();
    }
    stop_waiting(request.step_id, decision.has_value());
    return decision;
}

}  // namespace migrate::io
