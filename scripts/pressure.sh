#!/usr/bin/env bash
# Usage: scripts/pressure.sh [eventbus-pressure arguments...]     e.g. scripts/pressure.sh --backend kafka
#
# Runs the pressure tool: scripts/setup.sh, source scripts/env.sh, then
# `swift build -c release` and the eventbus-pressure binary with "$@". When --backend names kafka, nats or all, the brokers are
# started first and stopped afterwards, also after a failure or Ctrl-C (unless EVENTBUS_KEEP_BROKERS=1 or
# they were already running before).
#
# Only the tool's report goes to stdout (the table, or the JSON document with --json, so
# `scripts/pressure.sh --json | jq` works); set-up, broker and build lines go to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
cd "$root"

# fd 3 is the caller's stdout, kept for the report; everything else writes to stderr.
exec 3>&1 1>&2

say() { printf 'pressure: %s\n' "$*"; }

# Which brokers the arguments ask for: --backend NAME or --backend=NAME (a comma list works too).
backend=""
args=("$@")
for ((index = 0; index < ${#args[@]}; index++)); do
    case "${args[index]}" in
        --backend=*) backend="${args[index]#--backend=}" ;;
        --backend) backend="${args[index + 1]:-}" ;;
    esac
done
brokers=()
case ",$backend," in *,all,*) brokers=(kafka nats) ;; esac
case ",$backend," in *,kafka,*) brokers+=(kafka) ;; esac
case ",$backend," in *,nats,*) brokers+=(nats) ;; esac
mapfile -t brokers < <(printf '%s\n' "${brokers[@]+"${brokers[@]}"}" | sed '/^$/d' | sort -u)

./scripts/setup.sh
# shellcheck source=scripts/env.sh
source ./scripts/env.sh

started_here=()
# shellcheck disable=SC2317 # called by the EXIT trap, which shellcheck 0.9 does not see
finish() {
    local status=$?
    trap - EXIT INT TERM
    if ((${#started_here[@]} > 0)); then
        if [[ "${EVENTBUS_KEEP_BROKERS:-0}" == 1 ]]; then
            say "leaving ${started_here[*]} running (EVENTBUS_KEEP_BROKERS=1)"
        else
            ./scripts/brokers.sh stop "${started_here[@]}" || status=$((status == 0 ? 1 : status))
        fi
    fi
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for broker in "${brokers[@]+"${brokers[@]}"}"; do
    if ./scripts/brokers.sh status "$broker" >/dev/null; then
        say "$broker already running; leaving it running afterwards"
    else
        started_here+=("$broker")
        ./scripts/brokers.sh start "$broker"
    fi
done

status=0
swift build -c release --product eventbus-pressure
bin_path="$(swift build -c release --show-bin-path)"
"$bin_path/eventbus-pressure" "$@" >&3 || status=$?
exit "$status"
