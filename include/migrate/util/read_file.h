// A whole file read into memory, for the small files a step reads at once (manifests, markers).
#pragma once

#include <string>

namespace migrate {

// The file's bytes. Throws FileError ("cannot read PATH: REASON", not retryable).
std::string read_file(const std::string& path);

}  // namespace migrate
