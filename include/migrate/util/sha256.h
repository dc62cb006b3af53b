// SHA-256 through OpenSSL's EVP interface (uses SHA-NI where the CPU has it).
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace migrate {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const void* data, std::size_t size);
    void update(std::string_view text) { update(text.data(), text.size()); }
    // Lowercase hex digest; the object must not be updated afterwards.
    std::string hex_digest();

private:
    evp_md_ctx_st* m_context;
};

std::string sha256_hex(std::string_view data);

}  // namespace migrate
