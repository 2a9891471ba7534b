#!/usr/bin/env bash
# Usage: scripts/brokers.sh start|stop|status [kafka|nats]...
#        scripts/brokers.sh restart-nats
#
# Runs the local brokers the tests and the pressure tool use, in the background, with their PID files,
# logs and data under .brokers/ (git-ignored):
#   kafka  Tansu (.runtime/bin/tansu, from scripts/setup.sh), memory storage, on 127.0.0.1:$EVENTBUS_KAFKA_PORT
#          (default 9092). Topics and offsets are gone after a stop.
#   nats   nats-server 2.15.1 (.runtime/bin/nats-server, from scripts/setup.sh; never Debian's 2.9.10) with
#          JetStream on 127.0.0.1:$EVENTBUS_NATS_PORT (default 4222), store in .brokers/nats-store/.
#          `start` begins with an empty store (set EVENTBUS_NATS_KEEP_STORE=1 to keep it).
# start         starts the named brokers (default: both) and waits until each port accepts connections
#               (EVENTBUS_BROKER_START_TIMEOUT seconds, default 20); a running broker is left alone.
# stop          sends TERM, waits (EVENTBUS_BROKER_STOP_TIMEOUT seconds, default 15), then KILL.
# status        prints each broker's state; exits 0 only when all named brokers are running.
# restart-nats  stops and starts nats-server keeping its store (for reconnect tests).
# Only processes recorded in .brokers/*.pid are ever signalled. See Docs/Operations.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
readonly state="$root/.brokers"
readonly tansu_binary="$root/.runtime/bin/tansu"
readonly nats_binary="$root/.runtime/bin/nats-server"
readonly kafka_port="${EVENTBUS_KAFKA_PORT:-9092}"
readonly nats_port="${EVENTBUS_NATS_PORT:-4222}"
readonly start_timeout="${EVENTBUS_BROKER_START_TIMEOUT:-20}"
readonly stop_timeout="${EVENTBUS_BROKER_STOP_TIMEOUT:-15}"

say() { printf 'brokers: %s\n' "$*"; }
die() {
    printf 'brokers: error: %s\n' "$*" >&2
    exit 1
}

for number in "$kafka_port" "$nats_port" "$start_timeout" "$stop_timeout"; do
    [[ "$number" =~ ^[0-9]+$ ]] || die "not a number: '$number' (check the EVENTBUS_* variables)"
done
for port in "$kafka_port" "$nats_port"; do
    ((port >= 1 && port <= 65535)) || die "not a TCP port: $port (check EVENTBUS_KAFKA_PORT and EVENTBUS_NATS_PORT)"
done

# Microseconds since the epoch, without forking.
now_us() { printf '%s' "${EPOCHREALTIME//[.,]/}"; }

# Succeeds when something accepts TCP connections on 127.0.0.1:$1. Sends no bytes (nats-server logs a
# parser error for a stray newline).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_file() { printf '%s/%s.pid' "$state" "$1"; }
log_file() { printf '%s/%s.log' "$state" "$1"; }
port_of() { if [[ "$1" == kafka ]]; then printf '%s' "$kafka_port"; else printf '%s' "$nats_port"; fi; }
program_of() { if [[ "$1" == kafka ]]; then printf 'tansu'; else printf 'nats-server'; fi; }

