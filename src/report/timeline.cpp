// Building a timeline out of journal records.
#include "migrate/report/timeline.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <unordered_map>

#include "../journal/scan.h"
#include "migrate/steps/kinds.h"
#include "migrate/util/error.h"
#include "migrate/util/huge_pages.h"

namespace migrate::report {

std::optional<std::int64_t> Timeline::downtime_ms() const {
    if (outages.empty()) return std::nullopt;
    std::int64_t total = 0;
    for (const Outage& outage : outages) total += outage.end_ms.value_or(end_ms) - outage.start_ms;
    return total;
}

const RunInfo* Timeline::run(const std::string& id) const {
    for (const RunInfo& info : runs)
        if (info.id == id) return &info;
    return nullptr;
}

void check_for_analysis(const std::string& path, const journal::ReadResult& read,
                        std::size_t records, bool force) {
    if (read.problem) {
        bool newer = read.problem->message.find("is not supported") != std::string::npos;
        std::string where =
            path + ":" + std::to_string(read.problem->line) + ": " + read.problem->message;
        if (newer) throw UsageError(where);
        if (!force)
            throw UsageError(where + "; the journal does not verify (--force reads the " +
                             std::to_string(records) + " records before that line)");
    }
    if (records == 0)
        throw UsageError(path + ": the journal holds no records" +
                         (read.torn_tail ? " (only a torn line)" : std::string()));
}

journal::ReadResult read_for_analysis(const std::string& path, bool force) {
    journal::ReadResult read = journal::read_journal(path);
    check_for_analysis(path, read, read.records.size(), force);
    return read;
}

namespace {

// The fields of one record the timeline uses, from either reader.
struct EventView {
    std::string_view ev, run, step, phase, kind, role, name, status, downtime, rollback_of, error,
        reason, by, os_user, via, note, decision, evidence, evidence_sha256, evidence_waived,
        failed_hosts;
    std::string_view mode, env, runbook, runbook_sha256, runbook_name;
    std::int64_t ts_ms = 0;
    std::int64_t duration_ms = 0;
    std::int64_t waited_ms = 0;
    std::int64_t evidence_size = -1;
    int approval = 0, approvals = 0;
    int attempts = 0;
    std::optional<std::int64_t> downtime_budget_ms;
    const Json* metrics = nullptr;           // nlohmann reader
    simdjson::dom::element metrics_element;  // simdjson reader
    bool has_metrics_element = false;
    double progress_bytes = -1, progress_rows = -1;  // a step.progress record's counts
};

// `text == literal`, with the length known at compile time: the comparison is inlined, not
// a call to memcmp (a million records, a dozen keys each).
template <std::size_t N>
bool is(std::string_view text, const char (&literal)[N]) {
    return text.size() == N - 1 && std::memcmp(text.data(), literal, N - 1) == 0;
}

// "2026-11-22T02:33:37.292Z" to epoch milliseconds, without sscanf or timegm (a million
// records must parse in well under a second).
std::int64_t fast_utc_ms(std::string_view text) {
    if (text.size() != 24 || text[4] != '-' || text[10] != 'T' || text[19] != '.' ||
        text[23] != 'Z')
        return parse_utc_ms(std::string(text));
    auto number = [&](std::size_t pos, std::size_t digits) {
        std::int64_t value = 0;
        for (std::size_t i = 0; i < digits; ++i) value = value * 10 + (text[pos + i] - '0');
        return value;
    };
    std::int64_t year = number(0, 4), month = number(5, 2), day = number(8, 2);
    // Days from civil (Howard Hinnant's algorithm).
    year -= month <= 2;
    std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    std::int64_t year_of_era = year - era * 400;
    std::int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    std::int64_t days = era * 146097 + day_of_era - 719468;
    return ((days * 24 + number(11, 2)) * 60 + number(14, 2)) * 60'000 + number(17, 2) * 1000 +
           number(20, 3);
}

class TimelineBuilder {
public:
    void add(const EventView& e) {
        std::int64_t at = e.ts_ms;
        if (m_timeline.start_ms == 0) m_timeline.start_ms = at;
        m_timeline.end_ms = std::max(m_timeline.end_ms, at);
        bool starts_run = is(e.ev, "run.start") || is(e.ev, "run.resume");
        if (!m_timeline.runs.empty() && !starts_run) m_timeline.runs.back().end_ms = at;
        if (starts_run) return start_run(e, at);
        if (is(e.ev, "run.end")) {
            if (!m_timeline.runs.empty()) m_timeline.runs.back().status = std::string(e.status);
            return;
        }
        if (e.step.empty()) return;
        std::string id(e.step);
        if (is(e.ev, "step.start")) {
            StepExecution& step = open_step(id, e, at);
            step.status = "running";
            step.name = std::string(e.name);
        } else if (is(e.ev, "step.retry")) {
            if (auto it = m_open.find(id); it != m_open.end())
                m_timeline.steps[it->second].retry_ms.push_back(at);
        } else if (is(e.ev, "step.confirm")) {
            if (auto it = m_open.find(id); it != m_open.end()) {
                StepExecution& step = m_timeline.steps[it->second];
                step.waited_ms += e.waited_ms;
                step.decisions.push_back(StepExecution::Decision{
                    e.decision.empty() ? "confirmed" : std::string(e.decision), std::string(e.by),
                    std::string(e.os_user), std::string(e.via), std::string(e.note), at,
                    e.waited_ms, std::string(e.evidence), std::string(e.evidence_sha256),
                    e.evidence_size, std::string(e.evidence_waived), e.approval, e.approvals});
            }
        } else if (is(e.ev, "step.end")) {
            end_step(id, e, at);
        } else if (is(e.ev, "step.progress") && (e.progress_bytes >= 0 || e.progress_rows >= 0)) {
            if (auto it = m_open.find(id); it != m_open.end())
                m_timeline.steps[it->second].progress.push_back(
                    {at, e.progress_bytes, e.progress_rows});
        }
    }

