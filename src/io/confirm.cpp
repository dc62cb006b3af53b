// Confirmations of manual steps.
#include "migrate/io/confirm.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::io {

std::string inbox_path(const std::string& journal_path) { return journal_path + ".confirm"; }

void post_to_inbox(const std::string& journal_path, const InboxEntry& entry) {
    nlohmann::ordered_json line = {
        {"step", entry.step}, {"role", entry.role}, {"by", entry.by}, {"note", entry.note}};
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::string path = inbox_path(journal_path);
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw Fatal(path + ": cannot write the confirmation: " + std::strerror(errno));
    ssize_t written = ::write(fd, text.data(), text.size());
    ::fsync(fd);
    ::close(fd);
    if (written != static_cast<ssize_t>(text.size()))
        throw Fatal(path + ": cannot write the confirmation");
}

EngineConfirmations::EngineConfirmations(std::string journal_path, bool auto_confirm, bool terminal)
    : m_journal_path(std::move(journal_path)), m_auto_confirm(auto_confirm), m_terminal(terminal) {
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
                m_pending.push_back(InboxEntry{entry.value("step", ""), entry.value("role", ""),
                                               entry.value("by", ""), entry.value("note", "")});
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

std::optional<Confirmation> EngineConfirmations::poll_terminal(const ConfirmationRequest&) {
    pollfd fd{0, POLLIN, 0};
    if (::poll(&fd, 1, 0) <= 0) return std::nullopt;
    char buffer[256];
    ssize_t n = ::read(0, buffer, sizeof buffer);
    if (n <= 0) {
        m_terminal = false;  // stdin closed: only `migrate confirm` remains
        return std::nullopt;
    }
    m_terminal_buffer.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline = m_terminal_buffer.find('\n');
    if (newline == std::string::npos) return std::nullopt;
    std::string answer = trim(m_terminal_buffer.substr(0, newline));
    m_terminal_buffer.erase(0, newline + 1);
    if (answer != "done" && answer != "yes" && answer != "y") {
        std::cout << "  type 'done' when the step is done (or confirm it with `migrate confirm`)"
                  << std::endl;
        return std::nullopt;
    }
    const char* user = std::getenv("USER");
    if (user == nullptr) {
        passwd* entry = ::getpwuid(::getuid());
        user = entry ? entry->pw_name : "unknown";
    }
    return Confirmation{user, "", "terminal"};
}

std::optional<Confirmation> EngineConfirmations::wait(const ConfirmationRequest& request,
                                                      CancelToken& cancel) {
    std::unique_lock lock(m_mutex);
    if (m_auto_confirm) return Confirmation{"--yes", "confirmed by --yes (rehearsal)", "--yes"};
    std::string confirm_command =
        "migrate confirm " + m_journal_path + " " + request.step_id + " --as " + request.role;
    std::cout << "\n  >> " << request.role
              << (request.role_description.empty() ? "" : " (" + request.role_description + ")")
              << ", step '" << request.step_id << "':\n     " << request.instructions << "\n"
              << (m_terminal ? "     type 'done' here when it is done, or run: "
                             : "     confirm with: ")
              << confirm_command << std::endl;
    while (!cancel.cancelled()) {
        if (auto entry = poll_inbox(request))
            return Confirmation{entry->by, entry->note, "migrate confirm"};
        if (m_terminal)
            if (auto answer = poll_terminal(request)) return answer;
        lock.unlock();
        cancel.wait_for(std::chrono::milliseconds(200));
        lock.lock();
    }
    return std::nullopt;
}

}  // namespace migrate::io