# Prints the PID of the named broker when the PID file names a live process running the expected program
# (a PID reused by some other program does not count; neither does a zombie).
running_pid() {
    local file pid exe
    file="$(pid_file "$1")"
    [[ -s "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
    [[ "${exe##*/}" == "$(program_of "$1")" ]] || return 1
    printf '%s' "$pid"
}

# Succeeds when $1 and $2 name the same file (device and inode), following symbolic links.
same_file() { [[ -e "$1" && -e "$2" && "$1" -ef "$2" ]]; }

# Succeeds when process $1 exists and is not a zombie (whatever program it runs).
process_alive() {
    local stat
    [[ "$1" =~ ^[0-9]+$ ]] || return 1
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat="${stat##*) }"
    [[ "${stat%% *}" != Z ]]
}

# Starts one broker unless it is running, then waits until its port accepts connections.
start_one() {
    local name="$1" keep_store="${2:-0}"
    local port pid_path log_path pid
    port="$(port_of "$name")"
    pid_path="$(pid_file "$name")"
    log_path="$(log_file "$name")"
    if pid="$(running_pid "$name")"; then
        local arguments
        arguments="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || true
        if [[ " $arguments" != *"127.0.0.1:$port "* && " $arguments" != *" -p $port "* ]]; then
            die "$name is already running (pid $pid) but not on port $port: $arguments; stop it first"
        fi
        if [[ "$name" == nats ]] && ! same_file "/proc/$pid/exe" "$nats_binary"; then
            die "nats is already running (pid $pid) but from $(readlink "/proc/$pid/exe"), not $nats_binary;" \
                "stop it first (scripts/brokers.sh stop nats)"
        fi
        say "$name already running (pid $pid, 127.0.0.1:$port)"
        return 0
    fi
    rm -f "$pid_path"
    if port_open "$port"; then
        die "127.0.0.1:$port is already in use by a process not started from $state;" \
            "stop it or choose another port (EVENTBUS_$(tr '[:lower:]' '[:upper:]' <<<"$name")_PORT)"
    fi

    local command=()
    case "$name" in
        kafka)
            [[ -x "$tansu_binary" ]] || die "$tansu_binary is missing; run scripts/setup.sh"
            command=("$tansu_binary" broker
                --listener-url "tcp://127.0.0.1:$port"
                --advertised-listener-url "tcp://127.0.0.1:$port"
                --storage-engine "memory://tansu/")
            : >"$log_path"
            ;;
        nats)
            [[ -x "$nats_binary" ]] || die "$nats_binary is missing; run scripts/setup.sh" \
                "(it installs nats-server 2.15.1 there; Debian's 2.9.10 is not used)"
            local store="$state/nats-store"
            if [[ "$keep_store" == 1 || "${EVENTBUS_NATS_KEEP_STORE:-0}" == 1 ]]; then
                printf '\n--- restarted %s, keeping %s ---\n' "$(date -u +%FT%TZ)" "$store" >>"$log_path"
            else
                rm -rf "$store"
                : >"$log_path"
            fi
            mkdir -p "$store"
            command=("$nats_binary" -js -a 127.0.0.1 -p "$port" -sd "$store")
            ;;
    esac

    local began
    began="$(now_us)"
    # setsid: the broker gets its own session, so a Ctrl-C meant for the test run or a closed terminal does
    # not reach it; the scripts stop it by PID. The wrapper writes the broker's own PID (exec keeps it).
    # shellcheck disable=SC2016 # $$ and $0 belong to the inner shell.
    setsid bash -c 'printf "%s\n" "$$" >"$0"; exec "$@"' "$pid_path" "${command[@]}" \
        </dev/null >>"$log_path" 2>&1 &
    disown "$!" # no "Killed" job notice from this shell when the start fails and the broker is killed

    local deadline=$((began + start_timeout * 1000000))
    while :; do
        if pid="$(running_pid "$name")" && port_open "$port"; then
            say "$name started (pid $pid, 127.0.0.1:$port) in $((($(now_us) - began) / 1000)) ms; log $log_path"
            return 0
        fi
        if (($(now_us) > deadline)); then
            printf 'brokers: error: %s did not accept connections on 127.0.0.1:%s within %s s; last log lines:\n' \
                "$name" "$port" "$start_timeout" >&2
            tail -n 20 "$log_path" >&2 || true
            local started_pid=""
            [[ ! -s "$pid_path" ]] || started_pid="$(<"$pid_path")"
            stop_all "$name" >/dev/null 2>&1 || true
            # Still the wrapper shell (exec not yet done), so stop_all did not recognise it: ours all the same.
            if process_alive "$started_pid"; then kill -KILL "$started_pid" 2>/dev/null || true; fi
            rm -f "$pid_path"
            exit 1
        fi
        # Once the wrapper has written the PID file, a dead PID means the broker exited during start.
        if [[ -s "$pid_path" ]] && ! process_alive "$(<"$pid_path")"; then
            sleep 0.1 # let the log catch up with the exit
            printf 'brokers: error: %s exited while starting; last log lines of %s:\n' "$name" "$log_path" >&2
            tail -n 20 "$log_path" >&2 || true
            rm -f "$pid_path"
            exit 1
        fi
        sleep 0.02
    done
}