    // Room for the executions of a journal of `bytes` up front: growing the vector moved
    // every execution again and touched fresh pages each time (a quarter of a
    // million-record report's time). An execution takes at least a start and an end record,
    // over 400 bytes, so this is more than enough; pages never written cost nothing. The
    // room is backed by huge pages where the system allows: a 4 KiB page fault per dozen
    // executions was a tenth of the time.
    void reserve_for(std::size_t bytes) {
        std::vector<StepExecution>& steps = m_timeline.steps;
        steps.reserve(bytes / 400 + 16);
        advise_huge_pages(steps.data(), steps.capacity() * sizeof(StepExecution));
    }

    Timeline finish() {
        for (auto& [id, index] : m_open) {  // still running, or the run was killed
            StepExecution& step = m_timeline.steps[index];
            step.end_ms = m_timeline.end_ms;
            step.duration_ms = step.end_ms - step.start_ms;
        }
        find_outages();
        return std::move(m_timeline);
    }

private:
    void find_outages() {
        std::vector<Outage>& outages = m_timeline.outages;
        bool open = false;
        for (const StepExecution& step : m_timeline.steps) {
            if (!open && step.downtime == "start" && step.status != "skipped" &&
                step.rollback_of.empty()) {
                outages.push_back(Outage{step.start_ms, std::nullopt, step.step});
                open = true;
            } else if (open && step.downtime == "end" && step.status == "ok") {
                outages.back().end_ms = step.end_ms;
                outages.back().end_step = step.step;
                outages.back().closed_by_rollback = !step.rollback_of.empty();
                open = false;
            }
        }
        const std::vector<RunInfo>& runs = m_timeline.runs;
        for (Outage& outage : outages) {
            std::int64_t end = outage.end_ms.value_or(m_timeline.end_ms);
            for (std::size_t i = 1; i < runs.size(); ++i)
                if (runs[i - 1].end_ms >= outage.start_ms && runs[i].start_ms <= end) {
                    outage.gaps_ms += runs[i].start_ms - runs[i - 1].end_ms;
                    ++outage.runs;
                }
        }
    }

    void start_run(const EventView& e, std::int64_t at) {
        RunInfo info{std::string(e.run),
                     std::string(e.ev),
                     std::string(e.runbook_name),
                     std::string(e.runbook),
                     std::string(e.runbook_sha256),
                     std::string(e.mode),
                     std::string(e.env),
                     "stopped",
                     at,
                     at,
                     e.downtime_budget_ms};
        // A run that stopped without run.end leaves its steps open; they ended when it did.
        for (auto& [id, index] : m_open) {
            StepExecution& step = m_timeline.steps[index];
            step.status = "interrupted";
            step.end_ms = m_timeline.runs.empty() ? step.start_ms : m_timeline.runs.back().end_ms;
            step.duration_ms = step.end_ms - step.start_ms;
        }
        m_open.clear();
        m_timeline.runs.push_back(info);
    }

    StepExecution& open_step(const std::string& id, const EventView& e, std::int64_t at) {
        m_open[id] = m_timeline.steps.size();
        // Built in place: a built execution moved into the vector was a tenth of the time.
        StepExecution& step = m_timeline.steps.emplace_back();
        step.step = id;
        step.phase = std::string(e.phase);
        step.kind = std::string(e.kind);
        step.people_kind = steps::is_people_kind(step.kind);
        step.role = std::string(e.role);
        step.run_id = std::string(e.run);
        step.start_ms = step.end_ms = at;
        step.downtime = std::string(e.downtime);
        step.rollback_of = std::string(e.rollback_of);
        return step;
    }

