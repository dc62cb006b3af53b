// The fakes and the probe kind of fakes.h.
#include "fakes.h"

#include <unistd.h>

#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "migrate/io/db/mysql/mariadb.h"
#include "migrate/runbook/document.h"
#include "migrate/runbook/validate.h"
#include "migrate/steps/kinds.h"
#include "migrate/util/error.h"
#include "migrate/util/redactor.h"

namespace migrate::test {

// ---- FakeClock ----

bool FakeClock::sleep(Millis duration, CancelToken& cancel) {
    if (cancel.cancelled()) return false;
    {
        std::lock_guard lock(m_mutex);
        m_sleeps.push_back(duration);
    }
    advance(duration);
    return true;
}

std::vector<Millis> FakeClock::sleeps() const {
    std::lock_guard lock(m_mutex);
    return m_sleeps;
}

// ---- FakeProcessRunner ----

void FakeProcessRunner::script(const std::string& command, io::ProcessResult result) {
    std::lock_guard lock(m_mutex);
    m_scripts[command].push_back(std::move(result));
}

io::ProcessResult FakeProcessRunner::run(const io::ProcessSpec& spec, CancelToken&) {
    std::lock_guard lock(m_mutex);
    m_calls.push_back(spec);
    auto it = m_scripts.find(spec.command);
    if (it == m_scripts.end() || it->second.empty()) return io::ProcessResult{0, 0, "", ""};
    io::ProcessResult result = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();
    return result;
}

std::vector<io::ProcessSpec> FakeProcessRunner::calls() const {
    std::lock_guard lock(m_mutex);
    return m_calls;
}

// ---- FakeHttpClient ----

void FakeHttpClient::script(const std::string& method, const std::string& url,
                            io::HttpResponse response) {
    std::lock_guard lock(m_mutex);
    m_scripts[method + " " + url] = std::move(response);
}

io::HttpResponse FakeHttpClient::perform(const io::HttpRequest& request, CancelToken&) {
    std::lock_guard lock(m_mutex);
    m_calls.push_back(request);
    auto it = m_scripts.find(request.method + " " + request.url);
    if (it == m_scripts.end()) return io::HttpResponse{0, "", "connection refused (fake)"};
    return it->second;
}

std::vector<io::HttpRequest> FakeHttpClient::calls() const {
    std::lock_guard lock(m_mutex);
    return m_calls;
}

// ---- FakeConfirmations ----

std::optional<io::Confirmation> FakeConfirmations::wait(const io::ConfirmationRequest& request,
                                                        CancelToken& cancel) {
    std::optional<io::Confirmation> answer;
    {
        std::lock_guard lock(m_mutex);
        m_requests.push_back(request);
        answer = m_answer;
        if (m_taking_turns) {
            if (m_in_turn.empty()) return std::nullopt;
            answer = m_in_turn.front();
            m_in_turn.pop_front();
        }
    }
    if (answer) return answer;
    auto give_up = std::chrono::steady_clock::now() + k_probe_safety_limit;
    while (!cancel.cancelled() && std::chrono::steady_clock::now() < give_up)
        cancel.wait_for(Millis(5));
    return std::nullopt;
}

std::vector<io::ConfirmationRequest> FakeConfirmations::requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
}

// ---- FakeMysqlConnector ----

namespace {

class FakeMysqlResult : public io::db::Result {
public:
    explicit FakeMysqlResult(FakeMysqlAnswer answer) : m_answer(std::move(answer)) {
        for (const std::string& name : m_answer.columns)
            m_columns.push_back(io::db::Column{name, io::db::ColumnType::string, false, false});
    }
    const std::vector<io::db::Column>& columns() const override { return m_columns; }
    bool next(io::db::Row& row) override {
        if (m_next >= m_answer.rows.size()) return false;
        const auto& values = m_answer.rows[m_next++];
        m_pointers.clear();
        m_lengths.clear();
        for (const auto& value : values) {
            m_pointers.push_back(value ? value->data() : nullptr);
            m_lengths.push_back(value ? value->size() : 0);
        }
        row = io::db::Row(m_pointers.data(), m_lengths.data(), values.size());
        return true;
    }
    std::uint64_t affected_rows() const override {
        return m_columns.empty() ? m_answer.affected : m_next;
    }

private:
    FakeMysqlAnswer m_answer;
    std::vector<io::db::Column> m_columns;
    std::size_t m_next = 0;
    std::vector<const char*> m_pointers;
    std::vector<unsigned long> m_lengths;
};

class FakeMysqlSession : public io::db::Session {
public:
    FakeMysqlSession(FakeMysqlConnector& connector, io::db::ConnectionSpec spec)
        : m_connector(connector), m_spec(std::move(spec)) {}
    ~FakeMysqlSession() override { m_connector.session_closed(); }
    std::uint64_t execute(std::string_view sql) override {
        auto result = query(sql);
        io::db::Row row;
        while (result->next(row)) {
        }
        return result->affected_rows();
    }
    std::unique_ptr<io::db::Result> query(std::string_view sql) override {
        FakeMysqlAnswer answer = m_connector.answer(m_spec.name, std::string(sql));
        if (answer.error != 0)
            throw io::db::DbError(m_spec.describe() + ": " + answer.message + " (error " +
                                      std::to_string(answer.error) + ")",
                                  answer.error, io::db::mysql::error_is_transient(answer.error));
        return std::make_unique<FakeMysqlResult>(std::move(answer));
    }
    std::string server_version() override { return "10.11.0-fake"; }
    void ping() override {}
    void append_escaped(std::string& out, std::string_view text) override {
        for (char c : text) {
            if (c == '\'' || c == '\\') out += '\\';
            out += c;
        }
    }
    const io::db::ConnectionSpec& spec() const override { return m_spec; }

private:
    FakeMysqlConnector& m_connector;
    io::db::ConnectionSpec m_spec;
};

}  // namespace

