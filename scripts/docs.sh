#!/usr/bin/env bash
# Usage: scripts/docs.sh [--scratch-path DIR]
#
# Builds the DocC documentation of every library module (EventBus, EventBusKafka, EventBusNATS,
# EventBusConformance) with swift-docc-plugin, warnings as errors, so a broken symbol link or an
# undocumented parameter fails. Archives land in <scratch>/plugins/Swift-DocC/outputs/; preview one
# with `swift package --disable-sandbox preview-documentation --target EventBus`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
cd "$root"

swift package "$@" --disable-sandbox generate-documentation \
    --target EventBus --target EventBusKafka --target EventBusNATS --target EventBusConformance \
    --warnings-as-errors