    void end_step(const std::string& id, const EventView& e, std::int64_t at) {
        auto it = m_open.find(id);
        StepExecution& step = it != m_open.end() ? m_timeline.steps[it->second]
                                                 : open_step(id, e, at);  // skipped: no start
        step.status = std::string(e.status);
        step.duration_ms = e.duration_ms;
        step.end_ms = at;
        step.start_ms = std::min(step.start_ms, at - e.duration_ms);
        step.attempts = e.attempts;
        if (e.metrics)
            step.metrics = *e.metrics;
        else if (e.has_metrics_element)
            step.metrics = metrics_of(e.metrics_element);
        step.error = std::string(e.error.empty() ? e.reason : e.error);
        step.failed_hosts = std::string(e.failed_hosts);
        if (step.downtime.empty()) step.downtime = std::string(e.downtime);
        m_open.erase(id);
    }

    static Json metrics_of(simdjson::dom::element element) {
        Json metrics = Json::object();
        simdjson::dom::object object;
        if (element.get_object().get(object) != simdjson::SUCCESS) return metrics;
        for (auto [key, value] : object) {
            double number = 0;
            std::int64_t whole = 0;
            if (value.get_int64().get(whole) == simdjson::SUCCESS)
                metrics[std::string(key)] = whole;
            else if (value.get_double().get(number) == simdjson::SUCCESS)
                metrics[std::string(key)] = number;
        }
        return metrics;
    }

