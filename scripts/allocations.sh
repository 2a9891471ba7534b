#!/usr/bin/env bash
# Usage: scripts/allocations.sh [--update | --table]
#
# Allocations per message on each backend (Benchmarks/, ordo-one/benchmark with its malloc
# interposer): every sample publishes 1,000 envelopes in one call, alone and with a subscription
# that handles them, and counts the process's mallocs. Without options it checks the counts against
# Benchmarks/Thresholds/ (what scripts/test.sh runs; tolerance 15 % or 200 a sample, set in the
# benchmark): fails on a regression, passes on equal or better (and says so, so the thresholds can
# be tightened). --update rewrites the thresholds from a run; --table prints the full table.
# Needs the brokers (scripts/brokers.sh start) and env.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
cd "$root/Benchmarks"

case "${1:-}" in
    --update) exec swift package --allow-writing-to-package-directory benchmark thresholds update --no-progress ;;
    --table) exec swift package benchmark --no-progress ;;
    "") ;;
    *) sed -n '2p' "$0" >&2; exit 64 ;;
esac

status=0
swift package benchmark thresholds check --no-progress || status=$?
case "$status" in
    0) echo "allocations: every count equals its threshold" ;;
    4) echo "allocations: fewer allocations than the thresholds; scripts/allocations.sh --update can tighten them"; status=0 ;;
    *) echo "allocations: more allocations than Benchmarks/Thresholds allow (status $status)" ;;
esac
exit "$status"