# Stops the named brokers together: TERM to each, wait for all, KILL what is left.
stop_all() {
    local name pid names=() pids=()
    for name in "$@"; do
        if pid="$(running_pid "$name")"; then
            kill -TERM "$pid" 2>/dev/null || true
            names+=("$name")
            pids+=("$pid")
        else
            [[ ! -e "$(pid_file "$name")" ]] || say "$name not running (removing stale $(pid_file "$name"))"
            rm -f "$(pid_file "$name")"
        fi
    done
    ((${#pids[@]} > 0)) || return 0

    local began deadline index alive killed=0
    began="$(now_us)"
    deadline=$((began + stop_timeout * 1000000))
    while :; do
        alive=0
        for index in "${!pids[@]}"; do
            [[ "$(running_pid "${names[index]}")" == "${pids[index]}" ]] && alive=1
        done
        ((alive)) || break
        if (($(now_us) > deadline)); then
            if ((killed)); then
                die "could not stop ${names[*]} (pids ${pids[*]})"
            fi
            for index in "${!pids[@]}"; do
                if [[ "$(running_pid "${names[index]}")" == "${pids[index]}" ]]; then
                    say "${names[index]} ignored TERM for ${stop_timeout} s; sending KILL to pid ${pids[index]}"
                    kill -KILL "${pids[index]}" 2>/dev/null || true
                fi
            done
            killed=1
            deadline=$(($(now_us) + 5000000))
        fi
        sleep 0.05
    done
    for index in "${!pids[@]}"; do
        rm -f "$(pid_file "${names[index]}")"
    done
    say "stopped ${names[*]} in $((($(now_us) - began) / 1000)) ms"
}

# Prints the state of the named brokers; fails when one of them is not running.
status_all() {
    local name pid port all_running=0
    for name in "$@"; do
        port="$(port_of "$name")"
        if pid="$(running_pid "$name")"; then
            if port_open "$port"; then
                say "$name: running (pid $pid, 127.0.0.1:$port, log $(log_file "$name"))"
            else
                say "$name: running but not accepting connections (pid $pid, 127.0.0.1:$port, log $(log_file "$name"))"
                all_running=1
            fi
        else
            if port_open "$port"; then
                say "$name: stopped (but 127.0.0.1:$port is taken by a process not started from $state)"
            else
                say "$name: stopped"
            fi
            all_running=1
        fi
    done
    return "$all_running"
}

# Turns the optional component arguments into the global list `names` (default both).
names=()
parse_components() {
    (($# > 0)) || set -- kafka nats
    local arg
    for arg in "$@"; do
        case "$arg" in
            kafka | tansu) names+=(kafka) ;;
            nats | nats-server) names+=(nats) ;;
            *) die "unknown broker '$arg' (kafka or nats)" ;;
        esac
    done
}

usage() {
    sed -n '2,3s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

(($# > 0)) || usage
action="$1"
shift
mkdir -p "$state"
case "$action" in
    start)
        parse_components "$@"
        for name in "${names[@]}"; do start_one "$name"; done
        ;;
    stop)
        parse_components "$@"
        stop_all "${names[@]}"
        ;;
    status)
        parse_components "$@"
        status_all "${names[@]}"
        ;;
    restart-nats)
        (($# == 0)) || usage
        stop_all nats
        start_one nats 1
        ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac
