// Golden tests of the journal analysis: journals written by the test with known durations
// and metrics, and the exact figures report/estimate/diff must derive from them.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "migrate/journal/journal.h"
#include "migrate/report/diff.h"
#include "migrate/report/estimate.h"
#include "migrate/report/monte_carlo.h"
#include "migrate/report/render.h"
#include "migrate/report/timeline.h"
#include "migrate/runbook/validate.h"
#include "migrate/steps/kinds.h"
#include "migrate/util/error.h"

using namespace migrate;
using Json = nlohmann::ordered_json;

namespace {

// Wall time set by the test, so every record's timestamp is known.
class SetClock : public Clock {
public:
    std::int64_t now = 1'800'000'000'000;
    std::int64_t wall_ms() override { return now; }
    std::int64_t steady_ms() override { return now; }
    bool sleep(Millis, CancelToken&) override { return true; }
};

std::string temp_path(const std::string& name) {
    static int counter = 0;
    auto dir = std::filesystem::temp_directory_path() /
               ("migrate-report-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return (dir / (std::to_string(++counter) + "-" + name)).string();
}

// Writes a journal the way the engine does, with times the test chooses.
class JournalBuilder {
public:
    explicit JournalBuilder(const std::string& name, const std::string& mode = "rehearsal")
        : m_path(temp_path(name + ".jsonl")), m_name(name), m_mode(mode) {
        start_run("run.start");
    }
    void start_run(const std::string& event) {
        m_writer = journal::Writer::open(m_path, "run-" + std::to_string(++m_runs), m_clock);
        m_writer->append(event, Json{{"name", m_name}, {"mode", m_mode}, {"env", "preprod"}}, true);
    }
    // A step that starts now and takes `ms`; the clock moves to its end.
    JournalBuilder& step(const std::string& id, std::int64_t ms, const std::string& status = "ok",
                         Json metrics = Json::object(), const std::string& role = "executor",
                         const std::string& kind = "shell", const std::string& downtime = "") {
        Json start{{"step", id}, {"phase", "p"}, {"kind", kind}, {"role", role}};
        if (!downtime.empty()) start["downtime"] = downtime;
        m_writer->append("step.start", start, false);
        for (; m_pending_retries > 0; --m_pending_retries)
            m_writer->append(
                "step.retry",
                Json{{"step", id}, {"attempt", 1}, {"error", "boom"}, {"backoff_ms", 1000}}, false);
        m_clock.now += ms;
        if (kind == "manual") {
            Json confirm{{"step", id}, {"role", role}, {"by", "jana"}, {"waited_ms", ms}};
            if (m_by_yes)
                confirm = Json{{"step", id},
                               {"role", role},
                               {"by", "--yes"},
                               {"via", "--yes"},
                               {"waited_ms", ms}};
            m_writer->append("step.confirm", confirm, true);
        }
        Json end = start;
        end["status"] = status;
        end["duration_ms"] = ms;
        end["attempts"] = 1;
        end["metrics"] = metrics;
        m_writer->append("step.end", end, true);
        return *this;
    }
    // A step that moves bytes at the given rate for each second (one step.progress record a
    // second, as the engine writes them), then ends with the total as its metric.
    JournalBuilder& moving(const std::string& id, const std::vector<double>& bytes_per_second,
                           const std::string& kind = "download", const std::string& downtime = "") {
        Json start{{"step", id}, {"phase", "p"}, {"kind", kind}, {"role", "executor"}};
        if (!downtime.empty()) start["downtime"] = downtime;
        m_writer->append("step.start", start, false);
        double done = 0;
        for (double rate : bytes_per_second) {
            m_clock.now += 1000;
            done += rate;
            m_writer->append("step.progress",
                             Json{{"step", id},
                                  {"message", "moving"},
                                  {"metrics", Json{{"bytes", static_cast<std::uint64_t>(done)}}}},
                             false);
        }
        Json end = start;
        end["status"] = "ok";
        end["duration_ms"] = static_cast<std::int64_t>(bytes_per_second.size()) * 1000;
        end["attempts"] = 1;
        end["metrics"] = Json{{"bytes", static_cast<std::uint64_t>(done)}};
        m_writer->append("step.end", end, true);
        return *this;
    }
    // Manual steps from now on are confirmed by --yes, as in a rehearsal run with it.
    JournalBuilder& by_yes(bool on = true) {
        m_by_yes = on;
        return *this;
    }
    // The next step() records a retry between its start and its end.
    JournalBuilder& retry() {
        ++m_pending_retries;
        return *this;
    }
    JournalBuilder& wait(std::int64_t ms) {
        m_clock.now += ms;
        return *this;
    }
    JournalBuilder& end_run(const std::string& status = "ok") {
        m_writer->append("run.end", Json{{"status", status}}, true);
        return *this;
    }
    // A kill -9: the writer goes away without run.end.
    JournalBuilder& crash() {
        m_writer.reset();
        return *this;
    }
    JournalBuilder& resume() {
        m_writer.reset();
        start_run("run.resume");
        return *this;
    }
    std::string path() {
        m_writer.reset();
        return m_path;
    }
    report::JournalInput input() {
        std::string file = path();
        return {file, report::build_timeline(report::read_for_analysis(file, false))};
    }

private:
    SetClock m_clock;
    std::string m_path;
    std::string m_name;
    std::string m_mode;
    int m_runs = 0;
    int m_pending_retries = 0;
    bool m_by_yes = false;
    std::unique_ptr<journal::Writer> m_writer;
};

runbook::Runbook book_from(const std::string& yaml, std::shared_ptr<runbook::Diagnostics>& keep) {
    auto source = std::make_shared<runbook::SourceFile>("test.yaml", yaml);
    keep = std::make_shared<runbook::Diagnostics>(source);
    runbook::Document document{source, runbook::parse_document(*source, *keep)};
    runbook::Runbook book = runbook::load_runbook(document, *keep);
    runbook::validate_runbook(book, kinds::schemas_of(steps::builtin_kinds()), {}, *keep);
    INFO(keep->format());
    REQUIRE_FALSE(keep->has_errors());
    return book;
}

const report::StepForecast& figure(const report::Forecast& forecast, const std::string& id) {
    for (const auto& step : forecast.steps)
        if (step.id == id) return step;
    FAIL("no forecast for " << id);
    throw std::logic_error("unreachable");
}

constexpr const char* k_linear = R"(version: 1
name: golden
phases:
  - id: p
    steps:
      - { id: a, kind: noop }
      - { id: b, kind: noop }
)";

}  // namespace

