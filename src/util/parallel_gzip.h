// gzip on several threads, as pigz does it; used by make_compressor for gzip with threads >= 2.
#pragma once

#include <memory>

#include "migrate/util/compression.h"

namespace migrate {

std::unique_ptr<Compressor> make_parallel_gzip(const CompressorOptions& options, ByteSink sink);

}  // namespace migrate
