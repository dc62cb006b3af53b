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
    CHECK(redactor.longest() == 3 * 10);  // "aHVudGVyMg" (base64), each byte may be %XX
    CHECK(redactor.redact("pw=hunter2, again hunter2hunter2") == "pw=***, again ******");
    CHECK(redactor.redact("hunter") == "hunter");
}

TEST_CASE("redactor: the longest secret wins where secrets overlap", "[redactor]") {
    Redactor redactor;
    redactor.add_secret("abc");
    redactor.add_secret("abcdef");
    CHECK(redactor.longest() == 3 * 8);  // "YWJjZGVm", percent-encoded
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
        // The longest form: "aHVudGVyMnNlY3JldA" (18), each byte possibly written %XX.
        StreamRedactor stream(redactor);
        std::string text(100, 'x');
        std::string out = stream.feed(text);
        CHECK(out == text.substr(0, 100 - 53));  // all but the last 3 x 18 - 1 bytes
        CHECK(stream.finish() == text.substr(47));
    }
}

TEST_CASE("stream redactor: with no secrets everything passes at once", "[redactor]") {
    Redactor redactor;
    StreamRedactor stream(redactor);
    CHECK(stream.feed("abc") == "abc");
    CHECK(stream.feed("def") == "def");
    CHECK(stream.finish() == "");
}

TEST_CASE("redactor: a secret percent-encoded, in either case, with '+' for a space",
          "[redactor]") {
    Redactor redactor;
    redactor.add_secret("p@ss w/rd:%");
    // Whatever an encoder escapes or leaves as it is, the text decodes to the secret.
    for (const char* form :
         {"p%40ss%20w%2Frd%3A%25", "p%40ss%20w%2frd%3a%25", "p%40ss+w%2Frd%3A%25",
          "p%40ss%20w/rd%3A%25", "p@ss%20w/rd:%25", "%70%40%73%73%20%77%2F%72%64%3A%25"}) {
        INFO(form);
        CHECK(redactor.redact(std::string("url=") + form + "&x=1") == "url=***&x=1");
    }
    // A plain '%' at the end is the secret's own.
    CHECK(redactor.redact("pw: p@ss w/rd:%") == "pw: ***");
    CHECK(redactor.redact("p%40ss%20w%2Frd%3A") == "p%40ss%20w%2Frd%3A");  // not all of it
    CHECK(redactor.redact("p+ss") == "p+ss");
}

TEST_CASE("redactor: a secret in base64, alone and inside a longer text at every alignment",
          "[redactor]") {
    Redactor redactor;
    redactor.add_secret("p@ss w/rd:%");
    CHECK(redactor.redact("cEBzcyB3L3JkOiU=") == "***=");  // the secret alone
    // Inside an encoded text, after 0, 1 and 2 bytes (mod 3): only the characters made of the
    // secret's bits alone are masked, so the neighbours' bits may stay.
    CHECK(redactor.redact("eHBAc3Mgdy9yZDol") == "eH***");          // "x" + secret
    CHECK(redactor.redact("eHlwQHNzIHcvcmQ6JQ==") == "eHl***Q==");  // "xy" + secret
    CHECK(redactor.redact("eHl6cEBzcyB3L3JkOiU=") == "eHl6***=");   // "xyz" + secret
    // The URL-safe alphabet; and a secret of fewer than 7 bytes only alone.
    Redactor url_safe;
    url_safe.add_secret("\xff\xfe>>??secret");
    CHECK(url_safe.redact("__4-Pj8_c2VjcmV0") == "***");
    Redactor short_secret;
    short_secret.add_secret("abc");
    CHECK(short_secret.redact("YWJj") == "***");
    CHECK(short_secret.redact("eGFiYw") == "eGFiYw");  // "xabc": too short to find inside
}

TEST_CASE("redactor: a URL's credentials as an HTTP Basic header", "[redactor]") {
    Redactor redactor;
    redactor.add_secret("p@ss w/rd:%");
    redactor.add_url_credentials("GET http://nobody@host/ https://other:not-secret@host/");
    const std::string header = "Authorization: Basic YWRtaW46cEBzcyB3L3JkOiU=";
    // Before: the secret's own characters are masked ("admin:" is 6 bytes, alignment 0), the
    // user's are not.
    CHECK(redactor.redact(header) == "Authorization: Basic YWRtaW46***=");
    redactor.add_url_credentials("curl 'http://admin:p%40ss%20w%2Frd%3A%25@127.0.0.1:8080/x'");
    CHECK(redactor.redact(header) == "Authorization: Basic ***=");
    CHECK(redactor.redact("Basic b3RoZXI6bm90LXNlY3JldA==") ==
          "Basic b3RoZXI6bm90LXNlY3JldA==");  // a password that is no secret stays

    SECTION("a secret declared percent-encoded is masked decoded too") {
        Redactor encoded;
        encoded.add_secret("p%40ss%20w%2Frd%3A%25");
        encoded.add_url_credentials("http://admin:p%40ss%20w%2Frd%3A%25@host/");
        CHECK(encoded.redact("login p@ss w/rd:% failed") == "login *** failed");
        CHECK(encoded.redact(header) == "Authorization: Basic ***=");
    }
    SECTION("a user/password pair given directly") {
        Redactor pair;
        pair.add_secret("hunter2");
        pair.add_basic_auth("root", "hunter2");
        pair.add_basic_auth("root", "plain");
        CHECK(pair.redact("cm9vdDpodW50ZXIy") == "***");  // root:hunter2
        CHECK(pair.redact("cm9vdDpwbGFpbg==") == "cm9vdDpwbGFpbg==");
    }
}
