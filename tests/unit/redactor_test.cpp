// Secret masking: plain text, JSON, and streams whose chunks split a secret.
#include <catch2/catch.hpp>

#include "migrate/util/redactor.h"

using namespace migrate;
using Catch::Matchers::Contains;

TEST_CASE("redactor: every occurrence of every secret becomes ***", "[redactor]") {
    Redactor redactor;
    CHECK(redactor.empty());
    CHECK(redactor.redact("nothing to hide") == "nothing to hide");
    redactor.add_secret("hunter2");
    redactor.add_secret("");  // ignored: an empty secret would mask everything
    redactor.add_secret("hunter2");
    CHECK_FALSE(redactor.empty());
    CHECK(redactor.longest() == 7);
    CHECK(redactor.redact("pw=hunter2, again hunter2hunter2") == "pw=***, again ******");
    CHECK(redactor.redact("hunter") == "hunter");
}

TEST_CASE("redactor: the longest secret wins where secrets overlap", "[redactor]") {
    Redactor redactor;
    redactor.add_secret("abc");
    redactor.add_secret("abcdef");
    CHECK(redactor.longest() == 6);
    CHECK(redactor.redact("xabcdefx abc") == "x***x ***");
}

TEST_CASE("redactor: JSON values and keys", "[redactor]") {
    Redactor redactor;
    redactor.add_secret("s3cr3t");
    nlohmann::ordered_json value = {{"password", "s3cr3t"},
                                    {"list", {"a", "is s3cr3t", 5}},
                                    {"nested", {{"s3cr3t", "key too"}}},
                                    {"n", 1}};
    redactor.redact(value);
    CHECK(value["password"] == "***");
    CHECK(value["list"][1] == "is ***");
    CHECK(value["list"][2] == 5);
    CHECK(value["nested"].contains("***"));
    CHECK(value["n"] == 1);
    CHECK_THAT(value.dump(), !Contains("s3cr3t"));
    // Key order is kept.
    CHECK(value.begin().key() == "password");
}

TEST_CASE("stream redactor: a secret split across chunks is masked", "[redactor]") {
    Redactor redactor;
    redactor.add_secret("hunter2secret");
    const std::string text = "user=admin pass=hunter2secret end of line\n";
    const std::string expected = "user=admin pass=*** end of line\n";
    SECTION("two chunks, split inside the secret") {
        StreamRedactor stream(redactor);
        std::string first = stream.feed("user=admin pass=hunter2");
        std::string second = stream.feed("secret end of line\n");
        std::string rest = stream.finish();
        CHECK_THAT(first, !Contains("hunter"));
        CHECK(first + second + rest == expected);
    }
    SECTION("every split point") {
        for (std::size_t cut = 0; cut <= text.size(); ++cut) {
            StreamRedactor stream(redactor);
            std::string out = stream.feed(text.substr(0, cut));
            out += stream.feed(text.substr(cut));
            out += stream.finish();
            INFO("cut at " << cut);
            CHECK(out == expected);
        }
    }
    SECTION("one byte at a time: no chunk ever shows part of the secret") {
        StreamRedactor stream(redactor);
        std::string out;
        for (char c : text) {
            std::string chunk = stream.feed(std::string(1, c));
            CHECK_THAT(chunk, !Contains("h"));
            out += chunk;
        }
        out += stream.finish();
        CHECK(out == expected);
    }
    SECTION("text before a possible secret is not held back longer than needed") {
        StreamRedactor stream(redactor);
        std::string out = stream.feed("0123456789012345678901234567890123456789");
        CHECK(out == "0123456789012345678901234567");  // all but the last 12 bytes
        CHECK(stream.finish() == "890123456789");
    }
}

TEST_CASE("stream redactor: with no secrets everything passes at once", "[redactor]") {
    Redactor redactor;
    StreamRedactor stream(redactor);
    CHECK(stream.feed("abc") == "abc");
    CHECK(stream.feed("def") == "def");
    CHECK(stream.finish() == "");
}
