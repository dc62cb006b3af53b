// Transparent huge pages for big buffers (huge_pages.h).
#include "migrate/util/huge_pages.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace migrate {

void advise_huge_pages(void* data, std::size_t bytes) {
    auto begin = reinterpret_cast<std::uintptr_t>(data);
    std::uintptr_t end = begin + bytes;
    begin = (begin + k_huge_page_bytes - 1) & ~(k_huge_page_bytes - 1);
    end &= ~(k_huge_page_bytes - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

void* map_huge_pages(std::size_t bytes) {
    if (bytes > SIZE_MAX - 2 * k_huge_page_bytes) return nullptr;
    std::size_t length = huge_pages_length(bytes);
    // Mapped one huge page longer, so the start can be moved to a huge page's boundary.
    void* mapped = ::mmap(nullptr, length + k_huge_page_bytes, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) return nullptr;
    auto base = reinterpret_cast<std::uintptr_t>(mapped);
    std::uintptr_t start = (base + k_huge_page_bytes - 1) & ~(k_huge_page_bytes - 1);
    if (start > base) ::munmap(mapped, start - base);
    if (std::size_t tail = base + k_huge_page_bytes - start; tail > 0)
        ::munmap(reinterpret_cast<void*>(start + length), tail);
    auto* block = reinterpret_cast<void*>(start);
    advise_huge_pages(block, length);
    return block;
}

void unmap_huge_pages(void* block, std::size_t bytes) {
    if (block != nullptr) ::munmap(block, huge_pages_length(bytes));
}

void heap_on_huge_pages(std::size_t bytes) {
    // Allocations below malloc's mapping threshold come from the heap; once the heap's free
    // room is used up, the next one makes glibc grow it by M_TOP_PAD more than it needs.
    constexpr std::size_t k_probe = 64 << 10;
    constexpr int k_most_probes = 64;
    if (::mallopt(M_TOP_PAD, static_cast<int>(std::min<std::size_t>(bytes, 1u << 30))) == 0) return;
    void* before = ::sbrk(0);
    std::vector<void*> probes;
    while (::sbrk(0) == before && probes.size() < k_most_probes) {
        void* probe = std::malloc(k_probe);
        if (probe == nullptr) break;
        probes.push_back(probe);
    }
    void* after = ::sbrk(0);
    if (after > before)
        advise_huge_pages(before, static_cast<char*>(after) - static_cast<char*>(before));
    for (void* probe : probes) std::free(probe);
}

}  // namespace migrate
