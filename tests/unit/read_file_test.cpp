// read_file: a whole file's bytes, or FileError naming the path and the system's reason.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "migrate/util/error.h"
#include "migrate/util/read_file.h"

using namespace migrate;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("migrate-read-file-" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("read_file: the bytes as they are, NULs and all", "[read_file]") {
    TempDir dir;
    std::string bytes("line 1\r\n\0binary\xff", 16);
    std::string big(300 * 1024, 'x');  // more than one read
    std::ofstream((dir.path / "a").string(), std::ios::binary) << bytes;
    std::ofstream((dir.path / "big").string(), std::ios::binary) << big;
    std::ofstream((dir.path / "empty").string(), std::ios::binary);
    CHECK(read_file((dir.path / "a").string()) == bytes);
    CHECK(read_file((dir.path / "big").string()) == big);
    CHECK(read_file((dir.path / "empty").string()).empty());
}

TEST_CASE("read_file: a missing file or a directory is a FileError with path and reason",
          "[read_file]") {
    TempDir dir;
    std::string missing = (dir.path / "missing").string();
    try {
        read_file(missing);
        FAIL("no exception");
    } catch (const FileError& e) {
        CHECK(std::string(e.what()) == "cannot read " + missing + ": No such file or directory");
        CHECK(e.path() == missing);
        CHECK(e.reason() == "No such file or directory");
        CHECK_FALSE(e.retryable());
    }
    CHECK_THROWS_WITH(read_file(dir.path.string()),
                      "cannot read " + dir.path.string() + ": Is a directory");
}