TEST_CASE("percentile: median and linear interpolation between ranks", "[estimate]") {
    CHECK(report::percentile({100}, 0.5) == 100);
    CHECK(report::percentile({100}, 0.9) == 100);
    CHECK(report::percentile({200, 100}, 0.5) == 150);
    CHECK(report::percentile({200, 100}, 0.9) == Approx(190));
    CHECK(report::percentile({1000, 100, 400, 200, 300}, 0.5) == 300);
    CHECK(report::percentile({1000, 100, 400, 200, 300}, 0.9) == Approx(760));
}

TEST_CASE("estimate: P50/P90 from 1, 2 and 5 samples", "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(k_linear, keep);
    std::vector<report::JournalInput> journals;
    std::vector<std::int64_t> a_durations = {1000, 2000, 3000, 4000, 10000};
    for (std::size_t i = 0; i < a_durations.size(); ++i) {
        JournalBuilder journal("golden");
        journal.step("a", a_durations[i]).step("b", 500).end_run();
        journals.push_back(journal.input());
        report::Forecast forecast = report::estimate(book, journals, {});
        const auto& a = figure(forecast, "a");
        CHECK(a.samples == static_cast<int>(i + 1));
        CHECK(a.source == "journal");
        // One sample: the P90 is the floor of the family (a command's: 25%). Two: their
        // spread, if wider than the floor. Five: the spread.
        if (i == 0) CHECK((a.p50_ms == 1000 && a.p90_ms == 1250));
        if (i == 0) CHECK(a.p90_basis == "floor 25% (command)");
        if (i == 1) CHECK((a.p50_ms == 1500 && a.p90_ms == Approx(1900)));
        if (i == 1) CHECK(a.p90_basis == "spread of 2 rehearsals");
        if (i == 4) {
            CHECK(a.p50_ms == 3000);
            CHECK(a.p90_ms == Approx(7600));
            // The run's percentiles come from joint draws: close to the sums here, one step
            // dominating.
            CHECK(forecast.total_p50_ms == Approx(3500).epsilon(0.02));
            CHECK(forecast.total_p90_ms == Approx(8100).epsilon(0.02));
        }
    }
}

