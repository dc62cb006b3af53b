// How people confirm or reject manual steps: at the terminal, with `migrate confirm` from
// another terminal (through an inbox file beside the journal), or by --yes in rehearsals.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "migrate/io/services.h"

namespace migrate::io {

// "<journal>.confirm": JSON Lines appended by `migrate confirm`, read by the running engine.
std::string inbox_path(const std::string& journal_path);

// The account this process runs as, from its uid ($USER can say anything).
std::string os_user();

// The command that confirms `step` from another terminal: the journal's absolute path,
// quoted for the shell where needed.
std::string confirm_command(const std::string& journal_path, const std::string& step,
                            const std::string& role);

// Why `who` cannot read (`write` false) or write `path`, and what to change so they can.
std::string permission_advice(const std::string& path, bool write);

// "none", "required", "note", "file", "url" and back; nullopt for another word.
std::optional<EvidencePolicy> evidence_policy(const std::string& name);
std::string evidence_policy_name(EvidencePolicy policy);

// Attaches `given` to the confirmation as its evidence: a URL (it has "://") as given, or a
// file by its absolute path, SHA-256 and size. Throws UsageError when the file does not exist,
// is not a regular file, or cannot be read.
void attach_evidence(Confirmation& confirmation, const std::string& given);

// What the confirmation lacks for the policy: "a note, a file or a URL", "a file", "a URL",
// "a note"; "" when it has what is asked.
std::string evidence_missing(EvidencePolicy policy, const Confirmation& confirmation);

// Whether `by` already confirmed this step (names compared without case or outer spaces).
bool already_approved(const ConfirmationRequest& request, const std::string& by);
// "already confirmed by NAME; a second person must confirm" (third, ... for more approvals).
std::string second_person_message(const ConfirmationRequest& request, const std::string& by);

struct InboxEntry {
    std::string step;
    std::string role;
    std::string by;
    std::string note;
    std::string os_user;
    bool rejected = false;
    std::string evidence;  // as Confirmation's, hashed by `migrate confirm`
    std::string evidence_sha256;
    std::int64_t evidence_size = -1;
};

// Appends an entry (O_APPEND, one write). Throws UsageError when this account may not write
// the inbox (saying what to change), Fatal on other failures.
void post_to_inbox(const std::string& journal_path, const InboxEntry& entry);

// One line typed at the prompt, read against the steps that wait (in the order they began).
// Grammar: `WHAT [as NAME] [with FILE|URL] [: NOTE]`, WHAT being a step id, its number in the list,
// `done`/`yes`/`y` (only when one step waits), or `reject [ID|NUMBER]`.
struct TerminalAnswer {
    enum class Kind { confirm, reject, unclear };
    Kind kind = Kind::unclear;
    std::string step;      // the step it is for
    std::string by;        // the NAME of "as NAME"; "" when not given
    std::string note;      // after ':'
    std::string evidence;  // the FILE|URL of "with FILE|URL"; "" when not given
    std::string message;   // unclear: what to tell the operator
};
TerminalAnswer parse_terminal_answer(const std::string& line,
                                     const std::vector<std::string>& waiting);

class EngineConfirmations : public ConfirmationSource {
public:
    // `auto_confirm`: --yes in a rehearsal. `terminal`: prompt on stdin when it is a tty.
    // The first step that waits creates the inbox (group-writable when the journal's folder
    // is) so that colleagues in other accounts can post to it.
    EngineConfirmations(std::string journal_path, bool auto_confirm, bool terminal);
    std::optional<Confirmation> wait(const ConfirmationRequest& request,
                                     CancelToken& cancel) override;

private:
    struct PendingReject {
        std::string step;
        std::string by;
    };
    std::optional<InboxEntry> poll_inbox(const ConfirmationRequest& request);
    // Why a decision cannot count for the step that waits ("" when it can).
    std::string refusal(const ConfirmationRequest& request, const Confirmation& decision) const;
    const ConfirmationRequest* waiting_request(const std::string& step) const;
    void read_terminal();
    void answer(const std::string& line);
    void print_prompt(const ConfirmationRequest& request);
    void print_waiting_list();
    bool discard_typed_ahead();  // true when something was typed
    void stop_waiting(const std::string& step, bool announce);
    std::vector<std::string> waiting_ids() const;
    std::string m_journal_path;
    bool m_auto_confirm;
    bool m_terminal;
    std::size_t m_inbox_offset = 0;
    bool m_inbox_made = false;
    std::mutex m_mutex;  // guards everything below; one reader of the inbox and the terminal
    std::string m_terminal_buffer;
    std::vector<InboxEntry> m_pending;
    std::vector<ConfirmationRequest> m_waiting;     // in the order they began to wait
    std::map<std::string, Confirmation> m_decided;  // at the terminal, by step id
    std::optional<PendingReject> m_pending_reject;  // asked for the reason
};

}  // namespace migrate::io
