#!/usr/bin/env bash
# Installs what the build and the tests need, builds, runs the whole test suite, then builds,
# installs and removes the Debian package. The test servers (nginx, later MariaDB and sshd)
# are started by the suite itself, on loopback ports of its own, and stopped when it ends.
# Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

packages() { grep -v '^#' "$1" | tr '\n' ' '; }
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Packaged servers must not start as system services: the tests start their own.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -q
  apt-get install -y -q $(packages cmake/debian-packages.txt) $(packages cmake/debian-test-packages.txt)
fi

# Every tracked C++ file is as .clang-format says (Debian 12's clang-format 14).
unformatted=$(git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run 2>&1 | grep -o '^[^:]*: warning' | cut -d: -f1 | sort -u || true)
if [ -n "$unformatted" ]; then
  echo "not formatted (run: git ls-files '*.cpp' '*.h' | xargs clang-format -i):" >&2
  echo "$unformatted" >&2
  exit 1
fi

# The optimised code of a release (-O2, as RelWithDebInfo) without the debug information,
# which was a third of the compile time; the Debian package strips it anyway.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"
cmake --build build -j2
(cd build && ctest --output-on-failure --timeout 600 -j2)

# Fuzzing: the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, only the sources they
# need) replay their corpus and fuzz 20 s each; any crash, leak or sanitizer report fails.
bash tests/fuzz/run.sh 20

# The Debian package: cpack, dpkg -i, the installed binary and files, dpkg -r (tests/deb.sh).
# It needs root (dpkg -i under /usr), as the rest of this script does on a fresh machine;
# without it, it fails and says so.
bash tests/deb.sh build
