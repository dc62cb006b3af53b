#!/usr/bin/env bash
# extract through the real binary: tar, tar.gz, tar.zst and zip round trips (content, modes,
# mtimes), multi-part archives from a glob and a list, gaps, truncation, hostile archives,
# test-only mode, the destination rules, and a stop that leaves no staging directory.
source "$(dirname "$0")/lib.sh"

# book NAME 'WITH': a runbook NAME.yaml with one extract step `x`.
book() {
  cat > "$1.yaml" <<YAML
version: 1
name: $1
phases:
  - id: p
    steps:
      - id: x
        kind: extract
        with: $2
YAML
}
run_book() { "$MIGRATE" run "$1.yaml" --rehearsal --yes --journal "$1.jsonl"; }
end_of() { events "$1.jsonl" step.end | jq -r "$2"; }
# What must survive a round trip: name, type, mode and mtime of everything but symlinks.
listing() { (cd "$1" && find . -not -type l -printf '%P|%y|%m|%T@\n' | sort); }
# Nothing of a refused or failed extract is left: neither the destination nor its staging.
left_nothing() { [ ! -e "$1" ] && [ ! -e "$1.partial" ]; }
# error_has NAME TEXT: the step's error holds TEXT.
error_has() {
  local error; error=$(end_of "$1" .error)
  [[ "$error" == *"$2"* ]] || { echo "     error: $error"; false; }
}

# The tree: text, binary, modes, mtimes, a UTF-8 name, an empty directory, links.
mkdir -p src/sub/deeper src/empty src/private
echo "hello" > src/hello.txt
printf 'caf\xc3\xa9\n' > "src/café.txt"
head -c 1500000 /dev/urandom > src/sub/random.bin
seq 1 100000 > src/sub/deeper/numbers.txt
printf '#!/bin/sh\necho run\n' > src/sub/run.sh
echo secret > src/private/key
chmod 755 src/sub/run.sh; chmod 600 src/private/key; chmod 700 src/private; chmod 750 src/sub/deeper
ln -s sub/deeper/numbers.txt src/numbers-link
ln src/hello.txt src/hello-hardlink.txt
find src -not -type l -exec touch -h -d '2021-03-04 05:06:07' {} +
touch -d '2019-12-31 23:59:59' src/sub/random.bin src/sub

tar -C src -cf site.tar .
tar -C src -czf site.tar.gz .
tar -C src -cf - . | zstd -q -o site.tar.zst
(cd src && zip -q -r -y ../site.zip .)