TEST_CASE("estimate: a 30 GB download at 800 KB/s is about 10.4 hours; 35 GB longer",
          "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(R"(version: 1
name: crm
vars:
  backup_bytes: 30GB
phases:
  - id: p
    steps:
      - id: download
        kind: noop
        scale: { metric: bytes, expect: "${backup_bytes}" }
)",
                                      keep);
    JournalBuilder journal("crm");
    journal.step("download", 37'500'000, "ok", Json{{"bytes", 30'000'000'000LL}}).end_run();
    std::vector<report::JournalInput> journals{journal.input()};

    report::Forecast same = report::estimate(book, journals, {});
    CHECK(figure(same, "download").source == "scaled");
    CHECK(figure(same, "download").p50_ms == Approx(37'500'000));  // 10.42 h
    CHECK(figure(same, "download").detail == "bytes 27.9GiB -> 27.9GiB at 781.2KiB/s");

    report::EstimateOptions bigger;
    bigger.sets["backup_bytes"] = "35GB";
    report::Forecast forecast = report::estimate(book, journals, bigger);
    CHECK(figure(forecast, "download").p50_ms == Approx(43'750'000));  // 12.15 h
    CHECK(report::format_ms(figure(forecast, "download").p50_ms) == "12h9m");
}

TEST_CASE("estimate: with samples at two volumes the fixed part is fitted", "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(R"(version: 1
name: fit
vars: { rows: "3000" }
phases:
  - id: p
    steps:
      - { id: load, kind: noop, scale: { metric: rows, expect: "${rows}" } }
)",
                                      keep);
    // 60 s fixed + 1 ms per row.
    JournalBuilder one("fit"), two("fit");
    one.step("load", 61'000, "ok", Json{{"rows", 1000}}).end_run();
    two.step("load", 62'000, "ok", Json{{"rows", 2000}}).end_run();
    report::Forecast forecast = report::estimate(book, {one.input(), two.input()}, {});
    CHECK(figure(forecast, "load").p50_ms == Approx(63'000));
    // The two scale to the same figure: no spread, so the floor.
    CHECK(figure(forecast, "load").p90_ms == Approx(63'000 * 1.25));
}

TEST_CASE("estimate: the critical path takes the longer of two parallel branches", "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(R"(version: 1
name: branches
phases:
  - id: p
    steps:
      - { id: start, kind: noop }
      - { id: short, kind: noop, needs: [start] }
      - { id: long, kind: noop, needs: [start] }
      - { id: join, kind: noop, needs: [short, long] }
)",
                                      keep);
    JournalBuilder journal("branches");
    journal.step("start", 1000)
        .step("short", 10'000)
        .step("long", 30'000)
        .step("join", 2000)
        .end_run();
    report::Forecast forecast = report::estimate(book, {journal.input()}, {});
    CHECK(forecast.total_p50_ms == Approx(33'000).epsilon(0.01));
    CHECK(forecast.critical_path == std::vector<std::string>{"start", "long", "join"});
    CHECK_FALSE(figure(forecast, "short").on_critical_path);
}

TEST_CASE("estimate: a downtime window from one phase into another, people time apart",
          "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(R"(version: 1
name: window
downtime_budget: 90m
roles: { customer: Customer }
phases:
  - id: before
    steps:
      - { id: prepare, kind: noop }
      - { id: agents-out, kind: manual, role: customer, downtime: start, with: { instructions: x } }
      - { id: dump, kind: noop }
  - id: after
    steps:
      - { id: import, kind: noop }
      - { id: cutover, kind: noop, downtime: end }
      - { id: check, kind: noop }
)",
                                      keep);
    JournalBuilder journal("window");
    journal.step("prepare", 600'000)
        .step("agents-out", 300'000, "ok", Json::object(), "customer", "manual", "start")
        .step("dump", 1'200'000)
        .step("import", 1'500'000)
        .step("cutover", 60'000, "ok", Json::object(), "executor", "noop", "end")
        .step("check", 100'000)
        .end_run();
    report::Forecast forecast = report::estimate(book, {journal.input()}, {});
    REQUIRE(forecast.has_window);
    CHECK(forecast.window_from == "agents-out");
    CHECK(forecast.window_to == "cutover");
    CHECK(forecast.window_p50_ms == Approx(3'060'000).epsilon(0.02));  // 5m + 20m + 25m + 1m
    CHECK(forecast.window_people_p50_ms == 300'000);
    CHECK(forecast.people_p50_ms == 300'000);
    CHECK(forecast.machine_p50_ms == 3'460'000);
    CHECK(forecast.budget_ms == 5'400'000);
    CHECK_FALSE(forecast.over_budget);

    report::EstimateOptions tight;
    tight.budget = std::chrono::minutes(45);
    CHECK(report::estimate(book, {journal.input()}, tight).over_budget);

    report::Timeline timeline =
        report::build_timeline(report::read_for_analysis(journal.path(), false));
    REQUIRE(timeline.outages.size() == 1);
    REQUIRE(timeline.downtime_closed());
    CHECK(*timeline.downtime_ms() == 3'060'000);
    CHECK(timeline.outages[0].runs == 1);
}

TEST_CASE("estimate: only ok executions are samples; a failed attempt before a retry is not",
          "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(k_linear, keep);
    JournalBuilder journal("golden");
    journal.step("a", 1000)
        .step("b", 5000, "failed")
        .end_run("failed")
        .wait(60'000)
        .resume()
        .retry()
        .step("b", 7000)
        .end_run();
    report::Forecast forecast = report::estimate(book, {journal.input()}, {});
    CHECK(figure(forecast, "b").samples == 1);
    CHECK(figure(forecast, "b").p50_ms == 7000);
    CHECK(forecast.runs == 2);
}

TEST_CASE("report: a run and its resume are one timeline with the gap visible", "[report]") {
    JournalBuilder journal("golden");
    journal.step("a", 1000).wait(0);
    journal.crash();
    journal.wait(300'000).resume().step("b", 2000).end_run();
    report::Timeline timeline =
        report::build_timeline(report::read_for_analysis(journal.path(), false));
    REQUIRE(timeline.runs.size() == 2);
    CHECK(timeline.runs[0].status == "stopped");
    CHECK(timeline.runs[1].event == "run.resume");
    CHECK(timeline.runs[1].start_ms - timeline.runs[0].end_ms == 300'000);
    std::string text = report::report_text(timeline, "j.jsonl");
    CHECK(text.find("gap of 5m") != std::string::npos);
    CHECK(text.find("-- resumed: run run-2") != std::string::npos);
}

TEST_CASE("report: throughput from the bytes a step moved", "[report]") {
    JournalBuilder journal("golden");
    journal.step("a", 4000, "ok", Json{{"bytes", 4 * 1048576}})
        .step("b", 2000, "ok", Json{{"rows", 5000}})
        .end_run();
    report::Timeline timeline =
        report::build_timeline(report::read_for_analysis(journal.path(), false));
    CHECK(report::throughput_of(timeline.steps[0]) == "1.0MiB/s");
    CHECK(report::throughput_of(timeline.steps[1]) == "2500 rows/s");
}

TEST_CASE("estimate: new, renamed and unknown steps are reported, not dropped", "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(R"(version: 1
name: golden
phases:
  - id: p
    steps:
      - { id: a, kind: noop }
      - { id: b-renamed, kind: noop }
      - { id: c, kind: noop, estimate: 20m }
)",
                                      keep);
    JournalBuilder journal("golden");
    journal.step("a", 1000).step("b", 2000).end_run();
    report::Forecast forecast = report::estimate(book, {journal.input()}, {});
    CHECK(forecast.missing_steps == std::vector<std::string>{"b"});
    CHECK(forecast.new_steps == std::vector<std::string>{"b-renamed", "c"});
    CHECK(forecast.unknown == std::vector<std::string>{"b-renamed"});
    CHECK(figure(forecast, "c").source == "prior");
    CHECK(figure(forecast, "c").p50_ms == 1'200'000);
}

TEST_CASE("estimate: a journal of another runbook says so", "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(k_linear, keep);
    JournalBuilder journal("other");
    journal.step("x", 1000).end_run();
    report::Forecast forecast = report::estimate(book, {journal.input()}, {});
    REQUIRE(forecast.warnings.size() == 2);
    CHECK(forecast.warnings[0].find("is a journal of runbook 'other', not 'golden'") !=
          std::string::npos);
    CHECK(forecast.warnings[1] ==
          "no step of the runbook appears in the journals: are they from another runbook?");
}

TEST_CASE("estimate: delta growth in rows per hour since the watermark, and a later lag",
          "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(R"(version: 1
name: erp
phases:
  - id: p
    steps:
      - { id: leads, kind: noop }
)",
                                      keep);
    JournalBuilder journal("erp");
    journal
        .step("leads", 60'000, "ok", Json{{"rows", 1200}, {"watermark_lag_ms", 20 * 3'600'000LL}})
        .end_run();
    report::EstimateOptions options;
    options.lag = std::chrono::hours(44);
    report::Forecast forecast = report::estimate(book, {journal.input()}, options);
    REQUIRE(forecast.deltas.size() == 1);
    CHECK(forecast.deltas[0].rows_per_hour == Approx(60));
    CHECK(*forecast.deltas[0].forecast_rows == Approx(2640));
    CHECK(figure(forecast, "leads").p50_ms == Approx(132'000));  // 2.2x the rows, 2.2x the time
}

TEST_CASE("diff: durations, new failures and retries, steps in one run only", "[diff]") {
    JournalBuilder a("golden"), b("golden");
    a.step("one", 1000).step("two", 2000).step("gone", 100).end_run();
    b.step("one", 1500).retry().step("two", 2000, "failed").step("added", 50).end_run("failed");
    report::Timeline ta = report::build_timeline(report::read_for_analysis(a.path(), false));
    report::Timeline tb = report::build_timeline(report::read_for_analysis(b.path(), false));
    report::RunDiff diff = report::diff_runs(ta, "a", tb, "b");
    REQUIRE(diff.steps.size() == 4);
    CHECK(diff.steps[0].a->duration_ms == 1000);
    CHECK(diff.steps[0].b->duration_ms == 1500);
    CHECK(diff.steps[1].new_failure);
    CHECK(diff.steps[1].new_retries);
    CHECK_FALSE(diff.steps[2].b);
    CHECK(diff.steps[3].step == "added");
    CHECK_FALSE(diff.steps[3].a);
    std::string text = report::diff_text(diff);
    CHECK(text.find("+50%") != std::string::npos);
    CHECK(text.find("new failure, new retries (1)") != std::string::npos);
}

TEST_CASE("analysis input: empty, tampered, newer and torn journals", "[report]") {
    std::string empty = temp_path("empty.jsonl");
    std::ofstream(empty).close();
    CHECK_THROWS_WITH(report::read_for_analysis(empty, false),
                      Catch::Contains("the journal holds no records"));

    JournalBuilder journal("golden");
    journal.step("a", 1000).step("b", 1000).end_run();
    std::string path = journal.path();
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    auto write = [&](const std::string& name, std::vector<std::string> content, bool torn = false) {
        std::string file = temp_path(name);
        std::ofstream out(file);
        for (std::size_t i = 0; i < content.size(); ++i)
            out << content[i] << (torn && i + 1 == content.size() ? "" : "\n");
        return file;
    };
    auto tampered = lines;
    tampered[2].replace(tampered[2].find("\"ok\""), 4, "\"OK\"");
    std::string tampered_path = write("tampered.jsonl", tampered);
    CHECK_THROWS_WITH(report::read_for_analysis(tampered_path, false),
                      Catch::Contains(":3: hash chain broken") && Catch::Contains("--force"));
    CHECK(report::read_for_analysis(tampered_path, true).records.size() == 2);

    auto newer = lines;
    newer[1].replace(0, 6, "{\"v\":2");
    CHECK_THROWS_WITH(report::read_for_analysis(write("newer.jsonl", newer), true),
                      Catch::Contains("format version 2 is not supported"));

    auto torn = lines;
    torn.back() = torn.back().substr(0, 20);
    journal::ReadResult read = report::read_for_analysis(write("torn.jsonl", torn, true), false);
    CHECK(read.torn_tail);
    CHECK(read.records.size() == lines.size() - 1);
}

TEST_CASE("estimate: a people step confirmed by --yes is not a sample; a person's is",
          "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(R"(version: 1
name: people
roles: { customer: Customer }
phases:
  - id: p
    steps:
      - { id: agents-out, kind: manual, role: customer, estimate: 20m, downtime: start, with: { instructions: x } }
      - { id: sign-off, kind: manual, role: customer, with: { instructions: y } }
      - { id: dump, kind: noop, downtime: end }
)",
                                      keep);
    JournalBuilder rehearsal("people");
    rehearsal.by_yes()
        .step("agents-out", 12, "ok", Json::object(), "customer", "manual", "start")
        .step("sign-off", 9, "ok", Json::object(), "customer", "manual")
        .step("dump", 60'000, "ok", Json::object(), "executor", "noop", "end")
        .end_run();
    report::Forecast forecast = report::estimate(book, {rehearsal.input()}, {});
    const report::StepForecast& agents = figure(forecast, "agents-out");
    CHECK(agents.source == "prior");
    CHECK(agents.samples == 0);
    CHECK(agents.p50_ms == 1'200'000);
    CHECK(agents.people);
    CHECK_THAT(agents.detail, Catch::Contains("confirmed by --yes in 1 run: not a measure"));
    const report::StepForecast& sign = figure(forecast, "sign-off");
    CHECK(sign.source == "unknown");
    CHECK_THAT(sign.detail, Catch::Contains("confirmed by --yes in 1 run"));
    CHECK(std::find(forecast.unknown.begin(), forecast.unknown.end(), "sign-off") !=
          forecast.unknown.end());
    // The window holds the prior's 20 minutes of people time, not the 12 ms --yes took.
    CHECK(forecast.window_p50_ms == Approx(1'260'000).epsilon(0.02));

    // A person's confirmation is a sample of people time.
    JournalBuilder real("people");
    real.step("agents-out", 900'000, "ok", Json::object(), "customer", "manual", "start")
        .step("sign-off", 300'000, "ok", Json::object(), "customer", "manual")
        .step("dump", 60'000, "ok", Json::object(), "executor", "noop", "end")
        .end_run();
    report::Forecast measured = report::estimate(book, {rehearsal.input(), real.input()}, {});
    CHECK(figure(measured, "agents-out").source == "journal");
    CHECK(figure(measured, "agents-out").samples == 1);
    CHECK(figure(measured, "agents-out").p50_ms == 900'000);
    CHECK(figure(measured, "sign-off").p50_ms == 300'000);
}

TEST_CASE("estimate: from priors alone, a three-point prior's P90 kept", "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(R"(version: 1
name: priors
roles: { customer: Customer }
phases:
  - id: p
    steps:
      - { id: download, kind: noop, estimate: { p50: 10h, p90: 14h }, downtime: start }
      - { id: restore, kind: noop, estimate: 2h }
      - { id: check, kind: noop, downtime: end }
)",
                                      keep);
    report::Forecast forecast = report::estimate(book, {}, {});
    const report::StepForecast& download = figure(forecast, "download");
    CHECK(download.source == "prior");
    CHECK(download.p50_ms == 36'000'000);
    CHECK(download.p90_ms == 50'400'000);
    CHECK(download.detail == "estimate: P50 10h, P90 14h");
    CHECK(download.p90_basis == "the prior's p90");
    // A single-figure prior gets its family's floor.
    CHECK(figure(forecast, "restore").p90_ms == 9'000'000);
    CHECK(figure(forecast, "restore").p90_basis == "floor 25% (command)");
    CHECK(figure(forecast, "check").source == "unknown");
    CHECK(forecast.window_p50_ms == Approx(43'200'000).epsilon(0.01));
    CHECK(forecast.window_p90_ms == Approx(57'600'000).epsilon(0.03));
    REQUIRE_FALSE(forecast.warnings.empty());
    CHECK_THAT(forecast.warnings.front(), Catch::Contains("no journal given"));
}

TEST_CASE("estimate: a three-point prior with its P90 below its P50 is refused", "[estimate]") {
    auto source = std::make_shared<runbook::SourceFile>(
        "bad.yaml",
        "version: 1\nname: x\nphases:\n  - id: p\n    steps:\n"
        "      - { id: a, kind: noop, estimate: { p50: 2h, p90: 1h } }\n"
        "      - { id: b, kind: noop, estimate: { p90: 1h } }\n");
    runbook::Diagnostics diagnostics(source);
    runbook::Document document{source, runbook::parse_document(*source, diagnostics)};
    runbook::load_runbook(document, diagnostics);
    std::string text = diagnostics.format();
    CHECK_THAT(text,
               Catch::Contains("bad.yaml:6:56: 'estimate.p90' (1h) is shorter than its p50 (2h)"));
    CHECK_THAT(text, Catch::Contains("bad.yaml:7:"));
    CHECK_THAT(text, Catch::Contains("'estimate' as a mapping needs 'p50'"));
}

namespace {

constexpr const char* k_line = R"(version: 1
name: line
vars: { bytes: "100000000" }
phases:
  - id: p
    steps:
      - { id: off, kind: noop, downtime: start }
      - { id: fetch, kind: noop, needs: off, scale: { metric: bytes, expect: "${bytes}" } }
      - { id: on, kind: noop, needs: fetch, downtime: end }
)";

// The runbook above with the fetch step of the given kind and extra fields.
std::string line_book(const std::string& fetch_fields) {
    std::string text = k_line;
    std::string from = "{ id: fetch, kind: noop, ";
    text.replace(text.find(from), from.size(), "{ id: fetch, " + fetch_fields + ", ");
    return text;
}

std::vector<double> steady(int seconds, double rate) { return std::vector<double>(seconds, rate); }

}  // namespace

TEST_CASE("estimate: one rehearsal at a steady rate: the P90 is the family's floor", "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    // The kind decides the family; a noop standing in for a download is told so.
    runbook::Runbook book = book_from(line_book("kind: noop, variability: 40%"), keep);
    JournalBuilder journal("line");
    journal.step("off", 1000, "ok", Json::object(), "executor", "noop", "start")
        .moving("fetch", steady(100, 1e6))
        .step("on", 1000, "ok", Json::object(), "executor", "noop", "end")
        .end_run();
    report::Forecast forecast = report::estimate(book, {journal.input()}, {});
    const report::StepForecast& fetch = figure(forecast, "fetch");
    CHECK(fetch.source == "scaled");
    CHECK(fetch.p50_ms == Approx(100'000));
    CHECK(fetch.p90_ms == Approx(140'000));
    CHECK_THAT(fetch.p90_basis, Catch::StartsWith("floor 40% (variability:)"));
    CHECK_THAT(fetch.p90_basis, Catch::Contains("the throughput varied less (x1.00)"));
    // The field report's night: the same volume 30% slower is inside the P90.
    CHECK(130'000 <= fetch.p90_ms);
}

TEST_CASE("estimate: one rehearsal on a line that varies: the P90 from its slow stretches",
          "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(line_book("kind: noop, variability: 40%"), keep);
    // 60 s at 1 MB/s, then 40 s at 0.4 MB/s: 76 MB in 100 s, on average 0.76 MB/s.
    std::vector<double> rates = steady(60, 1e6);
    for (double rate : steady(40, 0.4e6)) rates.push_back(rate);
    JournalBuilder journal("line");
    journal.step("off", 1000, "ok", Json::object(), "executor", "noop", "start")
        .moving("fetch", rates)
        .step("on", 1000, "ok", Json::object(), "executor", "noop", "end")
        .end_run();
    report::JournalInput input = journal.input();
    const report::StepExecution* execution = nullptr;
    for (const auto& step : input.timeline.steps)
        if (step.step == "fetch") execution = &step;
    REQUIRE(execution != nullptr);
    CHECK(execution->progress.size() == 100);
    auto variation = report::throughput_variation(*execution, "bytes");
    REQUIRE(variation);
    CHECK(variation->window_ms == Approx(20'000));
    CHECK(variation->p10_rate == Approx(0.4e6));
    CHECK(variation->ratio == Approx(1.9));

    report::Forecast forecast = report::estimate(book, {input}, {});
    const report::StepForecast& fetch = figure(forecast, "fetch");
    double p50 = 100'000.0 / 76 * 100;  // 100 MB at 0.76 MB/s
    CHECK(fetch.p50_ms == Approx(p50));
    CHECK(fetch.p90_ms == Approx(p50 * 1.9));
    CHECK_THAT(fetch.p90_basis, Catch::StartsWith("throughput variation: P10 rate over"));
    CHECK_THAT(fetch.p90_basis, Catch::Contains("1/1.90 of the average"));
}

TEST_CASE("estimate: several rehearsals: the P90 from their spread, a slower line widens it",
          "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(line_book("kind: noop, variability: 10%"), keep);
    std::vector<report::JournalInput> journals;
    for (double rate : {1e6, 1e6, 0.7e6}) {  // the third on a line 30% slower
        JournalBuilder journal("line");
        journal.step("off", 1000, "ok", Json::object(), "executor", "noop", "start")
            .moving("fetch", steady(50, rate))
            .step("on", 1000, "ok", Json::object(), "executor", "noop", "end")
            .end_run();
        journals.push_back(journal.input());
    }
    report::Forecast two = report::estimate(book, {journals[0], journals[1]}, {});
    CHECK(figure(two, "fetch").p90_ms == Approx(110'000));  // equal rehearsals: the floor
    report::Forecast three = report::estimate(book, journals, {});
    const report::StepForecast& fetch = figure(three, "fetch");
    CHECK(fetch.p50_ms == Approx(100'000));
    // 100 s, 100 s and 142.9 s: the 90th percentile between the last two.
    CHECK(fetch.p90_ms == Approx(100'000 + 0.8 * (100'000 / 0.7 - 100'000)));
    CHECK(fetch.p90_basis == "spread of 3 rehearsals");
}

TEST_CASE("monte carlo: the window of two parallel steps matches the exact answer", "[estimate]") {
    // Two independent log-normal steps (different families), P50 100 s, P90 200 s, both needed
    // by the end: P(max <= t) = F(t)^2.
    std::vector<report::PathStep> steps(4);
    steps[1] = {{0}, 100'000, 200'000, 1, 0.5};
    steps[2] = {{0}, 100'000, 200'000, 2, 0.5};
    steps[3] = {{1, 2}, 0, 0, 0, 0};
    std::vector<double> spans = report::sample_spans(steps, -1, 3, 10'000, 7);
    REQUIRE(spans.size() == 10'000);
    double sigma = std::log(2.0) / 1.2815515655446004;
    // F(t) = sqrt(0.5) at z = 0.5449, sqrt(0.9) at z = 1.6322.
    CHECK(report::quantile_of_sorted(spans, 0.5) ==
          Approx(100'000 * std::exp(sigma * 0.5449)).epsilon(0.03));
    CHECK(report::quantile_of_sorted(spans, 0.9) ==
          Approx(100'000 * std::exp(sigma * 1.6322)).epsilon(0.03));
    // The same seed, the same draws.
    CHECK(report::sample_spans(steps, -1, 3, 10'000, 7) == spans);
    // One after the other in the same family, they vary together: a wider P90 than apart.
    std::vector<report::PathStep> chain(2);
    chain[0] = {{}, 100'000, 200'000, 1, 0.5};
    chain[1] = {{0}, 100'000, 200'000, 1, 0.5};
    std::vector<report::PathStep> apart = chain;
    apart[1].family = 2;
    double together =
        report::quantile_of_sorted(report::sample_spans(chain, -1, -1, 10'000, 7), 0.9);
    double independent =
        report::quantile_of_sorted(report::sample_spans(apart, -1, -1, 10'000, 7), 0.9);
    CHECK(together > independent * 1.03);
    CHECK(together < 400'000);  // but not the sum of the P90s
}

TEST_CASE("estimate: the window's P90 is a percentile of the path, not a sum of P90s",
          "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    std::string text = "version: 1\nname: many\nphases:\n  - id: p\n    steps:\n";
    for (int i = 0; i < 20; ++i)
        text += "      - { id: s" + std::to_string(i) +
                ", kind: noop, estimate: { p50: 10m, p90: 20m }" +
                (i == 0    ? ", downtime: start"
                 : i == 19 ? ", downtime: end"
                           : "") +
                " }\n";
    runbook::Runbook book = book_from(text, keep);
    report::Forecast forecast = report::estimate(book, {}, {});
    REQUIRE(forecast.has_window);
    CHECK(forecast.window_p50_ms > 200 * 60'000.0 * 0.99);
    CHECK(forecast.window_p90_ms < 400 * 60'000.0 * 0.8);  // the sum of P90s overstates
    CHECK(forecast.draws == 10'000);
}

TEST_CASE("backtest: each run forecast from the others at its own volume", "[estimate]") {
    std::shared_ptr<runbook::Diagnostics> keep;
    runbook::Runbook book = book_from(line_book("kind: noop, variability: 40%"), keep);
    // 10 MB in 10 s, 20 MB in 20 s, 30 MB in 37.5 s (a slower line).
    std::vector<report::JournalInput> journals;
    for (auto [seconds, rate] :
         std::vector<std::pair<int, double>>{{10, 1e6}, {20, 1e6}, {30, 0.8e6}}) {
        JournalBuilder journal("line");
        journal.step("off", 1000, "ok", Json::object(), "executor", "noop", "start")
            .moving("fetch", steady(seconds == 30 ? 37 : seconds, seconds == 30 ? 30e6 / 37 : rate))
            .step("on", 1000, "ok", Json::object(), "executor", "noop", "end")
            .end_run();
        journals.push_back(journal.input());
    }
    report::Backtest backtest = report::backtest(book, journals, {});
    REQUIRE(backtest.runs.size() == 3);
    auto fetch_of = [](const report::BacktestRun& run) {
        for (const auto& step : run.steps)
            if (step.id == "fetch") return step;
        FAIL("no fetch");
        throw std::logic_error("unreachable");
    };
    // The first (10 MB) from the others scaled down: 10 s and 12.3 s.
    report::BacktestStep first = fetch_of(backtest.runs[0]);
    CHECK(first.actual_ms == 10'000);
    CHECK(first.p50_ms == Approx((10'000 + 37'000 / 3.0) / 2));
    CHECK(first.covered);
    CHECK(first.error == Approx((first.p50_ms - 10'000) / 10'000));
    // The third (30 MB on the slower line) from two runs at 1 MB/s: 30 s; P90 with the 40% floor
    // 42 s covers its 37 s.
    report::BacktestStep third = fetch_of(backtest.runs[2]);
    CHECK(third.p50_ms == Approx(30'000));
    CHECK(third.p90_ms == Approx(42'000));
    CHECK(third.actual_ms == 37'000);
    CHECK(third.covered);
    CHECK(backtest.counted == 3);
    CHECK(backtest.covered == 3);
    CHECK(backtest.steps_counted == 9);  // off and on take 1 s: counted too
    REQUIRE(backtest.median_error);
    CHECK_THAT(backtest.summary(),
               Catch::StartsWith("backtest over 3 runs: window P50 error median "));
    CHECK_THAT(backtest.summary(), Catch::Contains(", P90 covered 3 of 3; steps of 1s or more:"));
    // One journal: nothing to forecast it from.
    report::Backtest alone = report::backtest(book, {journals[0]}, {});
    CHECK(alone.runs.empty());
    REQUIRE(alone.notes.size() == 1);
    CHECK_THAT(alone.notes[0], Catch::Contains("needs two journals or more"));
}

TEST_CASE("runbook: variability and window are read and checked", "[estimate]") {
    auto source = std::make_shared<runbook::SourceFile>(
        "w.yaml",
        "version: 1\nname: x\nwindow: { must_end_by: \"10:45+01:00\", on_deadline: rollback }\n"
        "phases:\n  - id: p\n    steps:\n"
        "      - { id: a, kind: noop, variability: 40%, downtime: start }\n"
        "      - { id: b, kind: noop, variability: lots, downtime: end }\n");
    runbook::Diagnostics diagnostics(source);
    runbook::Document document{source, runbook::parse_document(*source, diagnostics)};
    runbook::Runbook book = runbook::load_runbook(document, diagnostics);
    REQUIRE(book.window);
    CHECK(book.window->time_of_day_s == 10 * 3600 + 45 * 60);
    CHECK(book.window->utc_offset_s == 3600);
    CHECK(book.window->on_deadline == "rollback");
    CHECK(book.find_step("a")->variability == Approx(0.4));
    CHECK_THAT(diagnostics.format(),
               Catch::Contains("w.yaml:8:43: 'variability' is the P90's least margin over the "
                               "P50, a percentage like 40%; found 'lots'"));
    for (auto [text, ok] : std::vector<std::pair<std::string, bool>>{{"3h", true},
                                                                     {"10:45", true},
                                                                     {"2026-12-05T10:45:00Z", true},
                                                                     {"25:00", false},
                                                                     {"10:45 tomorrow", false},
                                                                     {"2026-12-05T10:45", false}}) {
        auto file = std::make_shared<runbook::SourceFile>(
            "w.yaml", "version: 1\nname: x\nwindow: { must_end_by: \"" + text +
                          "\" }\nphases:\n  - id: p\n    steps:\n      - { id: a, kind: noop }\n");
        runbook::Diagnostics found(file);
        runbook::Document parsed{file, runbook::parse_document(*file, found)};
        runbook::load_runbook(parsed, found);
        INFO(text << ": " << found.format());
        CHECK(found.has_errors() == !ok);
    }
}
