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

}  // namespace migrate
