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
