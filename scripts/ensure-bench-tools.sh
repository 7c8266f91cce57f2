#!/usr/bin/env bash
# Make sure the benchmarks' outside tools are there: wrk (from Debian) for the list-page load,
# and bench/peer/.venv, the throwaway venv of the Django + django-fsm-2 peer (from PyPI, pinned
# in bench/peer/requirements.txt; never a dependency of the app).
#
# `ensure-bench-tools.sh` does both; `ensure-bench-tools.sh peer` only the peer's venv.
# Idempotent and quiet; it never fails the build: what cannot be had is said in one line, and
# bench/list_load.py falls back to its Python client, bench/peer reports itself skipped.
set -u

log() { echo "ensure-bench-tools: $*"; }
root=$(cd "$(dirname "$0")/.." && pwd)

ensure_wrk() {
    if command -v wrk >/dev/null; then
        log "wrk: present"
        return
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        log "cannot install wrk (needs root and apt-get); the list-page load uses its Python client"
        return
    fi
    local aptlog
    aptlog=$(mktemp /tmp/ensure-bench-tools-apt.XXXXXX)
    export DEBIAN_FRONTEND=noninteractive
    if apt-get install -y -qq wrk >"$aptlog" 2>&1 \
            || { apt-get update -qq >>"$aptlog" 2>&1 && apt-get install -y -qq wrk >>"$aptlog" 2>&1; }; then
        log "wrk: installed"
        rm -f "$aptlog"
    else
        log "wrk: could not be installed (see $aptlog); the list-page load uses its Python client"
    fi
}

ensure_peer() {
    local venv="$root/bench/peer/.venv" requirements="$root/bench/peer/requirements.txt"
    # The venv is current when it was made from these very requirements.
    if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$venv/.requirements.txt"; then
        log "peer venv: present"
        return
    fi
    local piplog
    piplog=$(mktemp /tmp/ensure-bench-tools-pip.XXXXXX)
    rm -rf "$venv"
    if python3 -m venv "$venv" >"$piplog" 2>&1 \
            && "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >>"$piplog" 2>&1; then
        cp "$requirements" "$venv/.requirements.txt"
        log "peer venv: made (bench/peer/.venv)"
        rm -f "$piplog"
    else
        rm -rf "$venv"
        log "peer venv: could not be made (see $piplog); the peer benchmark is skipped"
    fi
}

case "${1:-all}" in
    peer) ensure_peer ;;
    *) ensure_wrk; ensure_peer ;;
esac
exit 0