void FakeMysqlConnector::script(const std::string& sql, FakeMysqlAnswer answer) {
    std::lock_guard lock(m_mutex);
    m_scripts[sql].push_back(std::move(answer));
}

void FakeMysqlConnector::fail_connects(const std::string& name, unsigned code, int times) {
    std::lock_guard lock(m_mutex);
    for (int i = 0; i < times; ++i) m_connect_failures[name].push_back(code);
}

std::unique_ptr<io::db::Session> FakeMysqlConnector::connect(const io::db::ConnectionSpec& spec,
                                                             CancelToken&) {
    Redactor::global().add_secret(spec.password);
    std::lock_guard lock(m_mutex);
    if (auto it = m_connect_failures.find(spec.name);
        it != m_connect_failures.end() && !it->second.empty()) {
        unsigned code = it->second.front();
        it->second.pop_front();
        throw io::db::DbError(
            spec.describe() + ": cannot connect: fake refusal (error " + std::to_string(code) + ")",
            code, io::db::mysql::error_is_transient(code));
    }
    m_connects.push_back(spec);
    ++m_open;
    return std::make_unique<FakeMysqlSession>(*this, spec);
}

FakeMysqlAnswer FakeMysqlConnector::answer(const std::string& name, const std::string& sql) {
    std::lock_guard lock(m_mutex);
    m_statements.push_back(name + ": " + sql);
    auto it = m_scripts.find(sql);
    if (it == m_scripts.end() || it->second.empty()) return FakeMysqlAnswer{};
    FakeMysqlAnswer answer = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();
    return answer;
}

std::vector<std::string> FakeMysqlConnector::statements() const {
    std::lock_guard lock(m_mutex);
    return m_statements;
}

std::vector<io::db::ConnectionSpec> FakeMysqlConnector::connects() const {
    std::lock_guard lock(m_mutex);
    return m_connects;
}

// ---- ProbeWorld ----

std::vector<ProbeCall> ProbeWorld::calls() const {
    std::lock_guard lock(m_mutex);
    return m_calls;
}

std::vector<std::string> ProbeWorld::call_order() const {
    std::lock_guard lock(m_mutex);
    std::vector<std::string> ids;
    for (const ProbeCall& call : m_calls) ids.push_back(call.step);
    return ids;
}

int ProbeWorld::record_call(const ProbeCall& call) {
    std::lock_guard lock(m_mutex);
    m_calls.push_back(call);
    return ++m_attempts[call.step];
}

void ProbeWorld::enter_gate(int gate, std::chrono::milliseconds linger) {
    int active = ++m_active;
    for (int seen = m_max_active.load();
         active > seen && !m_max_active.compare_exchange_weak(seen, active);) {
    }
    std::unique_lock lock(m_mutex);
    ++m_entered;
    m_changed.notify_all();
    bool reached =
        m_changed.wait_for(lock, k_probe_safety_limit, [&] { return m_entered >= gate; });
    lock.unlock();
    if (reached) std::this_thread::sleep_for(linger);
    --m_active;
    if (!reached)
        throw StepError(
            "gate of " + std::to_string(gate) + " never filled: the probes did not run in parallel",
            false);
}

// ---- the probe kind ----

namespace {

class ProbeRunner : public kinds::StepRunner {
public:
    explicit ProbeRunner(ProbeWorld& world) : m_world(world) {}

    std::string describe(const kinds::StepContext& context) const override {
        return "probe " + context.params.string("note");
    }

