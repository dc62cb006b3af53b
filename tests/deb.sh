#!/usr/bin/env bash
# The Debian package, end to end: builds it with cpack in BUILD_DIR, installs it with dpkg,
# runs the installed /usr/bin/migrate, checks every file is where the package puts it, and
# removes it again. tests/ci.sh runs it after ctest. Needs root (it installs under /usr) and
# dpkg-dev (cmake/debian-test-packages.txt).
#   bash tests/deb.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: tests/deb.sh BUILD_DIR}" && pwd)

step() { echo "== deb: $*"; }
fail() {
  echo "deb: FAILED: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root: it installs the package under /usr with dpkg -i"

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)
deb="$build/migrate_${version}_${arch}.deb"

step "cpack -G DEB in $build"
rm -f "$deb"
(cd "$build" && cpack -G DEB)
[ -f "$deb" ] || fail "cpack made no $deb"

step "the package's control fields"
dpkg-deb --field "$deb"
depends=$(dpkg-deb --field "$deb" Depends)
# dpkg-shlibdeps found the binary's libraries: libc6 always, and the ones migrate links.
for library in libc6 libcurl4 libmariadb3 libarchive13; do
  grep -q "$library" <<<"$depends" || fail "Depends lacks $library: $depends"
done
[ "$(dpkg-deb --field "$deb" Section)" = admin ] || fail "Section is not admin"

step "dpkg -i $deb"
if dpkg -s migrate >/dev/null 2>&1; then fail "a migrate package is installed already"; fi
installed=1
trap 'if [ "$installed" = 1 ]; then dpkg -r migrate >/dev/null 2>&1 || true; fi' EXIT
dpkg -i "$deb"
[ "$(dpkg -S /usr/bin/migrate | cut -d: -f1)" = migrate ] || fail "/usr/bin/migrate is not the package's"

step "/usr/bin/migrate --version (from /, away from the source tree)"
cd /
got=$(/usr/bin/migrate --version)
echo "$got"
[ "$got" = "$version" ] || fail "--version says '$got', the package is $version"

step "/usr/bin/migrate validate /usr/share/migrate/runbooks/quickstart.yaml --env preprod"
/usr/bin/migrate validate /usr/share/migrate/runbooks/quickstart.yaml --env preprod

step "every file where it belongs"
expect_same() {  # expect_same SOURCE INSTALLED
  [ -f "$2" ] || fail "$2 is missing"
  cmp -s "$1" "$2" || fail "$2 differs from $1"
}
count=0
while read -r file; do
  expect_same "$root/$file" "/usr/share/doc/migrate/${file#docs/}"
  count=$((count + 1))
done < <(cd "$root" && git ls-files docs)
while read -r file; do
  expect_same "$root/$file" "/usr/share/migrate/runbooks/${file#runbooks/}"
  count=$((count + 1))
done < <(cd "$root" && git ls-files runbooks)
expect_same "$root/docs/runbook.schema.json" /usr/share/migrate/runbook.schema.json
expect_same "$root/LICENSE" /usr/share/doc/migrate/copyright
jq empty /usr/share/migrate/runbook.schema.json || fail "the installed schema is not JSON"
echo "$((count + 2)) files installed as in the source tree; outside /usr/share/doc the package holds:"
dpkg -L migrate | grep -v '^/usr/share/doc/' | while read -r path; do [ -d "$path" ] || echo "  $path"; done

step "dpkg -r migrate"
dpkg -r migrate
installed=0
[ ! -e /usr/bin/migrate ] || fail "/usr/bin/migrate is still there after dpkg -r"
[ ! -e /usr/share/migrate/runbooks/quickstart.yaml ] || fail "the runbooks are still there after dpkg -r"
step "ok"
