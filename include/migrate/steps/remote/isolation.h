// What the isolate and reconnect kinds share, and what can be tested without a host: the
// sources of an isolate step, the record of what was on (merged, so that a second pass never
// forgets what the first switched off), the systemctl and cron command lines, cron file edits.
#pragma once

#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/runbook/diagnostics.h"
#include "migrate/runbook/document.h"

namespace migrate::steps::remote {

using Json = nlohmann::ordered_json;

enum class SourceType { service, cron, sql, http };

struct HttpCall {
    std::string method = "POST";
    std::string url;
    std::string body;
};

// One entry of an isolate step's `sources`, interpolated.
struct IsolationSource {
    SourceType type = SourceType::service;
    std::string where;  // "sources[2]", for messages
    std::string key;    // names its entry in the record: "service nginx on web"
    std::string hosts;  // service, cron: a host pattern
    std::string service;
    bool disable = false;
    std::string cron_pattern;  // an ECMAScript regular expression, searched in each line
    std::string cron_file;     // "": the user's crontab (crontab -l / crontab -)
    std::string select;        // sql: the keys of what is on, first column
    std::string connection;
    std::string off_sql;  // with {ids}
    std::string on_sql;
    std::string url;        // http: GET answers the state
    std::string pointer;    // JSON pointer into the answer
    std::string on_equals;  // the value there that means "on"
    HttpCall off_call;
    HttpCall on_call;
    std::vector<std::string> headers;
};

// Parses the interpolated `sources`; `default_hosts` and `default_connection` are the step's
// `hosts` and `connection`. Throws StepError (not retryable) naming the entry.
std::vector<IsolationSource> parse_sources(const Json& sources, const std::string& default_hosts,
                                           const std::string& default_connection);

// The validator's check of `with.sources`: a list of mappings, each with one of service, cron,
// sql, http and only the fields that type takes (did-you-mean), a pattern that compiles.
void check_sources(const runbook::Node& with, runbook::Diagnostics& diagnostics);

// ---- the record: {"sources": {KEY: entry}}. "Was on" is sticky: a later pass that finds a
// thing off (because the first pass switched it off) keeps the first pass's "on".

struct ServiceState {
    std::string active;   // systemctl is-active: active, inactive, failed...
    std::string enabled;  // systemctl is-enabled: enabled, disabled, static... ("" when none)
    bool on() const;      // active, activating or reloading
};

// Reads the answer of service_query_command; throws StepError when systemctl said nothing.
ServiceState parse_service_state(const std::string& stdout_text);

// A host's entry once its state was seen: {was_on, active, enabled, disabled, off}.
Json merge_service_host(const Json& earlier, const ServiceState& now);

// The earlier list with the new values appended, each once, in first-seen order.
Json merge_unique(const Json& earlier, const std::vector<std::string>& more);

// ---- commands run on a host by the remote shell

std::string service_query_command(const std::string& systemctl, bool become,
                                  const std::string& unit);
std::string service_stop_command(const std::string& systemctl, bool become, const std::string& unit,
                                 bool disable);
std::string service_start_command(const std::string& systemctl, bool become,
                                  const std::string& unit, bool enable);
// Prints the cron file (the user's crontab when `file` is ""; none is empty).
std::string cron_read_command(const std::string& file, bool become);
// Replaces the cron file with what comes on standard input.
std::string cron_write_command(const std::string& file, bool become);
// A local /bin/sh line that feeds `content` to `remote_line`'s standard input.
std::string feed_command(const std::string& content, const std::string& remote_line);

// ---- cron file edits

// The prefix of a line the isolate step `step_id` commented out.
std::string cron_marker(const std::string& step_id);

struct CronEdit {
    std::string text;                  // the file after the edit
    std::vector<std::string> changed;  // lines commented (or restored), as they were before
    std::vector<std::string> already;  // comment_out: lines that carry the marker already
};

// Comments out every line that is neither empty nor a comment and in which `pattern` is
// found, with `marker` in front.
CronEdit comment_out_lines(const std::string& text, const std::regex& pattern,
                           const std::string& marker);
// Takes `marker` off every line that starts with it.
CronEdit restore_lines(const std::string& text, const std::string& marker);

// ---- SQL and HTTP toggles

// `statement` with {ids} replaced by `quoted_ids` joined with commas.
std::string with_ids(const std::string& statement, const std::vector<std::string>& quoted_ids);

// Does the JSON answer `body` say "on": the value at `pointer` ("" the whole answer) equals
// `on_equals` (a string as it is, any other value as JSON text)? Throws StepError.
bool http_state_on(const std::string& body, const std::string& pointer,
                   const std::string& on_equals);

}  // namespace migrate::steps::remote
