#!/usr/bin/env bash
# Make sure the real servers/browsers the test suite uses are installed:
# PostgreSQL (with contrib, for pg_trgm), Redis and Chromium, from Debian.
#
# Idempotent and quiet: one line per package. It never fails the build: when
# something cannot be installed (not root, no apt, registry unreachable) it
# says so in one line and exits 0, and the tests that need it skip with a reason.
set -u

log() { echo "ensure-services: $*"; }

have_postgresql() {
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null \
        && compgen -G '/usr/share/postgresql/*/extension/pg_trgm.control' >/dev/null
}
have_redis-server() { command -v redis-server >/dev/null; }
have_chromium() { [ -x /usr/bin/chromium ]; }

missing=()
for pkg in postgresql redis-server chromium; do
    if "have_$pkg"; then log "$pkg: present"; else missing+=("$pkg"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    log "cannot install ${missing[*]} (needs root and apt-get); those tests will skip"
    exit 0
fi

# Package post-install scripts would start system-wide daemons on the default
# ports (5432, 6379); the tests start their own throwaway servers instead, so
# forbid service starts for the duration unless a policy is already in place.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi

aptlog=$(mktemp /tmp/ensure-services-apt.XXXXXX)
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >"$aptlog" 2>&1; then
    log "cannot install ${missing[*]}: apt-get update failed ($(tail -n1 "$aptlog")); those tests will skip"
    exit 0
fi
failed=0
for pkg in "${missing[@]}"; do
    if apt-get install -y -qq "$pkg" >>"$aptlog" 2>&1 && "have_$pkg"; then
        log "$pkg: installed"
    else
        log "$pkg: could not be installed (see $aptlog); its tests will skip"
        failed=1
    fi
done
[ "$failed" -eq 0 ] && rm -f "$aptlog"
exit 0
