// Download planning and resume state, without a network.
#include <catch2/catch.hpp>

#include "migrate/steps/files/download_plan.h"

using namespace migrate::steps::files;

TEST_CASE("segments cover the file exactly, aligned, no smaller than asked") {
    std::vector<Segment> segments = plan_segments(100'000'000, true, 4, 4 << 20);
    REQUIRE(segments.size() == 4);
    CHECK(segments.front().start == 0);
    CHECK(segments.back().end == 100'000'000);
    for (std::size_t i = 1; i < segments.size(); ++i) {
        CHECK(segments[i].start == segments[i - 1].end);
        CHECK(segments[i].start % 65536 == 0);
    }
    CHECK(plan_segments(5 << 20, true, 4, 4 << 20).size() == 1);  // too small to split
    CHECK(plan_segments(10 << 20, true, 8, 4 << 20).size() == 2);
    CHECK(plan_segments(10 << 20, false, 8, 1 << 20).size() == 1);  // no Range support
    std::vector<Segment> unknown = plan_segments(k_unknown_size, true, 4, 1);
    REQUIRE(unknown.size() == 1);
    CHECK(unknown[0].end == k_unknown_size);
    CHECK_FALSE(unknown[0].complete());
    CHECK(plan_segments(0, true, 4, 1).front().complete());
}

TEST_CASE("the contiguous prefix stops at the first gap") {
    DownloadFile file;
    file.segments = {{0, 100, 100}, {100, 200, 40}, {200, 300, 100}};
    CHECK(file.contiguous() == 140);
    CHECK(file.done_bytes() == 240);
    file.segments[1].done = 100;
    CHECK(file.contiguous() == 300);
    file.segments[0].done = 0;
    CHECK(file.contiguous() == 0);
}

TEST_CASE("resume state round-trips and is kept only for the same file on the server") {
    auto make = [] {
        DownloadFile file{"http://h/a.bin", "a.bin"};
        file.size = 300;
        file.ranges = true;
        file.validator = "\"abc\"";
        return std::vector<DownloadFile>{file};
    };
    std::vector<DownloadFile> before = make();
    before[0].segments = {{0, 150, 120}, {150, 300, 30}};
    before[0].refetches = 1;
    nlohmann::ordered_json state = download_state(before);
    auto size_on_disk = [](std::uint64_t size) {
        return [size](const std::string&) { return std::optional<std::uint64_t>(size); };
    };

    std::vector<DownloadFile> same = make();
    CHECK(restore_download_state(same, state, size_on_disk(180)).empty());
    REQUIRE(same[0].segments.size() == 2);
    CHECK(same[0].segments[0].done == 120);
    CHECK(same[0].segments[1].done == 30);
    CHECK(same[0].refetches == 1);

    std::vector<DownloadFile> changed = make();
    changed[0].validator = "\"def\"";
    std::vector<std::string> why = restore_download_state(changed, state, size_on_disk(180));
    REQUIRE(why.size() == 1);
    CHECK_THAT(why[0], Catch::Contains("the server's file changed"));
    CHECK(changed[0].segments.empty());

    std::vector<DownloadFile> truncated = make();
    why = restore_download_state(truncated, state, size_on_disk(100));  // shorter than 150+30
    REQUIRE(why.size() == 1);
    CHECK_THAT(why[0], Catch::Contains("shorter than recorded"));

    std::vector<DownloadFile> missing = make();
    why = restore_download_state(missing, state,
                                 [](const std::string&) { return std::optional<std::uint64_t>(); });
    CHECK_THAT(why.at(0), Catch::Contains("missing"));
}

TEST_CASE("file names from URLs and manifests") {
    CHECK(file_name_of_url("https://h/x/backup.tar.gz.001?sig=1#f") == "backup.tar.gz.001");
    CHECK(file_name_of_url("http://h/a%20b.bin") == "a b.bin");
    CHECK(file_name_of_url("http://h/") == "");
    CHECK(file_name_of_url("http://h") == "");
    CHECK(file_name_of_url("file:///tmp/x.bin") == "x.bin");
    CHECK(url_beside("https://h/x/SHA256SUMS?t=1", "a b.bin") == "https://h/x/a%20b.bin");
    CHECK(url_beside("https://h/x/", "sub/p.1") == "https://h/x/sub/p.1");
    CHECK(is_safe_relative_name("sub/part.1"));
    CHECK_FALSE(is_safe_relative_name("../part.1"));
    CHECK_FALSE(is_safe_relative_name("/etc/passwd"));
    CHECK_FALSE(is_safe_relative_name("a//b"));
    CHECK_FALSE(is_safe_relative_name("a/./b"));
    CHECK_FALSE(is_safe_relative_name(""));
}

TEST_CASE("a running segment is split in two when both halves are big enough") {
    Segment segment{0, 8 << 20, 1 << 20};
    std::optional<Segment> tail = split_segment(segment, 1 << 20);
    REQUIRE(tail.has_value());
    CHECK(segment.end == tail->start);
    CHECK(tail->end == 8u << 20);
    CHECK(tail->done == 0);
    CHECK(tail->start % 65536 == 0);
    CHECK(tail->start > segment.next_byte());
    Segment small{0, 3 << 20, 2 << 20};
    CHECK_FALSE(split_segment(small, 1 << 20).has_value());  // 1 MiB left: not two halves of 1 MiB
    Segment open{0, k_unknown_size, 0};
    CHECK_FALSE(split_segment(open, 1).has_value());

    DownloadFile file;  // split-off segments are appended; the prefix is still found
    file.segments = {{0, 100, 100}, {200, 300, 100}, {100, 200, 100}};
    CHECK(file.contiguous() == 300);
}
