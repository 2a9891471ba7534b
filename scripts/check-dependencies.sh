#!/usr/bin/env bash
# Usage: scripts/check-dependencies.sh
#
# Proves the library's dependency graph is lean: makes a throwaway outside package (in a temporary
# folder) that depends on this checkout by path and uses every library product (EventBus,
# EventBusKafka, EventBusNATS, EventBusConformance), resolves it, and compares the packages
# SwiftPM pinned with the list below: what the libraries import, plus what those packages need
# themselves (swift-async-algorithms comes with swift-service-lifecycle). The tools' and
# benchmarks' dependencies (swift-argument-parser, hdrhistogram-swift, swift-numerics) must not
# appear. Resolving only, no build: about 10 s. Exits 1 on a difference.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root

expected="swift-async-algorithms
swift-collections
swift-distributed-tracing
swift-log
swift-metrics
swift-service-lifecycle"

outside="$(mktemp -d)"
trap 'rm -rf "$outside"' EXIT
mkdir -p "$outside/Sources/Outside"
cat >"$outside/Package.swift" <<EOF
// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Outside",
    dependencies: [.package(name: "EventBus", path: "$root")],
    targets: [
        .target(
            name: "Outside",
            dependencies: [
                .product(name: "EventBus", package: "EventBus"),
                .product(name: "EventBusKafka", package: "EventBus"),
                .product(name: "EventBusNATS", package: "EventBus"),
                .product(name: "EventBusConformance", package: "EventBus"),
            ]
        )
    ]
)
EOF
printf 'import EventBus\n' >"$outside/Sources/Outside/Outside.swift"

if ! (cd "$outside" && swift package resolve >"$outside/resolve.log" 2>&1); then
    cat "$outside/resolve.log"
    printf 'check-dependencies: the outside package did not resolve\n'
    exit 1
fi
pinned="$(sed -n 's/.*"identity" : "\(.*\)".*/\1/p' "$outside/Package.resolved" | sort)"
if [[ "$pinned" != "$expected" ]]; then
    printf 'check-dependencies: an outside package depending on the libraries pinned:\n%s\n' "$pinned"
    printf 'check-dependencies: expected exactly:\n%s\n' "$expected"
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$pinned") || true
    exit 1
fi
printf 'check-dependencies: the libraries resolve %d packages: %s\n' \
    "$(printf '%s\n' "$pinned" | wc -l)" "$(printf '%s' "$pinned" | tr '\n' ' ')"