    void run(kinds::StepContext& context) override {
        const kinds::Params& params = context.params;
        int attempt =
            m_world.record_call(ProbeCall{context.step.id, params.raw(), context.last_checkpoint});
        if (params.has("checkpoint"))
            context.events.checkpoint(Json{{"at", params.string("checkpoint")}});
        if (params.boolean("raise_signal")) std::raise(SIGTERM);
        if (params.has("gate"))
            m_world.enter_gate(static_cast<int>(params.integer("gate")),
                               Millis(params.integer("linger_ms")));
        if (params.boolean("block")) block(context);
        if (params.has("work_ms")) work(context, Millis(params.integer("work_ms")));
        if (attempt <= params.integer("fail_times"))
            throw StepError(params.string("error") + " (attempt " + std::to_string(attempt) + ")",
                            params.boolean("retryable"));
        if (params.has("output")) context.outputs["out"] = params.string("output");
        context.metrics["rows"] = attempt;
    }

private:
    void block(kinds::StepContext& context) {
        Millis tick = context.params.has("tick") ? context.params.duration("tick") : Millis(0);
        Millis limit = context.params.has("limit_ms") ? Millis(context.params.integer("limit_ms"))
                                                      : k_probe_safety_limit;
        auto give_up = std::chrono::steady_clock::now() + limit;
        while (!context.cancel.cancelled()) {
            if (std::chrono::steady_clock::now() >= give_up)
                throw StepError("probe blocked for the whole safety limit: nobody cancelled it",
                                false);
            if (tick.count() > 0 && m_world.clock() != nullptr) m_world.clock()->advance(tick);
            context.cancel.wait_for(Millis(2));
        }
        throw StepError("probe cancelled", false);
    }

    // Real time spent working; a cancellation ends it early.
    static void work(kinds::StepContext& context, Millis duration) {
        auto done = std::chrono::steady_clock::now() + duration;
        while (std::chrono::steady_clock::now() < done) {
            if (context.cancel.cancelled()) throw StepError("probe cancelled while working", false);
            context.cancel.wait_for(Millis(2));
        }
    }

    ProbeWorld& m_world;
};

}  // namespace

kinds::KindSpec probe_kind(ProbeWorld& world) {
    using runbook::ParamType;
    return kinds::KindSpec{
        .schema = {.name = "probe",
                   .summary = "a scripted step for engine tests",
                   .params = {{"fail_times", runbook::ParamType::integer, false, "0",
                               "attempts that fail first"},
                              {"retryable", runbook::ParamType::boolean, false, "true",
                               "whether failures are retryable"},
                              {"error", runbook::ParamType::text, false, "probe failed",
                               "the failure message"},
                              {"block", runbook::ParamType::boolean, false, "false",
                               "wait until cancelled"},
                              {"tick", runbook::ParamType::duration, false, "",
                               "fake time per wait while blocking"},
                              {"gate", runbook::ParamType::integer, false, "",
                               "wait for this many probes to enter"},
                              {"linger_ms", runbook::ParamType::integer, false, "0",
                               "real time to stay after the gate"},
                              {"raise_signal", runbook::ParamType::boolean, false, "false",
                               "raise SIGTERM first"},
                              {"output", runbook::ParamType::text, false, "", "the output 'out'"},
                              {"checkpoint", runbook::ParamType::string, false, "",
                               "a checkpoint to journal"},
                              {"limit_ms", runbook::ParamType::integer, false, "",
                               "real-time limit of a block"},
                              {"work_ms", runbook::ParamType::integer, false, "",
                               "real time spent working (cancellable)"},
                              {"note", runbook::ParamType::text, false, "", "anything"}},
                   .outputs = {"out"}},
        .resumable_inside = true,
        .make = [&world] { return std::make_unique<ProbeRunner>(world); },
    };
}

kinds::KindTable test_kinds(ProbeWorld& world) {
    kinds::KindTable table{probe_kind(world)};
    for (const char* name :
         {"manual", "shell", "http", "wait", "sql", "ssh", "transfer", "isolate", "reconnect"})
        if (const kinds::KindSpec* kind = kinds::find_kind(steps::builtin_kinds(), name))
            table.push_back(*kind);
    return table;
}

// ---- runbooks ----

namespace {

struct Loaded {
    std::shared_ptr<runbook::Diagnostics> diagnostics;
    runbook::Runbook book;
};

Loaded load_yaml(const std::string& yaml, const kinds::KindTable& table) {
    auto source = std::make_shared<runbook::SourceFile>("test.yaml", yaml);
    Loaded loaded{std::make_shared<runbook::Diagnostics>(source), {}};
    runbook::Document document{source, runbook::parse_document(*source, *loaded.diagnostics)};
    if (loaded.diagnostics->has_errors()) {
        loaded.book.source = source;
        return loaded;
    }
    loaded.book = runbook::load_runbook(document, *loaded.diagnostics);
    runbook::validate_runbook(loaded.book, kinds::schemas_of(table), runbook::ValidateOptions{},
                              *loaded.diagnostics);
    return loaded;
}

}  // namespace

