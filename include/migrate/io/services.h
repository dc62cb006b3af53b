// Interfaces at every side effect a step has: processes, HTTP, people's confirmations,
// database sessions (io/db/session.h), the clock. The engine gets real ones; unit tests get fakes.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "migrate/io/db/session.h"
#include "migrate/util/clock.h"

namespace migrate::io {

struct ProcessSpec {
    std::string command;  // run by /bin/sh -c
    std::string cwd;
    std::map<std::string, std::string> env;  // added to the inherited environment
    std::string log_path;                    // stdout and stderr, redacted; "" for none
    // Called about once a second while the command runs, with the last line of its output so
    // far (redacted; "" before any), so a long command shows signs of life.
    std::function<void(const std::string& last_line)> on_tick;
};

struct ProcessResult {
    int exit_code = -1;       // -1 when killed by a signal
    int term_signal = 0;      // the signal that ended it, if any
    std::string stdout_text;  // capped at 64 KiB, redacted
    std::string output_tail;  // last lines of stdout+stderr, redacted
};

class ProcessRunner {
public:
    virtual ~ProcessRunner() = default;
    // Runs to completion, or until `cancel` fires: then the whole process group gets SIGTERM,
    // and SIGKILL after a grace period.
    virtual ProcessResult run(const ProcessSpec& spec, CancelToken& cancel) = 0;
};

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;
    Millis timeout{std::chrono::seconds(60)};
    bool insecure = false;
    std::string ca_file;
};

struct HttpResponse {
    long status = 0;    // 0 when no answer came
    std::string body;   // capped at 1 MiB
    std::string error;  // transport error, "" when an answer came
};

class HttpClient {
public:
    virtual ~HttpClient() = default;
    virtual HttpResponse perform(const HttpRequest& request, CancelToken& cancel) = 0;
};

struct Confirmation {
    std::string by;       // the name given (--by, "as NAME" at the prompt), else os_user
    std::string note;     // a rejection's reason
    std::string via;      // "terminal", "migrate confirm", "--yes"
    std::string os_user;  // the account that confirmed (from its uid)
    bool rejected = false;
    // What backs it up, beyond the note: a file (its path, SHA-256 and size, taken when it was
    // given) or a URL, as given; "" for none.
    std::string evidence;
    std::string evidence_sha256;  // a file's; "" for a URL
    std::int64_t evidence_size = -1;
    std::string evidence_waived;  // "--yes" when the step asked for evidence and --yes waived it
    // Its number among the approvals the step needs (approval 1 of 2); 0 when not counted.
    int approval = 0;
    int approvals = 1;
};

// What a step asks of a confirmation: none, or evidence in some form.
enum class EvidencePolicy { none, required, note, file, url };

struct ConfirmationRequest {
    std::string step_id;
    std::string step_name;
    std::string role;
    std::string role_description;
    std::string instructions;
    EvidencePolicy evidence = EvidencePolicy::none;
    int approvals = 1;                     // how many different people must confirm
    std::vector<std::string> approved_by;  // who confirmed already: each next one must differ
};

class ConfirmationSource {
public:
    virtual ~ConfirmationSource() = default;
    // Blocks until someone in the role confirms or rejects; nullopt when `cancel` fired first.
    virtual std::optional<Confirmation> wait(const ConfirmationRequest& request,
                                             CancelToken& cancel) = 0;
};

struct Services {
    ProcessRunner& processes;
    HttpClient& http;
    ConfirmationSource& confirmations;
    Clock& clock;
    io::db::Connector& database;  // opens sessions on a connection (io/db/drivers.h)
};

}  // namespace migrate::io
