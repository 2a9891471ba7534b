#!/usr/bin/env bash
# Usage: scripts/test.sh [swift test arguments...]     e.g. scripts/test.sh --filter NativeLibrarySmokeTests
#
# Runs the whole test suite against real brokers, the way CI does (.ci/run):
#   scripts/setup.sh, source scripts/env.sh, scripts/brokers.sh start, then
#   EVENTBUS_REQUIRE_BROKERS=1 swift test -c release --disable-testable-imports "$@".
# Without arguments it first builds the library targets in debug (into .build-debug), checks that
# an outside package depending on them resolves only their dependencies (scripts/check-dependencies.sh,
# about 10 s), builds the DocC documentation with warnings as errors (scripts/docs.sh), builds the
# exporter example package (Examples/Observability, swift-prometheus; 82-135 s cold on a busy 2-core
# machine, about 70 s of CPU; a few seconds warm), and runs the
# codec's short fuzz run (scripts/fuzz.sh --ci, no brokers needed: 91 s from a cold .build-fuzz here,
# 60 s of it the build), then runs everything but the PerformanceRegression suites, restarts the
# brokers, then runs those suites, so they measure clean brokers rather than the tests before them,
# and then the allocation counts (scripts/allocations.sh, the Benchmarks package: about 4 min to
# build cold, 1 min to run).
# A fuzz failure (crash, sanitizer report or broken property) fails the run, after the tests ran too.
# Release mode because the PerformanceRegression suites measure speed. `swift test` would otherwise compile
# every module with -enable-testing, which is not the code users get and does not share build products with
# `swift build -c release` / scripts/pressure.sh (each switch would rebuild everything); so tests cannot use
# `@testable import`. The brokers are stopped on exit, also after a failure or Ctrl-C, unless
# EVENTBUS_KEEP_BROKERS=1. Exits with swift test's status and prints the elapsed time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
cd "$root"

now_us() { printf '%s' "${EPOCHREALTIME//[.,]/}"; }
seconds_since() {
    local elapsed=$(($(now_us) - $1))
    printf '%d.%01d s' $((elapsed / 1000000)) $(((elapsed / 100000) % 10))
}
say() { printf 'test: %s\n' "$*"; }

started="$(now_us)"
brokers_started=0
fuzz_status=0

# shellcheck disable=SC2317 # called by the EXIT trap, which shellcheck 0.9 does not see
finish() {
    local status=$?
    trap - EXIT INT TERM
    if ((brokers_started)); then
        if [[ "${EVENTBUS_KEEP_BROKERS:-0}" == 1 ]]; then
            say "leaving the brokers running (EVENTBUS_KEEP_BROKERS=1); stop them with scripts/brokers.sh stop"
        else
            if ((status != 0)) && [[ "${CI:-}" == true ]]; then
                local log
                for log in .brokers/*.log; do
                    [[ -f "$log" ]] || continue
                    say "last lines of $log:"
                    tail -n 40 "$log" || true
                done
            fi
            if ! ./scripts/brokers.sh stop; then
                say "error: could not stop the brokers; see scripts/brokers.sh status"
                ((status != 0)) || status=1
            fi
        fi
    fi
    say "finished with status $status in $(seconds_since "$started")"
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The release test build below refuses `@testable import` only after minutes of compiling; say so
# at once instead.
if testable="$(grep -rln --include='*.swift' '^[[:space:]]*@testable[[:space:]]\+import' Tests)"; then
    say "error: tests cannot use @testable imports (built with --disable-testable-imports); use package access:"
    printf '%s\n' "$testable" >&2
    exit 1
fi

./scripts/setup.sh
# shellcheck source=scripts/env.sh
source ./scripts/env.sh

if (($# == 0)); then
    # Users build in debug (`swift build`'s default) while everything below runs in release; a
    # debug-only compiler hang once slipped through, so the library targets are built that way too.
    debug_started="$(now_us)"
    # Library products are automatic, which `--product` refuses (it would build everything): the
    # library targets are built instead.
    for target in EventBus EventBusKafka EventBusNATS; do
        swift build --scratch-path .build-debug --target "$target"
    done
    say "debug build of the libraries took $(seconds_since "$debug_started")"
    # A package using the libraries must not resolve the tools' dependencies (issue 14).
    ./scripts/check-dependencies.sh
    # DocC for every library module, warnings as errors, on the debug build just made.
    docs_started="$(now_us)"
    if ! ./scripts/docs.sh --scratch-path .build-debug >.build-debug/docs.log 2>&1; then
        cat .build-debug/docs.log
        say "error: the documentation did not build without warnings (scripts/docs.sh)"
        exit 1
    fi
    say "documentation of the four library modules built in $(seconds_since "$docs_started")"
    # The exporter example is a package of its own (the libraries never depend on swift-prometheus);
    # building it keeps it in step with the API (Docs/Observability.md, "Example: a real exporter").
    example_started="$(now_us)"
    swift build --package-path Examples/Observability
    say "the observability example (Examples/Observability) built in $(seconds_since "$example_started")"
    # Before the brokers start: it needs none, and it should not keep them waiting.
    ./scripts/fuzz.sh --ci || fuzz_status=$?
fi

if [[ "${CI:-}" == true ]]; then
    swift --version 2>&1 | sed -n 1p
    say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
fi

brokers_started=1
./scripts/brokers.sh start
export EVENTBUS_REQUIRE_BROKERS=1
say "brokers: kafka $EVENTBUS_KAFKA_BROKERS, nats $EVENTBUS_NATS_URL; setup and start took $(seconds_since "$started")"

tests_started="$(now_us)"
status=0
if (($# > 0)); then
    swift test -c release --disable-testable-imports "$@" || status=$?
else
    # The performance suites run last, on freshly started brokers: Tansu keeps every topic of the
    # functional tests in memory and slows as it fills, which would measure the tests before them.
    swift test -c release --disable-testable-imports --skip PerformanceRegression || status=$?
    say "functional tests exited with $status after $(seconds_since "$tests_started"); restarting the brokers"
    ./scripts/brokers.sh stop
    ./scripts/brokers.sh start
    swift test -c release --disable-testable-imports --skip-build --filter PerformanceRegression || status=$?
    # Allocations per message against Benchmarks/Thresholds (a package of its own, built here).
    allocations_started="$(now_us)"
    ./scripts/allocations.sh || status=$?
    say "allocation counts checked in $(seconds_since "$allocations_started")"
fi
say "swift test exited with $status after $(seconds_since "$tests_started")"
if ((fuzz_status != 0)); then
    say "the codec fuzz run (scripts/fuzz.sh --ci) failed with status $fuzz_status; see its output above"
    ((status != 0)) || status=$fuzz_status
fi
exit "$status"
