#!/usr/bin/env bash
# Prepares a Debian machine for Kalency. Used by `make up`, `make test` and CI.
#   tools/setup.sh            Deno (from npm, into .tools/deno) and the Debian packages the system needs
#   tools/setup.sh --tests    also the test tools (chromium, wrk), and makes sure Redis answers on
#                             127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (trust auth for local
#                             connections, a `test` database), starting them when they are not running
# When Deno is not on PATH, says where it is (.tools/deno/node_modules/.bin) and how to add it.
# It changes the authentication of no PostgreSQL it did not create: one that asks for passwords
# is left alone, with a message saying what the tests need.
set -uo pipefail
cd "$(dirname "$0")/.."
tests=false
[ "${1:-}" = "--tests" ] && tests=true
step() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

if ! command -v deno >/dev/null 2>&1 && [ ! -x .tools/deno/node_modules/.bin/deno ]; then
  step "installing Deno from npm into .tools/deno"
  npm install --prefix .tools/deno --no-audit --no-fund --loglevel=error deno@2.9.6 >&2 || exit 1
fi

need=()
fresh_postgres=false
command -v redis-server >/dev/null 2>&1 || need+=(redis-server redis-tools)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { need+=(postgresql); fresh_postgres=true; }
if $tests; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v wrk >/dev/null 2>&1 || need+=(wrk)
  command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || need+=(docker-compose)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Kalency needs these Debian packages: ${need[*]}. Run: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
  step "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq "${need[@]}" >/dev/null || { echo "apt-get install failed" >&2; exit 1; }
fi
if ! command -v deno >/dev/null 2>&1; then
  echo "Deno is in $PWD/.tools/deno/node_modules/.bin (make uses it from there); to type deno yourself:" >&2
  echo "  export PATH=\"$PWD/.tools/deno/node_modules/.bin:\$PATH\"" >&2
fi

# -w: never ask for a password (a prompt would hang with its output thrown away)
pg_ok() { psql -w -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; }
# Debian's new cluster asks for passwords over TCP. A PostgreSQL installed just now for Kalency, or
# a cluster created here, gets trust authentication for local connections; every cluster is
# started. An existing one that asks for passwords keeps its settings, and the tests say so.
local_postgres() {
  pg_ok && return 0
  step "starting PostgreSQL on 127.0.0.1:5432"
  ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
  created=$fresh_postgres
  if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    pg_createcluster "$ver" main >/dev/null && created=true
  fi
  if $created; then
    hba="/etc/postgresql/$ver/main/pg_hba.conf"
    grep -q '^host all all 127.0.0.1/32 trust' "$hba" ||
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
    echo "setup: the new PostgreSQL cluster $ver/main trusts local connections (see $hba)" >&2
  fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null ||
    pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
  for _ in $(seq 1 50); do pg_ok && break; sleep 0.2; done
}
if ! $tests; then
  $fresh_postgres && local_postgres
  exit 0
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  # the same server `deno task up` would start (data in .data/redis, append-only file on): a later
  # `make up` uses it, and its state survives a restart as PostgreSQL's does
  step "starting redis-server on 127.0.0.1:6379 with data in .data/redis"
  mkdir -p .data/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly yes \
    --dir "$PWD/.data/redis" --logfile "$PWD/.data/redis/redis.log"
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi

local_postgres
pg_ok || {
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "PostgreSQL does not answer on 127.0.0.1:5432 (pg_lsclusters shows the clusters; start one)" >&2
    exit 1
  fi
  echo "PostgreSQL on 127.0.0.1:5432 does not let user postgres in without a password. The tests need" >&2
  echo "trust authentication for local connections: add 'host all all 127.0.0.1/32 trust' at the top of" >&2
  echo "its pg_hba.conf and reload it (setup changes no server it did not create)." >&2
  exit 1
}
psql -w -h 127.0.0.1 -U postgres -d postgres -Atqc "select 1 from pg_database where datname='test'" | grep -q 1 ||
  psql -w -h 127.0.0.1 -U postgres -d postgres -qc 'create database test'
exit 0
