// Message digests through OpenSSL's EVP interface (SHA-256 uses SHA-NI where the CPU has it),
// and hashing of whole files with large sequential reads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace migrate {

enum class DigestAlgorithm { sha256, md5 };

std::string digest_name(DigestAlgorithm algorithm);
// "sha256" / "md5" -> the algorithm; nullopt otherwise.
std::optional<DigestAlgorithm> digest_from_name(std::string_view name);
// The algorithm whose hex digest has this many characters (64 -> sha256, 32 -> md5).
std::optional<DigestAlgorithm> digest_from_hex_length(std::size_t length);

class Digest {
public:
    explicit Digest(DigestAlgorithm algorithm = DigestAlgorithm::sha256);
    ~Digest();
    Digest(const Digest&) = delete;
    Digest& operator=(const Digest&) = delete;

    void update(const void* data, std::size_t size);
    void update(std::string_view text) { update(text.data(), text.size()); }
    // Lowercase hex digest; the object must not be updated afterwards.
    std::string hex_digest();
    DigestAlgorithm algorithm() const { return m_algorithm; }

private:
    evp_md_ctx_st* m_context;
    DigestAlgorithm m_algorithm;
};

class Sha256 : public Digest {
public:
    Sha256() : Digest(DigestAlgorithm::sha256) {}
};

std::string sha256_hex(std::string_view data);

// Called after each block read; returning false stops the hashing (the result is then empty).
using HashProgress = std::function<bool(std::uint64_t bytes_done)>;

// Hex digest of a file's contents, read in 1 MiB blocks. Throws FileError naming the
// file when it cannot be opened or read. An empty string means `progress` asked to stop.
std::string hash_file(const std::string& path, DigestAlgorithm algorithm,
                      const HashProgress& progress = {});

}  // namespace migrate
