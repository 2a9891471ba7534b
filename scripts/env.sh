# shellcheck shell=bash
# Usage: source scripts/env.sh        (from bash; the other scripts source it themselves)
#
# Sets up the environment for building, running and testing EventBus against the local brokers:
#   LD_LIBRARY_PATH          .runtime/lib first, so the loader takes librdkafka 2.16 (scripts/setup.sh puts
#                            it there) instead of Debian's 2.0.2, which cannot talk to Tansu.
#   EVENTBUS_KAFKA_BROKERS   default 127.0.0.1:${EVENTBUS_KAFKA_PORT:-9092}
#   EVENTBUS_NATS_URL        default nats://127.0.0.1:${EVENTBUS_NATS_PORT:-4222}
#   EVENTBUS_NATS_SERVER     default .runtime/bin/nats-server (2.15.1, from scripts/setup.sh): the binary the
#                            tests that run a nats-server of their own start (scripts/brokers.sh always
#                            runs .runtime/bin/nats-server).
# Values already set are kept. Sourcing it twice changes nothing.
# No `set -euo pipefail` here on purpose: this file runs inside the caller's shell and must not change its
# options.

eventbus_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eventbus_runtime_lib="$eventbus_root/.runtime/lib"
eventbus_nats_server="$eventbus_root/.runtime/bin/nats-server"

if [[ ! -f "$eventbus_runtime_lib/librdkafka.so.1" ]]; then
    printf 'env.sh: warning: %s/librdkafka.so.1 is missing; run scripts/setup.sh\n' \
        "$eventbus_runtime_lib" >&2
fi
case "${LD_LIBRARY_PATH:-}" in
    "$eventbus_runtime_lib" | "$eventbus_runtime_lib":*) ;;
    *) LD_LIBRARY_PATH="$eventbus_runtime_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
esac
export LD_LIBRARY_PATH

if [[ -z "${EVENTBUS_NATS_SERVER:-}" && ! -x "$eventbus_nats_server" ]]; then
    printf 'env.sh: warning: %s is missing; run scripts/setup.sh\n' "$eventbus_nats_server" >&2
fi
export EVENTBUS_NATS_SERVER="${EVENTBUS_NATS_SERVER:-$eventbus_nats_server}"

export EVENTBUS_KAFKA_BROKERS="${EVENTBUS_KAFKA_BROKERS:-127.0.0.1:${EVENTBUS_KAFKA_PORT:-9092}}"
export EVENTBUS_NATS_URL="${EVENTBUS_NATS_URL:-nats://127.0.0.1:${EVENTBUS_NATS_PORT:-4222}}"

unset eventbus_root eventbus_runtime_lib eventbus_nats_server
