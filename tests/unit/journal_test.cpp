// The journal: the hash chain, every kind of tampering named by line, torn writes, the lock.
#include <catch2/catch.hpp>

#include "fakes.h"
#include "migrate/util/digest.h"
#include "migrate/util/error.h"
#include "migrate/util/redactor.h"

using namespace migrate;
using namespace migrate::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// A journal of four records: run.start, step.start, step.end, run.end.
void write_sample(const std::string& path, FakeClock& clock) {
    auto writer = journal::Writer::open(path, "run-42", clock);
    writer->append("run.start", Json{{"runbook", "rb.yaml"}, {"mode", "rehearsal"}}, true);
    clock.advance(Millis(1500));
    writer->append("step.start", Json{{"step", "a"}}, false);
    clock.advance(Millis(2000));
    writer->append("step.end", Json{{"step", "a"}, {"status", "ok"}, {"duration_ms", 2000}}, true);
    writer->append("run.end", Json{{"status", "ok"}}, true);
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    return text;
}

// A correctly chained line of `record` after `previous_hash` (the writer's format).
std::string chained_line(Json record, const std::string& previous_hash) {
    std::string content = record.dump();
    std::string hash = journal::chain_hash(previous_hash, content);
    content.pop_back();
    return content + ",\"h\":\"" + hash + "\"}";
}

struct Sample {
    FakeClock clock;
    TempPath path;
    std::vector<std::string> lines;
    Sample() {
        write_sample(path.str(), clock);
        lines = split_lines(read_file(path.str()));
    }
};

}  // namespace

