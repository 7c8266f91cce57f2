#!/usr/bin/env bash
# Make sure the load generator the benchmarks use is installed: wrk, from Debian.
#
# Idempotent and quiet; it never fails the build: without wrk (not root, no apt, registry
# unreachable) it says so in one line and bench/list_load.py falls back to its Python client.
set -u

log() { echo "ensure-bench-tools: $*"; }

if command -v wrk >/dev/null; then
    log "wrk: present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    log "cannot install wrk (needs root and apt-get); the list-page load uses its Python client"
    exit 0
fi
aptlog=$(mktemp /tmp/ensure-bench-tools-apt.XXXXXX)
export DEBIAN_FRONTEND=noninteractive
if apt-get install -y -qq wrk >"$aptlog" 2>&1 \
        || { apt-get update -qq >>"$aptlog" 2>&1 && apt-get install -y -qq wrk >>"$aptlog" 2>&1; }; then
    log "wrk: installed"
    rm -f "$aptlog"
else
    log "wrk: could not be installed (see $aptlog); the list-page load uses its Python client"
fi
exit 0
