// Durations, sizes and the small text utilities: typo hints, globs, tails.
#include <catch2/catch.hpp>

#include "migrate/util/text.h"
#include "migrate/util/units.h"

using namespace migrate;

TEST_CASE("parse_duration: the runbook's notations", "[units]") {
    CHECK(parse_duration("90s") == Millis(90'000));
    CHECK(parse_duration("15m") == Millis(900'000));
    CHECK(parse_duration("2h") == Millis(7'200'000));
    CHECK(parse_duration("1h30m") == Millis(5'400'000));
    CHECK(parse_duration("1h30m15s") == Millis(5'415'000));
    CHECK(parse_duration("250ms") == Millis(250));
    CHECK(parse_duration("1s500ms") == Millis(1500));
    CHECK(parse_duration("1d") == Millis(86'400'000));
    CHECK(parse_duration("1.5h") == Millis(5'400'000));
    CHECK(parse_duration("0s") == Millis(0));
}

TEST_CASE("parse_duration: what it refuses", "[units]") {
    CHECK_FALSE(parse_duration(""));
    CHECK_FALSE(parse_duration("90"));      // a bare number: seconds or minutes?
    CHECK_FALSE(parse_duration("30m1h"));   // units largest first
    CHECK_FALSE(parse_duration("1h1h"));    // each unit once
    CHECK_FALSE(parse_duration("1h 30m"));  // no spaces
    CHECK_FALSE(parse_duration("h"));
    CHECK_FALSE(parse_duration("1x"));
    CHECK_FALSE(parse_duration("1H"));
    CHECK_FALSE(parse_duration("-5s"));
    CHECK_FALSE(parse_duration("1.s"));
    CHECK_FALSE(parse_duration(".5s"));
    CHECK_FALSE(parse_duration("1e3s"));
    CHECK_FALSE(parse_duration("99999999999999999999d"));
}

TEST_CASE("format_duration: as a runbook would write it", "[units]") {
    CHECK(format_duration(Millis(0)) == "0ms");
    CHECK(format_duration(Millis(250)) == "250ms");
    CHECK(format_duration(Millis(12'500)) == "12.5s");
    CHECK(format_duration(Millis(60'000)) == "1m");
    CHECK(format_duration(Millis(90'000)) == "1m30s");
    CHECK(format_duration(Millis(5'400'000)) == "1h30m");
    CHECK(format_duration(Millis(7'200'000)) == "2h");
    CHECK(format_duration(Millis(-1500)) == "-1.5s");
    // What it prints parses back to the same duration (whole seconds above a minute).
    for (std::int64_t ms : {250, 90'000, 5'400'000, 7'260'000})
        CHECK(parse_duration(format_duration(Millis(ms))) == Millis(ms));
}

TEST_CASE("parse_size: decimal and binary units", "[units]") {
    CHECK(parse_size("512KiB") == 524'288u);
    CHECK(parse_size("30GB") == 30'000'000'000u);
    CHECK(parse_size("1.5GiB") == 1'610'612'736u);
    CHECK(parse_size("100B") == 100u);
    CHECK(parse_size("0") == 0u);
    CHECK(parse_size("12") == 12u);
    CHECK(parse_size("2M") == 2'097'152u);
    CHECK(parse_size("1TB") == 1'000'000'000'000u);
}

TEST_CASE("parse_size: what it refuses", "[units]") {
    CHECK_FALSE(parse_size(""));
    CHECK_FALSE(parse_size("GB"));
    CHECK_FALSE(parse_size("10XB"));
    CHECK_FALSE(parse_size("1 GB"));
    CHECK_FALSE(parse_size("-1KB"));
    CHECK_FALSE(parse_size("1.KB"));
    CHECK_FALSE(parse_size("1GB2"));
    CHECK_FALSE(parse_size("99999999999TiB"));
}

TEST_CASE("format_bytes", "[units]") {
    CHECK(format_bytes(0) == "0B");
    CHECK(format_bytes(1023) == "1023B");
    CHECK(format_bytes(1536) == "1.5KiB");
    CHECK(format_bytes(30'000'000'000u) == "27.9GiB");
}

TEST_CASE("did_you_mean: a plausible typo gets a hint, anything else none", "[text]") {
    std::vector<std::string> fields{"id",       "name",       "kind",   "needs",
                                    "rollback", "on_failure", "timeout"};
    CHECK(did_you_mean("neds", fields) == "; did you mean 'needs'?");
    CHECK(did_you_mean("rolback", fields) == "; did you mean 'rollback'?");
    CHECK(did_you_mean("on_falure", fields) == "; did you mean 'on_failure'?");
    CHECK(did_you_mean("timeuot", fields) == "; did you mean 'timeout'?");
    CHECK(did_you_mean("frobnicate", fields) == "");
    CHECK(did_you_mean("anything", {}) == "");
    CHECK(closest_match("kinf", fields) == "kind");
    CHECK(closest_match("xyz", fields) == "");
}

TEST_CASE("glob_match: '*', '?' and classes", "[text]") {
    CHECK(glob_match("qu_g_queue_*", "qu_g_queue_jobs"));
    CHECK(glob_match("qu_g_queue_*", "qu_g_queue_"));
    CHECK_FALSE(glob_match("qu_g_queue_*", "qu_g_queues"));
    CHECK(glob_match("*", ""));
    CHECK(glob_match("*", "anything"));
    CHECK(glob_match("", ""));
    CHECK_FALSE(glob_match("", "a"));
    CHECK(glob_match("a?c", "abc"));
    CHECK_FALSE(glob_match("a?c", "ac"));
    CHECK(glob_match("a*b*c", "aXXbYYc"));
    CHECK(glob_match("a*b*c", "abc"));
    CHECK_FALSE(glob_match("a*b*c", "aXXbYY"));
    CHECK(glob_match("*_logs", "qu_g_logs"));
    CHECK_FALSE(glob_match("*_logs", "qu_g_logs_old"));
    CHECK(glob_match("log[123]", "log2"));
    CHECK_FALSE(glob_match("log[123]", "log4"));
    CHECK(glob_match("t[ab]*", "tbx"));
    CHECK(glob_match("exact", "exact"));
    CHECK_FALSE(glob_match("exact", "exacT"));
}

TEST_CASE("trim, join and tail_lines", "[text]") {
    CHECK(trim("  a b \t\r\n") == "a b");
    CHECK(trim(" \n ") == "");
    CHECK(join({"a", "b", "c"}, ", ") == "a, b, c");
    CHECK(join({}, ", ") == "");
    CHECK(tail_lines("1\n2\n3\n4\n", 2, 1000) == "3\n4");
    CHECK(tail_lines("1\n2\n3", 5, 1000) == "1\n2\n3");
    CHECK(tail_lines("abcdef", 3, 3) == "def");
    CHECK(tail_lines("", 3, 100) == "");
}

TEST_CASE("hex_encode", "[text]") {
    const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
    CHECK(hex_encode(bytes, 4) == "000fa5ff");
}

TEST_CASE("format_count groups thousands", "[units]") {
    CHECK(format_count(0) == "0");
    CHECK(format_count(999) == "999");
    CHECK(format_count(1000) == "1,000");
    CHECK(format_count(1234567) == "1,234,567");
}

TEST_CASE("invalid_utf8_at names the first byte that does not begin a whole UTF-8 sequence") {
    CHECK(invalid_utf8_at("") == std::string_view::npos);
    CHECK(invalid_utf8_at("plain ascii") == std::string_view::npos);
    CHECK(invalid_utf8_at("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == std::string_view::npos);
    CHECK(invalid_utf8_at("ab\xff") == 2);       // not a lead byte
    CHECK(invalid_utf8_at("ab\x80") == 2);       // a lone continuation byte
    CHECK(invalid_utf8_at("ab\xc3") == 2);       // a sequence cut at the end
    CHECK(invalid_utf8_at("ab\xe2\x82z") == 2);  // a sequence cut by another character
    CHECK(invalid_utf8_at(std::string_view("a\0b", 3)) == std::string_view::npos);  // NUL is UTF-8
    CHECK(valid_utf8("\xf0\x9f\x98\x80"));
    CHECK_FALSE(valid_utf8("\xf0\x9f\x98"));
}

TEST_CASE("utf8_prefix, utf8_suffix and shorten cut between characters only", "[text]") {
    const std::string word = "h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC";  // "héllo 日本"
    CHECK(migrate::utf8_prefix(word, 2) == "h");                       // not inside 'é'
    CHECK(migrate::utf8_prefix(word, 3) == "h\xC3\xA9");
    CHECK(migrate::utf8_prefix(word, 9) == "h\xC3\xA9llo ");  // not inside '日'
    CHECK(migrate::utf8_prefix(word, 100) == word);
    CHECK(migrate::utf8_suffix(word, 4) == "\xE6\x9C\xAC");
    CHECK(migrate::utf8_length(word) == 8);
    CHECK(migrate::shorten(word, 2) == "h\xC3\xA9...");
    CHECK(migrate::shorten(word, 8) == word);
    CHECK(migrate::shorten(word, 7, "~") == "h\xC3\xA9llo \xE6\x97\xA5~");
    // Text that is not UTF-8 is still cut where asked, not far before it.
    CHECK(migrate::utf8_prefix(std::string(10, '\x80'), 5).size() == 5);
    CHECK(migrate::tail_lines("\xC3\xA9\xC3\xA9", 5, 3) == "\xC3\xA9");
}

TEST_CASE("the token scanners: names, ids, numbers (no std::regex: long input is safe)", "[text]") {
    using namespace migrate;
    CHECK(is_name("_a1"));
    CHECK_FALSE(is_name("1a"));
    CHECK_FALSE(is_name("a-b"));
    CHECK_FALSE(is_name(""));
    CHECK(is_id("0ab-c_d"));
    CHECK_FALSE(is_id("Ab"));
    CHECK_FALSE(is_id("-a"));
    CHECK(scan_id("step.out") == 4);
    CHECK(is_whole_number("-123", 3));
    CHECK_FALSE(is_whole_number("1234", 3));
    CHECK_FALSE(is_whole_number("-", 3));
    CHECK(is_plain_number("-12.50"));
    CHECK_FALSE(is_plain_number("12."));
    CHECK_FALSE(is_plain_number(".5"));
    // std::regex overflowed the stack on names of ~26,000 characters.
    CHECK(is_name(std::string(1'000'000, 'a')));
    CHECK(is_id(std::string(1'000'000, 'a')));
}

TEST_CASE("invalid_utf8_at refuses overlong forms, surrogates and code points above U+10FFFF",
          "[text]") {
    // Found by fuzz_checksums: F0 85 85 85 passed, and nlohmann_json then refused the message.
    CHECK(migrate::invalid_utf8_at("ok \xF0\x85\x85\x85") == 3);
    CHECK(migrate::invalid_utf8_at("\xC0\xAF") == 0);
    CHECK(migrate::invalid_utf8_at("\xE0\x80\xAF") == 0);
    CHECK(migrate::invalid_utf8_at("\xED\xA0\x80") == 0);
    CHECK(migrate::invalid_utf8_at("\xF4\x90\x80\x80") == 0);
    CHECK(migrate::valid_utf8("\xF0\x9F\x98\x80 \xED\x9F\xBF \xF4\x8F\xBF\xBF"));
}
