#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [--ci | --long [SECONDS] | --replay FILE...] [-- libFuzzer arguments...]
#
# Fuzzes the envelope codec with libFuzzer: Sources/EventBusFuzz checks, on arbitrary bytes, that decoding
# never crashes, that whatever decodes encodes and decodes back equal, and that Foundation's
# JSONSerialization reads whatever the codec accepts (Docs/Reliability.md, "Codec").
#   --ci             (the default) a short run, 30 s of fuzzing after the build; scripts/test.sh runs it.
#   --long [SECONDS] a longer run, 600 s unless given; the inputs it finds are kept for the next run.
#   --replay FILE... runs the given inputs once each, e.g. a crash file from .build-fuzz/artifacts/.
# Arguments after `--` go to libFuzzer as they are (e.g. -- -seed=1 -runs=100000, -- -jobs=2).
#
# Builds in release with `-sanitize=fuzzer,address` into its own scratch path, .build-fuzz, so these flags
# never reach the normal build (in Package.swift they would make the package unusable as a dependency).
# Starts from the committed seed corpus, Tests/Fuzz/corpus, plus what earlier runs found in
# .build-fuzz/corpus, with the dictionary Tests/Fuzz/envelope.dict. A crash, a sanitizer report or a broken
# property stops the run and exits non-zero; the input is saved under .build-fuzz/artifacts/. Once fixed,
# add it to Tests/Fuzz/corpus and pin it with a test. Prints the elapsed time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
cd "$root"

now_us() { printf '%s' "${EPOCHREALTIME//[.,]/}"; }
seconds_since() {
    local elapsed=$(($(now_us) - $1))
    printf '%d.%01d s' $((elapsed / 1000000)) $(((elapsed / 100000) % 10))
}
say() { printf 'fuzz: %s\n' "$*"; }

started="$(now_us)"
mode=ci
seconds=30
replay=()
while (($# > 0)); do
    case "$1" in
        --ci) mode=ci seconds=30 ;;
        --long)
            mode=long seconds=600
            if [[ "${2:-}" =~ ^[0-9]+$ ]]; then
                seconds="$2"
                shift
            fi
            ;;
        --replay)
            mode=replay
            while [[ -n "${2:-}" && "$2" != -- ]]; do
                replay+=("$2")
                shift
            done
            ;;
        --)
            shift
            break
            ;;
        *)
            say "unknown argument '$1'; see the usage at the top of $0"
            exit 2
            ;;
    esac
    shift
done
readonly scratch=.build-fuzz

# -D EVENTBUS_LIBFUZZER makes Sources/EventBusFuzz hand its main over to libFuzzer's driver.
swift build -c release --scratch-path "$scratch" --product EventBusFuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DEVENTBUS_LIBFUZZER
say "build took $(seconds_since "$started")"
fuzzer="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/EventBusFuzz"

# The Swift runtime's crash backtracer would inspect the dying process under AddressSanitizer and
# crash itself, burying the report; libFuzzer and ASan print the stack already.
export SWIFT_BACKTRACE=enable=no
mkdir -p "$scratch/corpus" "$scratch/artifacts"
common=(-artifact_prefix="$scratch/artifacts/" -dict=Tests/Fuzz/envelope.dict -timeout=10 -print_final_stats=1)

status=0
if [[ "$mode" == replay ]]; then
    "$fuzzer" "${common[@]}" "$@" "${replay[@]}" || status=$?
else
    fuzz_started="$(now_us)"
    # The first directory receives new inputs; the seed corpus is only read.
    if [[ "$mode" == ci ]]; then
        # CI keeps the outcome, any report and the final stats, not the thousands of lines of
        # coverage progress (NEW, REDUCE, pulse) libFuzzer prints as it goes.
        set +e
        "$fuzzer" "${common[@]}" -max_total_time="$seconds" "$@" "$scratch/corpus" Tests/Fuzz/corpus 2>&1 |
            grep --line-buffered -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)'
        status=${PIPESTATUS[0]}
        set -e
    else
        "$fuzzer" "${common[@]}" -max_total_time="$seconds" "$@" "$scratch/corpus" Tests/Fuzz/corpus || status=$?
    fi
    say "fuzzing ($mode, ${seconds} s asked) took $(seconds_since "$fuzz_started")"
fi
if ((status != 0)); then
    say "FAILED with status $status: the input that broke a property is in $scratch/artifacts/ (newest file);"
    say "replay it with: scripts/fuzz.sh --replay $scratch/artifacts/<file>"
fi
say "finished with status $status in $(seconds_since "$started")"
exit "$status"
