#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster:
#   scripts/with-postgres.sh CMD ARGS...
# Installs Debian's postgresql when missing (as root), starts a cluster as an unprivileged user on
# a free local port, exports SHULIAN_TEST_DATABASE_URL, runs CMD, then stops and deletes the
# cluster. Without root and without PostgreSQL it skips with a message; under CI it fails instead.
set -euo pipefail

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
skip() {
  echo "PostgreSQL leg SKIPPED: $1"
  if [ "${CI:-}" = "true" ]; then echo "CI never skips the PostgreSQL leg."; exit 1; fi
  exit 0
}

pgbin=$(find_bin)
if [ -z "$pgbin" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's postgresql for the PostgreSQL leg..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pgbin=$(find_bin)
  fi
  [ -n "$pgbin" ] || skip "PostgreSQL is not installed (Debian: apt-get install postgresql)."
fi

work=$(mktemp -d /tmp/shulian-pg.XXXXXX)
runas=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root: the cluster belongs to an unprivileged account.
  user=postgres
  id "$user" >/dev/null 2>&1 || { user=shulian-pg; id "$user" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$user"; }
  chown "$user" "$work"
  runas=(runuser -u "$user" --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cleanup() {
  "${runas[@]}" "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"${runas[@]}" "$pgbin/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
"${runas[@]}" "$pgbin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o \
  "-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
"$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres shulian_test
export SHULIAN_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/shulian_test"
echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') throwaway cluster on 127.0.0.1:$port"
"$@"
