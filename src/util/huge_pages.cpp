// Transparent huge pages for big buffers (huge_pages.h).
#include "migrate/util/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

namespace migrate {

void advise_huge_pages(void* data, std::size_t bytes) {
    auto begin = reinterpret_cast<std::uintptr_t>(data);
    std::uintptr_t end = begin + bytes;
    begin = (begin + k_huge_page_bytes - 1) & ~(k_huge_page_bytes - 1);
    end &= ~(k_huge_page_bytes - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

}  // namespace migrate
