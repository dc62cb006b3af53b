// How people confirm manual steps: at the terminal, with `migrate confirm` from another
// terminal (through an inbox file beside the journal), or by --yes in rehearsals.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "migrate/io/services.h"

namespace migrate::io {

// "<journal>.confirm": JSON Lines appended by `migrate confirm`, read by the running engine.
std::string inbox_path(const std::string& journal_path);

struct InboxEntry {
    std::string step;
    std::string role;
    std::string by;
    std::string note;
};

// Appends an entry (O_APPEND, one write). Throws Fatal on failure.
void post_to_inbox(const std::string& journal_path, const InboxEntry& entry);

class EngineConfirmations : public ConfirmationSource {
public:
    // `auto_confirm`: --yes in a rehearsal. `terminal`: prompt on stdin when it is a tty.
    EngineConfirmations(std::string journal_path, bool auto_confirm, bool terminal);
    std::optional<Confirmation> wait(const ConfirmationRequest& request,
                                     CancelToken& cancel) override;

private:
    std::optional<InboxEntry> poll_inbox(const ConfirmationRequest& request);
    std::optional<Confirmation> poll_terminal(const ConfirmationRequest& request);
    std::string m_journal_path;
    bool m_auto_confirm;
    bool m_terminal;
    std::size_t m_inbox_offset = 0;
    std::mutex m_mutex;  // one prompt at a time; one reader of the inbox
    std::string m_terminal_buffer;
    std::vector<InboxEntry> m_pending;
};

}  // namespace migrate::io
