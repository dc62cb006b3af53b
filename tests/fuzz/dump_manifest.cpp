// libFuzzer target: the dump manifest reader of mysql.dump's resume and mysql.load
// (docs/dump-format.md), with and without the completeness check, and the manifest it
// accepted written back as JSON.
#include <cstddef>
#include <cstdint>
#include <string>

#include "migrate/steps/mysql/dump_manifest.h"
#include "migrate/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace migrate::steps::mysql;
    std::string text(reinterpret_cast<const char*>(data), size);
    for (ManifestCompleteness completeness :
         {ManifestCompleteness::any, ManifestCompleteness::required}) {
        try {
            DumpManifest manifest = parse_manifest("dump/migrate-dump.json", text, completeness);
            manifest.to_json().dump();
            manifest.rows();
            manifest.bytes();
            manifest.raw_bytes();
            manifest.one_snapshot();
            for (const DumpTable& table : manifest.tables)
                for (const DumpFile* file : table.files()) manifest.path_of(*file);
        } catch (const migrate::StepError&) {
        }
    }
    return 0;
}
