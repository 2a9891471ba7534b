#!/usr/bin/env bash
# Usage: scripts/allocations.sh [--update | --table]
#
# Allocations per message on each backend (Benchmarks/, ordo-one/benchmark with its malloc
# interposer): every sample publishes 1,000 envelopes in one call, alone and with a subscription
# that handles them, and counts the process's mallocs. Without options it checks the counts against
# Benchmarks/Thresholds/ (what scripts/test.sh runs; tolerances set in the benchmark: in memory half
# or 100 a sample, brokers 15 % or 5,000): fails on a regression, passes on equal or better (and says so, so the thresholds can
# be tightened). --update rewrites the thresholds from a run; --table prints the full table.
# Needs the brokers (scripts/brokers.sh start); sources scripts/env.sh itself (librdkafka 2.16 first on
# the loader path: Debian's 2.0.2 cannot talk to Tansu).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
# shellcheck source=scripts/env.sh
source "$root/scripts/env.sh"
cd "$root/Benchmarks"

case "${1:-}" in
    --update) exec swift package --allow-writing-to-package-directory benchmark thresholds update --no-progress ;;
    --table) exec swift package benchmark --no-progress ;;
    "") ;;
    *) sed -n '2p' "$0" >&2; exit 64 ;;
esac

# The plugin turns the tool's exit code (0 equal, 2 regression, 4 improvement) into 1 for both of the
# last two, so the verdict is read from what it prints.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
swift package benchmark thresholds check --no-progress 2>&1 | tee "$log" || status=$?
if ((status == 0)); then
    echo "allocations: every count is within its threshold"
elif grep -q "benchmarkThresholdImprovement" "$log" && ! grep -q "benchmarkThresholdRegression" "$log"; then
    echo "allocations: fewer allocations than the thresholds; scripts/allocations.sh --update can tighten them"
    status=0
else
    echo "allocations: more allocations than Benchmarks/Thresholds allow, or the check failed (status $status)"
fi
exit "$status"
