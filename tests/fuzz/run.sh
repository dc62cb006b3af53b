#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in their own build tree and runs each
# for SECONDS, one after the other, from its seed corpus in tests/fuzz/corpus/<target>/.
#
#   tests/fuzz/run.sh SECONDS [TARGET...]      (targets: runbook journal checksums
#                                               sql_split dump_manifest; default all)
#
# Fails (exit 1) when a target crashes, leaks, trips a sanitizer, runs out of memory or
# takes more than 10 s on one input; the input is kept as build-fuzz/artifacts/<target>-*
# (add it to the target's corpus once fixed: it is then replayed by every run).
# New inputs found go to build-fuzz/corpus/<target>/, never into the checked-in seeds.
# BUILD_DIR (default build-fuzz) and JOBS (default 2) may be set in the environment.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 2
fi
seconds=$1
shift
all=(runbook journal checksums sql_split dump_manifest)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for target in "${targets[@]}"; do
    if [ ! -d "tests/fuzz/corpus/$target" ]; then
        echo "$0: unknown target '$target' (targets: ${all[*]})" >&2
        exit 2
    fi
done

build=${BUILD_DIR:-build-fuzz}
mkdir -p "$build"
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DMIGRATE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" "${launcher[@]}" > "$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 1; }
nice cmake --build "$build" -j"${JOBS:-2}" || exit 1

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for target in "${targets[@]}"; do
    work=$build/corpus/$target
    mkdir -p "$work" "$build/artifacts"
    max_len=4096
    [ "$target" = runbook ] && max_len=16384
    [ "$target" = journal ] && max_len=65536
    echo "== fuzz_$target: ${seconds}s"
    nice "$build/tests/fuzz/fuzz_$target" "$work" "tests/fuzz/corpus/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
        -artifact_prefix="$build/artifacts/$target-" -print_final_stats=1 \
        > "$build/fuzz_$target.log" 2>&1
    status=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$build/fuzz_$target.log"
    echo "   corpus: $(find "$work" -type f | wc -l) inputs found, $(find "tests/fuzz/corpus/$target" -type f | wc -l) seeds"
    if [ $status -ne 0 ] || grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$build/fuzz_$target.log"; then
        echo "FAIL fuzz_$target (exit $status): see $build/fuzz_$target.log" >&2
        grep -E -m5 -A20 'ERROR:|runtime error:' "$build/fuzz_$target.log" >&2
        ls "$build/artifacts/$target-"* 2> /dev/null >&2
        failed+=("$target")
    else
        echo "ok fuzz_$target"
    fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzzing failed: ${failed[*]}" >&2; exit 1; }
