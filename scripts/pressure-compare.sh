#!/usr/bin/env bash
# Usage: scripts/pressure-compare.sh [--rounds N] [--out DIR] BEFORE_REV [eventbus-pressure arguments...]
#        e.g. scripts/pressure-compare.sh --rounds 20 d346350 --backend nats --level all
#
# Side-by-side pressure runs of two builds on the same brokers: BEFORE_REV (any git revision, built in
# a worktree under .compare/) against the working tree, alternating before/after in every round so
# that slow drift (brokers filling up, other load) hits both alike. Each run's JSON report goes to
# DIR (default .compare/runs-<time>), and the summary prints, per level, the median throughput of each
# side, the change, and a bootstrap 95 % interval of the ratio of medians (5,000 resamples), because
# on two shared cores single runs spread by +-20 %; and the median process CPU per message, which
# other load on the machine moves far less than throughput.
#
# The brokers must already run (scripts/brokers.sh start); python3 summarises.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
cd "$root"

rounds=10
out=""
while (($# > 0)); do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) break ;;
    esac
done
if (($# < 1)); then
    sed -n '2,3p' "$0" >&2
    exit 64
fi
before_rev="$1"
shift
out="${out:-.compare/runs-$(date -u +%Y%m%dT%H%M%S)}"
mkdir -p "$out"

# shellcheck source=scripts/env.sh
source ./scripts/env.sh

before_tree=".compare/$(git rev-parse --short "$before_rev")"
if [[ ! -d "$before_tree" ]]; then
    git worktree add --detach "$before_tree" "$before_rev" >&2
fi
echo "compare: building $before_rev in $before_tree and the working tree (release)" >&2
(cd "$before_tree" && swift build -c release --product eventbus-pressure >&2)
swift build -c release --product eventbus-pressure >&2
before_bin="$before_tree/.build/release/eventbus-pressure"
after_bin=".build/release/eventbus-pressure"

for round in $(seq 1 "$rounds"); do
    echo "compare: round $round of $rounds" >&2
    "$before_bin" "$@" --json 2>/dev/null >"$out/before.$round.json" || echo "compare: before run $round failed" >&2
    "$after_bin" "$@" --json 2>/dev/null >"$out/after.$round.json" || echo "compare: after run $round failed" >&2
done

python3 - "$out" <<'EOF'
import glob, json, random, statistics, sys

out = sys.argv[1]

def load(side):
    rows = {}
    for path in glob.glob(f"{out}/{side}.*.json"):
        try:
            document = json.load(open(path))
        except ValueError:
            continue
        reports = document if isinstance(document, list) else document.get("reports", [])
        for report in reports:
            key = (report["backend"], report["level"])
            rows.setdefault(key, []).append(report)
    return rows

before, after = load("before"), load("after")
random.seed(1)
print("| backend | level | runs | before msg/s | after msg/s | change | 95 % interval | before p99 ms | after p99 ms | before / after CPU µs/msg | dups | order |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for key in sorted(before, key=lambda k: (k[0], ["low", "medium", "high", "extreme"].index(k[1]) if k[1] in ["low", "medium", "high", "extreme"] else 9)):
    if key not in after:
        continue
    b = [r["throughput"] for r in before[key]]
    a = [r["throughput"] for r in after[key]]
    ratios = sorted(
        statistics.median(random.choices(a, k=len(a))) / statistics.median(random.choices(b, k=len(b))) - 1
        for _ in range(5000))
    p99b = statistics.median(r["latencyP99Milliseconds"] for r in before[key])
    p99a = statistics.median(r["latencyP99Milliseconds"] for r in after[key])
    cpub = statistics.median(r["cpuMicrosecondsPerMessage"] for r in before[key])
    cpua = statistics.median(r["cpuMicrosecondsPerMessage"] for r in after[key])
    dups = sum(r["duplicates"] for r in before[key] + after[key])
    order = sum(r["orderViolations"] for r in before[key] + after[key])
    change = statistics.median(a) / statistics.median(b) - 1
    print(f"| {key[0]} | {key[1]} | {len(b)}/{len(a)} | {statistics.median(b):,.0f} | {statistics.median(a):,.0f} "
          f"| {change:+.1%} | {ratios[125]:+.0%} .. {ratios[4874]:+.0%} | {p99b:.1f} | {p99a:.1f} | {cpub:.2f} / {cpua:.2f} | {dups} | {order} |")
EOF