    Timeline m_timeline;
    std::unordered_map<std::string, std::size_t> m_open;  // step id -> its execution without an end
};

std::string_view text_of(const Json& data, const char* key) {
    auto it = data.find(key);
    return it != data.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>())
                                               : std::string_view();
}

std::int64_t number_of(const Json& data, const char* key) {
    auto it = data.find(key);
    return it != data.end() && it->is_number() ? it->get<std::int64_t>() : 0;
}

EventView view_of(const Json& data) {
    EventView e;
    e.ev = text_of(data, "ev");
    e.run = text_of(data, "run");
    e.ts_ms = fast_utc_ms(text_of(data, "ts"));
    e.step = text_of(data, "step");
    e.phase = text_of(data, "phase");
    e.kind = text_of(data, "kind");
    e.role = text_of(data, "role");
    e.name = text_of(data, "name");
    e.status = text_of(data, "status");
    e.downtime = text_of(data, "downtime");
    e.rollback_of = text_of(data, "rollback_of");
    e.error = text_of(data, "error");
    e.reason = text_of(data, "reason");
    e.by = text_of(data, "by");
    e.os_user = text_of(data, "os_user");
    e.via = text_of(data, "via");
    e.note = text_of(data, "note");
    e.decision = text_of(data, "decision");
    e.failed_hosts = text_of(data, "failed_hosts");
    e.evidence = text_of(data, "evidence");
    e.evidence_sha256 = text_of(data, "evidence_sha256");
    e.evidence_waived = text_of(data, "evidence_waived");
    if (data.contains("evidence_size")) e.evidence_size = number_of(data, "evidence_size");
    if (e.ev == "step.progress")
        if (auto it = data.find("metrics"); it != data.end() && it->is_object()) {
            if (auto b = it->find("bytes"); b != it->end() && b->is_number())
                e.progress_bytes = b->get<double>();
            if (auto r = it->find("rows"); r != it->end() && r->is_number())
                e.progress_rows = r->get<double>();
        }
    e.approval = static_cast<int>(number_of(data, "approval"));
    e.approvals = static_cast<int>(number_of(data, "approvals"));
    e.mode = text_of(data, "mode");
    e.env = text_of(data, "env");
    e.runbook = text_of(data, "runbook");
    e.runbook_sha256 = text_of(data, "runbook_sha256");
    e.runbook_name = e.name;
    e.duration_ms = number_of(data, "duration_ms");
    e.waited_ms = number_of(data, "waited_ms");
    e.attempts = static_cast<int>(number_of(data, "attempts"));
    if (data.contains("downtime_budget_ms"))
        e.downtime_budget_ms = number_of(data, "downtime_budget_ms");
    if (auto it = data.find("metrics"); it != data.end() && it->is_object()) e.metrics = &*it;
    return e;
}

// The counts of a step.progress record's metrics.
void progress_counts(simdjson::dom::element metrics, EventView& e) {
    simdjson::dom::object object;
    if (metrics.get_object().get(object) != simdjson::SUCCESS) return;
    for (auto [key, value] : object) {
        double number = 0;
        if (!is(key, "bytes") && !is(key, "rows")) continue;
        if (value.get_double().get(number) != simdjson::SUCCESS) {
            std::int64_t whole = 0;
            if (value.get_int64().get(whole) != simdjson::SUCCESS) {
                std::uint64_t big = 0;
                if (value.get_uint64().get(big) != simdjson::SUCCESS) continue;
                number = static_cast<double>(big);
            } else {
                number = static_cast<double>(whole);
            }
        }
        (is(key, "bytes") ? e.progress_bytes : e.progress_rows) = number;
    }
}

EventView view_of(const journal::ScannedRecord& record) {
    EventView e;
    e.ev = record.event;
    // One pass over the fields: keyed look-ups scan the object once per key.
    simdjson::dom::object object = record.element.get_object().value_unsafe();
    bool progress = is(e.ev, "step.progress");  // most of a long journal; only its time matters
    for (auto [key, value] : object) {
        std::string_view text;
        std::int64_t number = 0;
        bool is_text = value.get_string().get(text) == simdjson::SUCCESS;
        bool is_number = !is_text && value.get_int64().get(number) == simdjson::SUCCESS;
        if (is(key, "ts") && is_text)
            e.ts_ms = fast_utc_ms(text);
        else if (is(key, "run") && is_text)
            e.run = text;
        else if (is(key, "step") && is_text)
            e.step = text;
        else if (progress) {
            if (is(key, "metrics")) progress_counts(value, e);
        } else if (is(key, "phase") && is_text)
            e.phase = text;
        else if (is(key, "kind") && is_text)
            e.kind = text;
        else if (is(key, "role") && is_text)
            e.role = text;
        else if (is(key, "name") && is_text)
            e.name = e.runbook_name = text;
        else if (is(key, "status") && is_text)
            e.status = text;
        else if (is(key, "downtime") && is_text)
            e.downtime = text;
        else if (is(key, "rollback_of") && is_text)
            e.rollback_of = text;
        else if (is(key, "error") && is_text)
            e.error = text;
        else if (is(key, "reason") && is_text)
            e.reason = text;
        else if (is(key, "by") && is_text)
            e.by = text;
        else if (is(key, "os_user") && is_text)
            e.os_user = text;
        else if (is(key, "via") && is_text)
            e.via = text;
        else if (is(key, "note") && is_text)
            e.note = text;
        else if (is(key, "decision") && is_text)
            e.decision = text;
        else if (is(key, "failed_hosts") && is_text)
            e.failed_hosts = text;
        else if (is(key, "evidence") && is_text)
            e.evidence = text;
        else if (is(key, "evidence_sha256") && is_text)
            e.evidence_sha256 = text;
        else if (is(key, "evidence_waived") && is_text)
            e.evidence_waived = text;
        else if (is(key, "evidence_size") && is_number)
            e.evidence_size = number;
        else if (is(key, "approval") && is_number)
            e.approval = static_cast<int>(number);
        else if (is(key, "approvals") && is_number)
            e.approvals = static_cast<int>(number);
        else if (is(key, "mode") && is_text)
            e.mode = text;
        else if (is(key, "env") && is_text)
            e.env = text;
        else if (is(key, "runbook") && is_text)
            e.runbook = text;
        else if (is(key, "runbook_sha256") && is_text)
            e.runbook_sha256 = text;
        else if (is(key, "duration_ms") && is_number)
            e.duration_ms = number;
        else if (is(key, "waited_ms") && is_number)
            e.waited_ms = number;
        else if (is(key, "attempts") && is_number)
            e.attempts = static_cast<int>(number);
        else if (is(key, "downtime_budget_ms") && is_number)
            e.downtime_budget_ms = number;
        else if (is(key, "metrics")) {
            e.metrics_element = value;
            e.has_metrics_element = true;
        }
    }
    return e;
}

}  // namespace

Timeline build_timeline(const journal::ReadResult& journal) {
    TimelineBuilder builder;
    for (const journal::Record& record : journal.records) builder.add(view_of(record.data));
    return builder.finish();
}

Timeline load_timeline(const std::string& path, bool force) {
    journal::JournalText text = journal::JournalText::load(path);
    TimelineBuilder builder;
    builder.reserve_for(text.view().size());
    std::size_t records = 0;
    journal::ReadResult read =
        journal::scan_journal(text, [&](const journal::ScannedRecord& record) {
            ++records;
            builder.add(view_of(record));
        });
    check_for_analysis(path, read, records, force);
    Timeline timeline = builder.finish();
    if (timeline.runs.empty()) throw UsageError(path + ": the journal holds no run.start record");
    return timeline;
}

}  // namespace migrate::report
