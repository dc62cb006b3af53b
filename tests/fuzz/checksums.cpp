// libFuzzer target: a checksum list as `verify` and `download` read it (sha256sum/md5sum
// output, BSD style).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "migrate/steps/files/checksums.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        for (const auto& entry : migrate::steps::files::parse_checksum_list(text, "SUMS"))
            (void)entry;
    } catch (const migrate::StepError& e) {
        // The message quotes the line, shortened: when the list is UTF-8, so must it be.
        if (migrate::valid_utf8(text)) nlohmann::json(std::string(e.what())).dump();
    }
    return 0;
}
