// SHA-256 via OpenSSL EVP.
#include "migrate/util/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "migrate/util/text.h"

namespace migrate {

Sha256::Sha256() : m_context(EVP_MD_CTX_new()) {
    if (m_context == nullptr || EVP_DigestInit_ex(m_context, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("OpenSSL could not initialise SHA-256");
}

Sha256::~Sha256() { EVP_MD_CTX_free(m_context); }

void Sha256::update(const void* data, std::size_t size) {
    EVP_DigestUpdate(m_context, data, size);
}

std::string Sha256::hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(m_context, digest, &length);
    return hex_encode(digest, length);
}

std::string sha256_hex(std::string_view data) {
    Sha256 hash;
    hash.update(data);
    return hash.hex_digest();
}

}  // namespace migrate
