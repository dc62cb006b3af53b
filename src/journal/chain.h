// The journal's hash chain, defined once for the writer and the reader: SHA-256 over the
// previous record's hash, a newline, and the record's text without its "h" field.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace migrate::journal {

class ChainHasher {
public:
    // The digest fetched once: EVP_sha256() makes every EVP_DigestInit_ex look the
    // algorithm up in OpenSSL's provider store again, under a lock, once per record.
    ChainHasher()
        : m_context(EVP_MD_CTX_new()),
          m_fetched(EVP_MD_fetch(nullptr, "SHA256", nullptr)),
          m_md(m_fetched != nullptr ? m_fetched : EVP_sha256()) {}
    ~ChainHasher() {
        EVP_MD_CTX_free(m_context);
        EVP_MD_free(m_fetched);
    }
    ChainHasher(const ChainHasher&) = delete;
    ChainHasher& operator=(const ChainHasher&) = delete;

    // The hash of a record whose text without "h" is `content_head` followed by `tail`
    // (the reader passes the line up to the hash field and "}", so nothing is copied).
    std::string hex(std::string_view previous, std::string_view content_head,
                    std::string_view tail = "") {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = compute(previous, content_head, tail, digest);
        static constexpr char k_digits[] = "0123456789abcdef";
        std::string out(2 * length, '0');
        for (unsigned int i = 0; i < length; ++i) {
            out[2 * i] = k_digits[digest[i] >> 4];
            out[2 * i + 1] = k_digits[digest[i] & 15];
        }
        return out;
    }

    bool matches(std::string_view previous, std::string_view content_head, std::string_view tail,
                 std::string_view expected) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = compute(previous, content_head, tail, digest);
        static constexpr char k_digits[] = "0123456789abcdef";
        if (expected.size() != 2 * length) return false;
        for (unsigned int i = 0; i < length; ++i)
            if (expected[2 * i] != k_digits[digest[i] >> 4] ||
                expected[2 * i + 1] != k_digits[digest[i] & 15])
                return false;
        return true;
    }

private:
    unsigned int compute(std::string_view previous, std::string_view head, std::string_view tail,
                         unsigned char* digest) {
        unsigned int length = 0;
        EVP_DigestInit_ex(m_context, m_md, nullptr);
        EVP_DigestUpdate(m_context, previous.data(), previous.size());
        EVP_DigestUpdate(m_context, "\n", 1);
        EVP_DigestUpdate(m_context, head.data(), head.size());
        EVP_DigestUpdate(m_context, tail.data(), tail.size());
        EVP_DigestFinal_ex(m_context, digest, &length);
        return length;
    }

    EVP_MD_CTX* m_context;
    EVP_MD* m_fetched;  // null when the fetch failed: EVP_sha256() then
    const EVP_MD* m_md;
};

}  // namespace migrate::journal
