// Transparent huge pages for big buffers written once from start to end: the first touch of
// each 4 KiB page is a page fault, which costs microseconds on a virtual machine; a 2 MiB
// page takes one fault where 512 small ones did.
#pragma once

#include <cstddef>

namespace migrate {

constexpr std::size_t k_huge_page_bytes = std::size_t{2} << 20;

// Asks (madvise, a hint) that the whole huge pages inside [data, data + bytes) be backed by
// huge pages where the system allows it; a range holding none is left alone.
void advise_huge_pages(void* data, std::size_t bytes);

// A private anonymous mapping of at least `bytes`, starting on a huge page's boundary and
// advised to huge pages; its length (`bytes` rounded up to whole huge pages) is what
// unmap_huge_pages takes. nullptr when the system has no room.
void* map_huge_pages(std::size_t bytes);
void unmap_huge_pages(void* block, std::size_t bytes);
// The length map_huge_pages maps for `bytes`.
constexpr std::size_t huge_pages_length(std::size_t bytes) {
    return (bytes + k_huge_page_bytes - 1) / k_huge_page_bytes * k_huge_page_bytes;
}

// For a process that does nothing but make many small allocations (a command that reads
// journals into timelines): the heap grows by `bytes` at once, advised to huge pages, so
// malloc's first touches of new memory fault once per 2 MiB. (glibc's own switch for this,
// the tunable glibc.malloc.hugetlb, is read from the environment at start only.) Memory not
// touched costs nothing; the heap keeps the room rather than give it back. It sets
// M_TOP_PAD for the rest of the process, which also ends glibc's moving mmap threshold:
// not for a process with other work (a run).
void heap_on_huge_pages(std::size_t bytes);

}  // namespace migrate