TEST_CASE("journal: a written journal verifies, record by record", "[journal]") {
    Sample sample;
    REQUIRE(sample.lines.size() == 4);
    journal::ReadResult result = journal::read_journal(sample.path.str());
    CHECK_FALSE(result.problem);
    CHECK_FALSE(result.torn_tail);
    REQUIRE(result.records.size() == 4);
    CHECK(result.last_seq == 4);
    CHECK(result.line_count == 4);
    std::vector<std::string> events;
    for (const journal::Record& record : result.records) events.push_back(record.event());
    CHECK(events == std::vector<std::string>{"run.start", "step.start", "step.end", "run.end"});
    const journal::Record& first = result.records[0];
    CHECK(first.line == 1);
    CHECK(first.data["v"] == 1);
    CHECK(first.data["seq"] == 1);
    CHECK(first.string("run") == "run-42");
    CHECK(first.string("ts") == format_utc_ms(FakeClock::k_wall_start));
    CHECK(result.records[2].string("ts") == format_utc_ms(FakeClock::k_wall_start + 3500));
    CHECK(first.string("runbook") == "rb.yaml");
    // Every line starts with the fixed header fields and ends with the hash.
    CHECK_THAT(sample.lines[0], StartsWith(R"({"v":1,"seq":1,"ts":")"));
    // The chain: each h is SHA-256 of the previous h, a newline, and the record without h.
    std::string previous;
    for (const journal::Record& record : result.records) {
        Json content = record.data;
        std::string h = content["h"].get<std::string>();
        content.erase("h");
        CHECK(journal::chain_hash(previous, content.dump()) == h);
        previous = h;
    }
    CHECK(result.last_hash == previous);
}

TEST_CASE("journal: an empty file is an empty journal", "[journal]") {
    journal::ReadResult result = journal::parse_journal("");
    CHECK(result.records.empty());
    CHECK_FALSE(result.problem);
    CHECK_FALSE(result.torn_tail);
}

TEST_CASE("journal: a flipped byte breaks the chain at its line", "[journal]") {
    Sample sample;
    std::string& line = sample.lines[1];
    std::size_t at = line.find("step.start");
    REQUIRE(at != std::string::npos);
    line[at + 5] = 'S';  // "step.Start": still valid JSON
    journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
    REQUIRE(result.problem);
    CHECK(result.problem->line == 2);
    CHECK(result.problem->message ==
          "hash chain broken: the record was changed, or a line before it was removed");
    CHECK(result.records.size() == 1);
}

TEST_CASE("journal: a stored hash that is not lowercase hex breaks the chain", "[journal]") {
    for (char bad : {'A', 'g', ' '}) {
        Sample sample;
        std::string& line = sample.lines[2];
        std::size_t at = line.rfind("\"h\":\"");
        REQUIRE(at != std::string::npos);
        line[at + 5 + 10] = bad;
        journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
        REQUIRE(result.problem);
        CHECK(result.problem->line == 3);
        CHECK(result.records.size() == 2);
    }
}

TEST_CASE("journal: a bad line and a torn tail are both reported, every line counted",
          "[journal]") {
    Sample sample;
    sample.lines[1][sample.lines[1].find("step.start") + 5] = 'S';
    std::string text = join_lines(sample.lines);
    text.resize(text.size() - 20);
    journal::ReadResult result = journal::parse_journal(text);
    REQUIRE(result.problem);
    CHECK(result.problem->line == 2);
    REQUIRE(result.torn_tail);
    CHECK(result.torn_tail->line == 4);
    CHECK(result.torn_offset == text.rfind('\n') + 1);
    CHECK(result.line_count == 3);
    CHECK(result.records.size() == 1);
}

TEST_CASE("journal: a changed value in the last record is caught too", "[journal]") {
    Sample sample;
    std::string& line = sample.lines[3];
    std::size_t at = line.find("\"ok\"");
    REQUIRE(at != std::string::npos);
    line.replace(at, 4, "\"no\"");
    journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
    REQUIRE(result.problem);
    CHECK(result.problem->line == 4);
    CHECK_THAT(result.problem->message, StartsWith("hash chain broken"));
    CHECK(result.records.size() == 3);
}

TEST_CASE("journal: a deleted line is named by the line that follows it", "[journal]") {
    Sample sample;
    sample.lines.erase(sample.lines.begin() + 1);
    journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
    REQUIRE(result.problem);
    CHECK(result.problem->line == 2);
    CHECK(result.problem->message ==
          "sequence number 3 where 2 was expected (a line deleted or reordered?)");
    CHECK(result.records.size() == 1);
}

TEST_CASE("journal: a deleted first line is caught", "[journal]") {
    Sample sample;
    sample.lines.erase(sample.lines.begin());
    journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
    REQUIRE(result.problem);
    CHECK(result.problem->line == 1);
    CHECK(result.problem->message ==
          "sequence number 2 where 1 was expected (a line deleted or reordered?)");
    CHECK(result.records.empty());
}

TEST_CASE("journal: reordered lines are caught at the first one out of place", "[journal]") {
    Sample sample;
    std::swap(sample.lines[1], sample.lines[2]);
    journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
    REQUIRE(result.problem);
    CHECK(result.problem->line == 2);
    CHECK(result.problem->message ==
          "sequence number 3 where 2 was expected (a line deleted or reordered?)");
}

TEST_CASE("journal: renumbered lines still break the hash chain", "[journal]") {
    // Deleting line 2 and renumbering the rest keeps seq in order; the chain still breaks.
    Sample sample;
    sample.lines.erase(sample.lines.begin() + 1);
    for (std::size_t i = 1; i < sample.lines.size(); ++i) {
        std::string& line = sample.lines[i];
        std::size_t at = line.find("\"seq\":");
        line.replace(at, 7, "\"seq\":" + std::to_string(i + 1));
    }
    journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
    REQUIRE(result.problem);
    CHECK(result.problem->line == 2);
    CHECK_THAT(result.problem->message, StartsWith("hash chain broken"));
}

TEST_CASE("journal: a torn last line is reported and ignored, never trusted", "[journal]") {
    Sample sample;
    std::string text = join_lines(sample.lines);
    text.resize(text.size() - 20);  // the last write stopped short
    journal::ReadResult result = journal::parse_journal(text);
    CHECK_FALSE(result.problem);
    REQUIRE(result.torn_tail);
    CHECK(result.torn_tail->line == 4);
    CHECK_THAT(result.torn_tail->message, StartsWith("the last line is cut off (no newline)"));
    CHECK(result.records.size() == 3);
    CHECK(result.last_seq == 3);
}

TEST_CASE("journal: a complete last line without its newline is still torn", "[journal]") {
    Sample sample;
    std::string text = join_lines(sample.lines);
    text.pop_back();
    journal::ReadResult result = journal::parse_journal(text);
    REQUIRE(result.torn_tail);
    CHECK(result.torn_tail->line == 4);
    CHECK(result.records.size() == 3);
}

TEST_CASE("journal: a newer format version is refused with its line", "[journal]") {
    Sample sample;
    journal::ReadResult good =
        journal::parse_journal(join_lines({sample.lines[0], sample.lines[1]}));
    REQUIRE(good.records.size() == 2);
    // Record 3 rewritten as version 2, correctly chained: only the version is wrong.
    Json record{{"v", 2},
                {"seq", 3},
                {"ts", "2026-01-01T00:00:00.000Z"},
                {"run", "run-42"},
                {"ev", "step.end"}};
    sample.lines[2] = chained_line(record, good.last_hash);
    journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
    REQUIRE(result.problem);
    CHECK(result.problem->line == 3);
    CHECK(result.problem->message ==
          "journal format version 2 is not supported; this migrate reads version 1 (a newer "
          "migrate wrote it?)");
    CHECK(result.records.size() == 2);
}

TEST_CASE("journal: lines that are not records", "[journal]") {
    Sample sample;
    SECTION("not JSON") {
        sample.lines.insert(sample.lines.begin() + 2, "hello");
        journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
        REQUIRE(result.problem);
        CHECK(result.problem->line == 3);
        CHECK(result.problem->message == "not a journal record (no hash at the end of the line)");
    }
    SECTION("a hash but broken JSON") {
        std::string line = sample.lines[1];
        line.insert(1, "{");
        sample.lines[1] = line;
        journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
        REQUIRE(result.problem);
        CHECK(result.problem->line == 2);
        CHECK(result.problem->message == "not valid JSON");
    }
    SECTION("no version") {
        sample.lines[0] = chained_line(Json{{"seq", 1}, {"ev", "run.start"}}, "");
        journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
        REQUIRE(result.problem);
        CHECK(result.problem->line == 1);
        CHECK(result.problem->message == "not a journal record (no format version \"v\")");
    }
    SECTION("an empty line in the middle") {
        sample.lines.insert(sample.lines.begin() + 1, "");
        journal::ReadResult result = journal::parse_journal(join_lines(sample.lines));
        REQUIRE(result.problem);
        CHECK(result.problem->line == 2);
    }
}

TEST_CASE("journal: Writer::open closes a torn line with a journal.repair record", "[journal]") {
    Sample sample;
    std::string text = join_lines(sample.lines);
    std::string torn = sample.lines[3].substr(0, 30);
    text = join_lines({sample.lines[0], sample.lines[1], sample.lines[2]}) + torn;
    write_file(sample.path.str(), text);
    {
        auto writer = journal::Writer::open(sample.path.str(), "run-43", sample.clock);
        REQUIRE(writer->existing().torn_tail);
        CHECK(writer->existing().records.size() == 3);
        writer->append("run.resume", Json{{"note", "after the repair"}}, true);
    }
    std::string after = read_file(sample.path.str());
    CHECK_THAT(after, StartsWith(text + "\n"));  // nothing rewritten, the torn bytes kept
    journal::ReadResult result = journal::read_journal(sample.path.str());
    CHECK_FALSE(result.problem);
    CHECK_FALSE(result.torn_tail);
    REQUIRE(result.records.size() == 5);
    const journal::Record& repair = result.records[3];
    CHECK(repair.event() == "journal.repair");
    CHECK(repair.line == 5);
    CHECK(repair.data["line"] == 4);
    CHECK(repair.data["bytes"] == 30);
    CHECK(repair.string("sha256") == sha256_hex(torn));
    CHECK(repair.data["seq"] == 4);
    CHECK(repair.string("run") == "run-43");
    CHECK(result.records[4].event() == "run.resume");
    CHECK(result.records[4].data["seq"] == 5);
}

TEST_CASE("journal: a repair record excuses only the line it names", "[journal]") {
    Sample sample;
    journal::ReadResult good =
        journal::parse_journal(join_lines({sample.lines[0], sample.lines[1]}));
    Json repair{{"v", 1},
                {"seq", 3},
                {"ts", "2026-01-01T00:00:00.000Z"},
                {"run", "x"},
                {"ev", "journal.repair"},
                {"line", 2}};
    // A bad line 3, then a repair naming line 2: line 3 stays a problem.
    std::string text = join_lines(
        {sample.lines[0], sample.lines[1], "garbage", chained_line(repair, good.last_hash)});
    journal::ReadResult result = journal::parse_journal(text);
    REQUIRE(result.problem);
    CHECK(result.problem->line == 3);
    // Naming line 3, it is excused.
    repair["line"] = 3;
    text = join_lines(
        {sample.lines[0], sample.lines[1], "garbage", chained_line(repair, good.last_hash)});
    result = journal::parse_journal(text);
    CHECK_FALSE(result.problem);
    CHECK(result.records.size() == 3);
}

TEST_CASE("journal: Writer::open refuses a journal that does not verify, unless forced",
          "[journal]") {
    Sample sample;
    sample.lines.erase(sample.lines.begin() + 1);
    write_file(sample.path.str(), join_lines(sample.lines));
    try {
        journal::Writer::open(sample.path.str(), "run-2", sample.clock);
        FAIL("Writer::open accepted a broken journal");
    } catch (const Fatal& e) {
        CHECK_THAT(e.what(),
                   StartsWith(sample.path.str() + ":2: sequence number 3 where 2 was expected"));
        CHECK_THAT(e.what(), Contains("--force"));
        CHECK(e.exit_code() == 2);
    }
    auto forced = journal::Writer::open(sample.path.str(), "run-2", sample.clock, true);
    CHECK(forced->existing().problem);
}

TEST_CASE("journal: one writer at a time", "[journal]") {
    FakeClock clock;
    TempPath path;
    CHECK_FALSE(journal::is_locked(path.str()));
    {
        auto first = journal::Writer::open(path.str(), "run-1", clock);
        first->append("run.start", Json::object(), true);
        CHECK(journal::is_locked(path.str()));
        try {
            journal::Writer::open(path.str(), "run-2", clock);
            FAIL("a second writer was allowed");
        } catch (const Fatal& e) {
            CHECK_THAT(e.what(), Contains("in use by another migrate run"));
            CHECK(e.exit_code() == 2);
        }
        first->append("run.end", Json{{"status", "ok"}}, true);  // the first writer is unharmed
    }
    CHECK_FALSE(journal::is_locked(path.str()));
    auto again = journal::Writer::open(path.str(), "run-3", clock);
    CHECK(again->existing().records.size() == 2);
    CHECK(again->existing().last_seq == 2);
}

TEST_CASE("journal: appends continue the chain of an existing journal", "[journal]") {
    Sample sample;
    {
        auto writer = journal::Writer::open(sample.path.str(), "run-43", sample.clock);
        writer->append("note", Json{{"text", "second session"}}, false);
    }
    journal::ReadResult result = journal::read_journal(sample.path.str());
    CHECK_FALSE(result.problem);
    REQUIRE(result.records.size() == 5);
    CHECK(result.records[4].data["seq"] == 5);
    CHECK(result.records[4].string("run") == "run-43");
}

TEST_CASE("journal: secrets are masked before a record is hashed and written", "[journal]") {
    Redactor::global().add_secret("j0urnal-s3cret-77");
    FakeClock clock;
    TempPath path;
    {
        auto writer = journal::Writer::open(path.str(), "run-1", clock);
        writer->append("note", Json{{"text", "pw=j0urnal-s3cret-77"}, {"j0urnal-s3cret-77", 1}},
                       true);
    }
    std::string text = read_file(path.str());
    CHECK_THAT(text, !Contains("j0urnal-s3cret-77"));
    journal::ReadResult result = journal::read_journal(path.str());
    CHECK_FALSE(result.problem);
    REQUIRE(result.records.size() == 1);
    CHECK(result.records[0].string("text") == "pw=***");
    CHECK(result.records[0].data.contains("***"));
}

TEST_CASE("journal: which events are fsynced", "[journal]") {
    for (const char* event : {"step.end", "step.checkpoint", "step.confirm", "run.start",
                              "run.resume", "run.end", "journal.repair"})
        CHECK(journal::is_sync_point(event));
    for (const char* event : {"step.start", "step.progress", "step.retry", "phase.start", "note"})
        CHECK_FALSE(journal::is_sync_point(event));
}

TEST_CASE("journal: read_journal of a missing file is a usage error", "[journal]") {
    TempPath path;
    CHECK_THROWS_AS(journal::read_journal(path.str()), UsageError);
}