runbook::Runbook load_test_runbook(const std::string& yaml, const kinds::KindTable& kinds) {
    Loaded loaded = load_yaml(yaml, kinds);
    if (loaded.diagnostics->has_errors())
        throw std::runtime_error("the test runbook does not validate:\n" +
                                 loaded.diagnostics->format());
    return std::move(loaded.book);
}

std::string runbook_diagnostics(const std::string& yaml, const kinds::KindTable& kinds) {
    return load_yaml(yaml, kinds).diagnostics->format();
}

std::vector<std::string> runbook_problems(const std::string& yaml, const kinds::KindTable& kinds) {
    std::vector<std::string> problems;
    Loaded loaded = load_yaml(yaml, kinds);
    for (const runbook::Diagnostic& d : loaded.diagnostics->all())
        problems.push_back(std::to_string(d.mark.line) + ":" + std::to_string(d.mark.column) +
                           ": " + (d.severity == runbook::Severity::warning ? "warning: " : "") +
                           d.message);
    return problems;
}

// ---- files ----

TempPath::TempPath(const std::string& suffix) {
    static std::atomic<int> counter{0};
    m_path =
        (std::filesystem::temp_directory_path() /
         ("migrate-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + suffix))
            .string();
    std::filesystem::remove(m_path);
}

TempPath::~TempPath() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
    for (const char* extra : {".confirm", ".logs"})
        std::filesystem::remove_all(m_path + extra, ignored);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

// ---- EngineHarness ----

EngineHarness::EngineHarness() : kinds(test_kinds(world)) {
    m_log_level = static_cast<int>(spdlog::default_logger()->level());
    spdlog::set_level(spdlog::level::warn);
}

EngineHarness::~EngineHarness() {
    spdlog::set_level(static_cast<spdlog::level::level_enum>(m_log_level));
}

void EngineHarness::load(const std::string& yaml) {
    m_book = std::make_unique<runbook::Runbook>(load_test_runbook(yaml, kinds));
}

engine::EngineSetup EngineHarness::setup(journal::Writer* writer, engine::RunOptions options) {
    REQUIRE(m_book != nullptr);
    auto lookup = [this](const std::string& name) -> std::optional<std::string> {
        auto it = secrets.find(name);
        if (it == secrets.end()) return std::nullopt;
        Redactor::global().add_secret(it->second);
        return it->second;
    };
    return engine::EngineSetup{*m_book, kinds,   services,  writer,
                               console, options, variables, lookup};
}

engine::RunOutcome EngineHarness::run(engine::RunOptions options, const engine::PriorState& prior) {
    REQUIRE(m_book != nullptr);
    auto writer = journal::Writer::open(journal_path.str(), run_id, clock);
    bool resuming = !writer->existing().records.empty();
    writer->append(
        resuming ? "run.resume" : "run.start",
        Json{{"runbook", "test.yaml"}, {"runbook_sha256", m_book->sha256}, {"mode", "rehearsal"}},
        true);
    return run_with(writer.get(), options, prior);
}

engine::RunOutcome EngineHarness::run_with(journal::Writer* writer, engine::RunOptions options,
                                           const engine::PriorState& prior) {
    engine::Engine engine(setup(writer, options));
    return engine.run(prior);
}

engine::RunOutcome EngineHarness::dry_run() {
    engine::RunOptions options;
    options.mode = kinds::RunMode::dry_run;
    engine::Engine engine(setup(nullptr, options));
    return engine.dry_run();
}

std::vector<journal::Record> EngineHarness::records() const {
    journal::ReadResult result = journal::read_journal(journal_path.str());
    INFO(read_file(journal_path.str()));
    REQUIRE_FALSE(result.problem);
    REQUIRE_FALSE(result.torn_tail);
    return result.records;
}

std::vector<journal::Record> EngineHarness::events(const std::string& event,
                                                   const std::string& step) const {
    std::vector<journal::Record> out;
    for (journal::Record& record : records())
        if (record.event() == event && (step.empty() || record.string("step") == step))
            out.push_back(record);
    return out;
}

journal::Record EngineHarness::step_end(const std::string& step) const {
    std::vector<journal::Record> ends = events("step.end", step);
    INFO("step.end records of " << step);
    REQUIRE(ends.size() == 1);
    return ends.front();
}

engine::PriorState EngineHarness::prior_state() const {
    return engine::read_prior_state(journal::read_journal(journal_path.str()));
}

}  // namespace migrate::test