for archive in site.tar site.tar.gz site.tar.zst site.zip; do
  name=${archive//./-}
  book "$name" "{ archive: $WORK/$archive, to: $WORK/out-$name }"
  expect_exit 0 "$archive extracts" run_book "$name"
  check "$archive: same content" diff -r src "out-$name"
  if [ "$archive" = site.zip ]; then
    # a zip holds no entry for its top directory
    check "$archive: same modes and mtimes" test "$(listing src | grep -v "^|")" = "$(listing "out-$name" | grep -v "^|")"
  else
    check "$archive: same modes and mtimes, the top directory's too" test "$(listing src)" = "$(listing "out-$name")"
    check "$archive: the hard link is one file" test "$(stat -c %i "out-$name/hello.txt")" = "$(stat -c %i "out-$name/hello-hardlink.txt")"
  fi
  check "$archive: the symlink is kept" test "$(readlink "out-$name/numbers-link")" = sub/deeper/numbers.txt
  check "$archive: no staging directory left" test ! -e "out-$name.partial"
  check "$archive: metric bytes is the archive's size" test "$(end_of "$name" .metrics.bytes)" = "$(stat -c %s "$archive")"
  check "$archive: metric bytes_out" test "$(end_of "$name" .metrics.bytes_out)" -ge 2000000
  check "$archive: outputs path and files" test "$(end_of "$name" '[.outputs.path, .metrics.files == (.outputs.files | tonumber)] | @tsv')" = "$WORK/out-$name	true"
done
check "files counts every entry of the tar" test "$(end_of site-tar .outputs.files)" -eq "$(tar -tf site.tar | wc -l)"
check "progress is reported as bytes of the total and files" \
  bash -c "jq -r 'select(.ev == \"step.progress\") | .message' site-tar-gz.jsonl | grep -qE '^[0-9.]+[KMG]?i?B of [0-9.]+[KMG]?i?B \([0-9]+%\), [0-9,]+ files?$'"

book strip "{ archive: $WORK/site.tar, to: $WORK/out-strip, strip_components: 2 }"
expect_exit 0 "strip_components" run_book strip
check "strip_components: ./sub/run.sh lands as run.sh" test -x out-strip/run.sh
check "strip_components: shorter entries are left out" test ! -e out-strip/hello.txt

# Multi-part: 12 parts numbered .1 to .12, so text order (.1 .10 .11 .12 .2) would be wrong.
mkdir parts
split -n 12 -d -a 2 --numeric-suffixes=1 site.tar.gz parts/site.tar.gz.
for f in parts/site.tar.gz.0*; do mv "$f" "parts/site.tar.gz.$((10#${f##*.}))"; done
echo "not a part" > parts/site.tar.gz.sha256
check "the archive is split into 12 parts" test "$(ls parts | grep -c '\.[0-9]*$')" -eq 12
book glob "{ archive: '$WORK/parts/site.tar.gz.*', to: $WORK/out-glob }"
expect_exit 0 "a multi-part archive from a glob" run_book glob
check "glob: same content" diff -r src out-glob
check "glob: the checksum file beside the parts is named as not a part" contains last.out "not a part (no part number): $WORK/parts/site.tar.gz.sha256"
check "glob: metric bytes is the size of all parts" test "$(end_of glob .metrics.bytes)" = "$(stat -c %s site.tar.gz)"
check "glob: the parts were not joined on disk" test "$(ls parts | wc -l)" -eq 13
list=$(for i in $(seq 1 12); do printf '%s, ' "$WORK/parts/site.tar.gz.$i"; done)
book list "{ parts: [ ${list%, } ], to: $WORK/out-list }"
expect_exit 0 "a multi-part archive from a list" run_book list
check "list: same content" diff -r src out-list

mv parts/site.tar.gz.3 site.tar.gz.3.aside
book gap "{ archive: '$WORK/parts/site.tar.gz.*', to: $WORK/out-gap }"
expect_exit 1 "a gap in the numbering fails" run_book gap
check "gap: the missing part is named" error_has gap "missing part: $WORK/parts/site.tar.gz.3 "
check "gap: nothing is read or created" left_nothing out-gap
book missing "{ parts: [ $WORK/parts/site.tar.gz.1, $WORK/parts/site.tar.gz.2, $WORK/parts/site.tar.gz.3 ], to: $WORK/out-missing }"
expect_exit 1 "a missing listed part fails" run_book missing
check "missing: the part is named" test "$(end_of missing .error)" = "part $WORK/parts/site.tar.gz.3 does not exist"
check "missing: nothing is created" left_nothing out-missing
mv site.tar.gz.3.aside parts/site.tar.gz.3

# Truncated: a whole archive cut in half, and the last of the parts cut short.
head -c $(( $(stat -c %s site.tar.gz) / 2 )) site.tar.gz > truncated.tar.gz
book truncated "{ archive: $WORK/truncated.tar.gz, to: $WORK/out-truncated }"
expect_exit 1 "a truncated archive fails" run_book truncated
check "truncated: the error names the archive" error_has truncated "$WORK/truncated.tar.gz: "
check "truncated: neither the destination nor its staging directory is left" left_nothing out-truncated
truncate -s 1000 parts/site.tar.gz.12
book truncated-part "{ archive: '$WORK/parts/site.tar.gz.*', to: $WORK/out-tp }"
expect_exit 1 "a truncated last part fails" run_book truncated-part
check "truncated part: the error names the part" error_has truncated-part "parts/site.tar.gz.12 (part 12 of 12): "
check "truncated part: nothing is left" left_nothing out-tp

echo "just some text" > notes.txt
book not-archive "{ archive: $WORK/notes.txt, to: $WORK/out-na }"
expect_exit 1 "a file that is no archive fails" run_book not-archive
check "not an archive: named" error_has not-archive "cannot read $WORK/notes.txt as an archive (tar, tar.gz, tar.zst or zip): "
check "not an archive: nothing is left" left_nothing out-na

# Hostile archives, made with Python: each refused, naming the entry; nothing written outside.
mkdir outside
python3 - "$WORK" <<'PY'
import io, sys, tarfile, zipfile
work = sys.argv[1]
def tar(name, entries):
    with tarfile.open(f"{work}/{name}", "w") as t:
        for path, kind, value in entries:
            info = tarfile.TarInfo(path)
            if kind == "file":
                data = value.encode()
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                info.linkname = value
                t.addfile(info)
tar("dotdot.tar", [("ok.txt", "file", "fine"), ("../escape", "file", "escaped")])
tar("absolute.tar", [(f"{work}/outside/absolute", "file", "escaped")])
tar("symlink-out.tar", [("evil", "symlink", "../../outside"), ("fine.txt", "file", "x")])
tar("through-link.tar", [("link", "symlink", f"{work}/outside"), ("link/pwned", "file", "escaped")])
tar("through-inner-link.tar", [("sub/keep", "file", "x"), ("inner", "symlink", "sub"), ("inner/evil", "file", "escaped")])
tar("hardlink-out.tar", [("h", "hardlink", "../outside/target")])
with zipfile.ZipFile(f"{work}/dotdot.zip", "w") as z:
    z.writestr("ok.txt", "fine")
    z.writestr("../zip-escape", "escaped")
PY
refused() {  # refused NAME ENTRY-AS-NAMED REASON
  book "$1" "{ archive: $WORK/$1, to: $WORK/out-$1 }"
  expect_exit 1 "$1 is refused" run_book "$1"
  check "$1: the error names the entry and the rule" error_has "$1" "refused archive entry '$2': $3"
  check "$1: the refusal is not retried" test "$(end_of "$1" .attempts)" = 1
  check "$1: nothing is left in the destination" left_nothing "out-$1"
}
refused dotdot.tar ../escape "a '..' component"
refused absolute.tar "$WORK/outside/absolute" "an absolute path"
refused symlink-out.tar evil "a symlink to '../../outside', which points outside the destination"
refused through-link.tar link "a symlink to the absolute path '$WORK/outside'"
refused through-inner-link.tar inner/evil "it would be written through the symlink 'inner'"
refused hardlink-out.tar h "a hard link to '../outside/target', which has a '..' component"
refused dotdot.zip ../zip-escape "a '..' component"
check "nothing was written outside any destination" test -z "$(ls -A outside)"
check "no escape file beside the work directory" test ! -e ../escape -a ! -e escape -a ! -e zip-escape

# Test-only mode reads everything and writes nothing; it catches a damaged gzip stream.
book test-good "{ archive: $WORK/site.tar.gz, test: true }"
snapshot() { find . -path ./test-good.jsonl.logs -prune -o -print | grep -v -e '^\./test-good\.jsonl$' -e '^\./last\.' -e '^\./\..*\.lock$' | sort; }
before=$(snapshot)
expect_exit 0 "test-only mode passes a good archive" run_book test-good
check "test-only mode writes nothing (but its journal)" test "$(snapshot)" = "$before"
check "test-only: every entry counted, all data read" test "$(end_of test-good '[.metrics.files, .metrics.bytes_out > 2000000] | @tsv')" = "$(tar -tzf site.tar.gz | wc -l)	true"
python3 - "$WORK" <<'PY'
import sys
work = sys.argv[1]
data = bytearray(open(f"{work}/site.tar.gz", "rb").read())
trailer = bytearray(data)
trailer[-8] ^= 0xFF                      # the CRC-32 in the gzip trailer only
open(f"{work}/bad-crc.tar.gz", "wb").write(trailer)
data[len(data) // 2] ^= 0x55             # a byte in the middle of the deflate stream
open(f"{work}/bad-middle.tar.gz", "wb").write(data)
for name in ("site.tar.zst", "site.zip"):  # mostly the random file's data: only a checksum sees it
    data = bytearray(open(f"{work}/{name}", "rb").read())
    data[len(data) // 2] ^= 0x55
    open(f"{work}/bad-{name}", "wb").write(data)
PY
for bad in bad-crc bad-middle; do
  book "test-$bad" "{ archive: $WORK/$bad.tar.gz, test: true }"
  expect_exit 1 "test-only mode catches a corrupted gzip ($bad)" run_book "test-$bad"
  check "test-only ($bad): the error names the archive" error_has "test-$bad" "$WORK/$bad.tar.gz: damaged gzip data (the CRC-32 does not match the data)"
done
book test-bad-zst "{ archive: $WORK/bad-site.tar.zst, test: true }"
expect_exit 1 "test-only mode catches a corrupted zstd stream" run_book test-bad-zst
check "test-only (zstd): the error names the archive" error_has test-bad-zst "$WORK/bad-site.tar.zst: damaged zstd data"
book test-bad-zip "{ archive: $WORK/bad-site.zip, test: true }"
expect_exit 1 "test-only mode catches a corrupted zip entry" run_book test-bad-zip
check "test-only (zip): the error names the entry and the archive" error_has test-bad-zip "'sub/random.bin' in $WORK/bad-site.zip: "
book test-hostile "{ archive: $WORK/symlink-out.tar, test: true }"
expect_exit 1 "test-only mode applies the path rules" run_book test-hostile

# The destination: a non-empty one is refused before reading; an empty one is replaced; a
# staging directory left by a killed attempt is removed first.
mkdir busy; echo keep > busy/keep
book busy "{ archive: $WORK/site.tar, to: $WORK/busy }"
expect_exit 1 "a non-empty destination is refused" run_book busy
check "busy: the error says what to do" error_has busy "'$WORK/busy' exists and is not empty"
check "busy: it is untouched" test "$(ls -A busy)" = keep
check "busy: no staging directory" test ! -e busy.partial
expect_exit 1 "a dry run already refuses it" "$MIGRATE" run busy.yaml --dry-run
mkdir empty-dest
book empty-dest "{ archive: $WORK/site.tar.zst, to: $WORK/empty-dest }"
expect_exit 0 "an empty destination is replaced" run_book empty-dest
check "empty destination: filled" diff -r src empty-dest
mkdir -p leftover.partial/half; echo junk > leftover.partial/half/file; chmod 500 leftover.partial/half
book leftover "{ archive: $WORK/site.tar.gz, to: $WORK/leftover }"
expect_exit 0 "a staging directory left by a killed attempt is cleared" run_book leftover
check "leftover: it says so" contains last.out "left by an earlier attempt; extracting from the start"
check "leftover: only the archive's content" diff -r src leftover

book both "{ archive: $WORK/site.tar, parts: [ $WORK/site.tar ], to: $WORK/out-both }"
expect_exit 2 "archive and parts together are refused by the validator" "$MIGRATE" validate both.yaml
check "validator: says to take one" contains last.err "takes only one of: archive, parts"
book no-to "{ archive: $WORK/site.tar }"
expect_exit 2 "no destination and no test mode is refused by the validator" "$MIGRATE" validate no-to.yaml
check "validator: says what is missing" contains last.err "needs \`to\`"

# A stop (SIGINT) in the middle leaves no staging directory. 3 GiB of zeros: a small archive
# whose extraction takes long enough to be interrupted.
truncate -s 3G zeros.bin
tar -cf - zeros.bin | zstd -q -o zeros.tar.zst
rm zeros.bin
book zeros "{ archive: $WORK/zeros.tar.zst, to: $WORK/out-zeros }"
"$MIGRATE" run zeros.yaml --rehearsal --yes --journal zeros.jsonl > zeros.out 2>&1 &
pid=$!
check "stop: the extraction started" wait_for 30 test -e out-zeros.partial/zeros.bin
kill -INT $pid
wait_for 10 contains zeros.out "may finish within"
kill -INT $pid  # the second signal stops it now
wait $pid
check "stop: exit code 3" test $? -eq 3
check "stop: the step is interrupted" test "$(end_of zeros .status)" = interrupted
check "stop: no staging directory and no destination" left_nothing out-zeros
finish
