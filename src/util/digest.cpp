// Digests via OpenSSL EVP, and file hashing with large sequential reads.
#include "migrate/util/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate {

std::string digest_name(DigestAlgorithm algorithm) {
    return algorithm == DigestAlgorithm::md5 ? "md5" : "sha256";
}

std::optional<DigestAlgorithm> digest_from_name(std::string_view name) {
    if (name == "sha256") return DigestAlgorithm::sha256;
    if (name == "md5") return DigestAlgorithm::md5;
    return std::nullopt;
}

std::optional<DigestAlgorithm> digest_from_hex_length(std::size_t length) {
    if (length == 64) return DigestAlgorithm::sha256;
    if (length == 32) return DigestAlgorithm::md5;
    return std::nullopt;
}

Digest::Digest(DigestAlgorithm algorithm) : m_context(EVP_MD_CTX_new()), m_algorithm(algorithm) {
    const EVP_MD* md = algorithm == DigestAlgorithm::md5 ? EVP_md5() : EVP_sha256();
    if (m_context == nullptr || EVP_DigestInit_ex(m_context, md, nullptr) != 1)
        throw StepError("OpenSSL could not initialise " + digest_name(algorithm), false);
}

Digest::~Digest() { EVP_MD_CTX_free(m_context); }

void Digest::update(const void* data, std::size_t size) { EVP_DigestUpdate(m_context, data, size); }

std::string Digest::hex_digest() {
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

std::string hash_file(const std::string& path, DigestAlgorithm algorithm,
                      const HashProgress& progress) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw FileError(path, path, std::strerror(errno), false);
    std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    constexpr std::size_t k_block = 1 << 20;
    std::vector<unsigned char> buffer(k_block);
    Digest digest(algorithm);
    std::uint64_t done = 0;
    for (;;) {
        ssize_t got = ::read(fd, buffer.data(), buffer.size());
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw FileError(path, path, std::strerror(errno), false);
        if (got == 0) break;
        digest.update(buffer.data(), static_cast<std::size_t>(got));
        done += static_cast<std::uint64_t>(got);
        if (progress && !progress(done)) return "";
    }
    return digest.hex_digest();
}

}  // namespace migrate
