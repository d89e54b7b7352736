#!/usr/bin/env bash
# Local Postgres and Redis for ReconLayer, on loopback, idempotently.
#
#   deploy/local/services.sh up      reuse what is reachable at DATABASE_URL / REDIS_URL,
#                                    otherwise start a project-local Postgres cluster and
#                                    redis-server (installing redis-server when missing);
#                                    prints the exports on stdout and writes .local/env
#   deploy/local/services.sh down    stop what `up` started (nothing else)
#   deploy/local/services.sh status  say what is reachable
#   deploy/local/services.sh promtool  install promtool (the prometheus package) when missing,
#                                    so the deploy/ tests check the alert rules; `up` does too
#
# The cluster lives in .local/ (git-ignored). It is a disposable development cluster:
# fsync is off for speed. initdb refuses root, so as root the cluster runs as the
# `postgres` user (or a `reconlayer` system user created for it).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state="$root/.local"
DATABASE_URL=${DATABASE_URL:-postgres://reconlayer:reconlayer@127.0.0.1:5432/reconlayer?sslmode=disable}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}

say() { echo "services: $*" >&2; }
die() { echo "services: $*" >&2; exit 1; }

# parse_url URL -> sets u_user u_pass u_host u_port u_path
parse_url() {
  local rest=${1#*://} auth=""
  rest=${rest%%\?*}
  if [[ $rest == *@* ]]; then auth=${rest%@*}; rest=${rest##*@}; fi
  u_user=${auth%%:*}; u_pass=""
  [[ $auth == *:* ]] && u_pass=${auth#*:}
  local hostport=${rest%%/*}
  u_path=""; [[ $rest == */* ]] && u_path=${rest#*/}
  u_host=${hostport%:*}; u_port=""
  [[ $hostport == *:* ]] && u_port=${hostport##*:}
  return 0
}

is_local_host() { [[ $1 == 127.* || $1 == localhost || $1 == "::1" || $1 == "[::1]" ]]; }

# ---------------------------------------------------------------- Postgres

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
    [[ -x $d/initdb ]] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null && { dirname "$(readlink -f "$(command -v initdb)")"; return; }
  return 1
}

psql_bin() {
  command -v psql 2>/dev/null && return
  local d; d=$(pg_bindir) && [[ -x $d/psql ]] && echo "$d/psql"
}

pg_reachable() {
  local psql; psql=$(psql_bin) || return 1
  PGCONNECT_TIMEOUT=3 "$psql" "$DATABASE_URL" -Atqc 'select 1' >/dev/null 2>&1
}

# The user the cluster runs as: ourselves, or an unprivileged one when we are root.
pg_owner() {
  if [[ $(id -u) != 0 ]]; then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; return; fi
  id reconlayer >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin reconlayer
  echo reconlayer
}

as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}

pg_up() {
  if pg_reachable; then say "postgres reachable at $(redact "$DATABASE_URL"), reusing it"; return; fi
  parse_url "$DATABASE_URL"
  is_local_host "$u_host" || die "DATABASE_URL points at $u_host, which is not reachable and not local: start it yourself"
  local port=${u_port:-5432} user=${u_user:-reconlayer} pass=${u_pass:-reconlayer} dbname=${u_path:-reconlayer}
  local bindir; bindir=$(pg_bindir) || die "no PostgreSQL server binaries found (apt-get install postgresql)"
  owner=$(pg_owner)

  local pgdir="$state/pg"
  mkdir -p "$pgdir"
  if [[ $(id -u) == 0 ]]; then
    chown "$owner" "$pgdir"
    runuser -u "$owner" -- test -w "$pgdir" || die "$owner cannot write $pgdir (a parent folder is not traversable); set DATABASE_URL to a running Postgres"
  fi
  local data="$pgdir/data" run="$pgdir/run"
  as_owner mkdir -p "$run"
  if [[ ! -f $data/PG_VERSION ]]; then
    say "initdb into $data (as $owner)"
    as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$pgdir/initdb.log" 2>&1 \
      || die "initdb failed, see $pgdir/initdb.log"
    as_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF
# reconlayer local development cluster (deploy/local/services.sh): disposable, tuned for tests
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$run'
max_connections = 400
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
# Bulk writes (a million-line ledger run stores ~3M rows in one go) would
# otherwise force a checkpoint every few seconds.
max_wal_size = 8GB
CONF
  fi
  if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "starting postgres on 127.0.0.1:$port"
    as_owner "$bindir/pg_ctl" -D "$data" -l "$pgdir/postgres.log" -w -t 60 -o "-p $port" start >/dev/null \
      || die "postgres did not start, see $pgdir/postgres.log"
  fi
  local psql; psql=$(psql_bin)
  local su=("$psql" -h "$run" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq)
  if [[ -z $("${su[@]}" -c "select 1 from pg_roles where rolname = '$user'") ]]; then
    "${su[@]}" -c "create role \"$user\" login createdb password '$pass'"
  fi
  if [[ -z $("${su[@]}" -c "select 1 from pg_database where datname = '$dbname'") ]]; then
    "${su[@]}" -c "create database \"$dbname\" owner \"$user\""
  fi
  pg_reachable || die "postgres started but DATABASE_URL=$(redact "$DATABASE_URL") still fails"
}

pg_down() {
  local data="$state/pg/data" bindir
  [[ -f $data/PG_VERSION ]] || return 0
  bindir=$(pg_bindir) || return 0
  owner=$(stat -c %U "$data")
  if as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null && say "postgres stopped"
  fi
}

# ---------------------------------------------------------------- Redis

# redis_ping HOST PORT: true when something answers PING like Redis (even NOAUTH).
redis_ping() {
  local reply
  { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 3 reply <&3 || reply=""
  exec 3>&- 3<&-
  [[ $reply == +PONG* || $reply == -NOAUTH* ]]
}

redis_up() {
  parse_url "$REDIS_URL"
  local host=${u_host:-127.0.0.1} port=${u_port:-6379}
  [[ $host == localhost ]] && host=127.0.0.1
  if redis_ping "$host" "$port"; then say "redis reachable at $host:$port, reusing it"; return; fi
  is_local_host "$host" || die "REDIS_URL points at $host, which is not reachable and not local: start it yourself"
  if ! command -v redis-server >/dev/null; then
    [[ $(id -u) == 0 ]] || die "redis-server is not installed: sudo apt-get install -y redis-server"
    say "installing redis-server"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq redis-server >"$state/apt.log" 2>&1 \
      || { apt-get update -qq >>"$state/apt.log" 2>&1 && apt-get install -y -qq redis-server >>"$state/apt.log" 2>&1; } \
      || die "could not install redis-server, see $state/apt.log"
  fi
  local dir="$state/redis"
  mkdir -p "$dir"
  say "starting redis on $host:$port"
  # noeviction: Redis is our queue; evicting a task would lose work (DESIGN §1).
  # 256 databases so that parallel tests each get one of their own.
  redis-server --bind "$host" --port "$port" --daemonize yes --dir "$dir" \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --databases 256 \
    --maxmemory-policy noeviction --appendonly yes --save "" >/dev/null
  local i
  for i in $(seq 1 50); do redis_ping "$host" "$port" && return 0; sleep 0.1; done
  die "redis did not answer, see $dir/redis.log"
}

redis_down() {
  local pidfile="$state/redis/redis.pid"
  [[ -f $pidfile ]] || return 0
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    local i; for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    say "redis stopped"
  fi
  rm -f "$pidfile"
}

# ---------------------------------------------------------------- promtool

# promtool_up makes promtool available for the deploy/ tests (alert rules and their unit
# tests). Best effort: without it those tests skip, so a failure here is only a warning.
# The distribution ships promtool only inside the prometheus package, whose install starts
# a prometheus daemon (under systemd, or sysvinit without a denying policy-rc.d); we want
# the tool, not a server, so a daemon that was not running before is stopped again.
promtool_up() {
  command -v promtool >/dev/null && return 0
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    say "warning: promtool not found, the deploy/ rule checks will skip (sudo apt-get install -y --no-install-recommends prometheus)"
    return 0
  fi
  say "installing prometheus (for promtool)"
  local log="$state/apt-prometheus.log" running
  running=$(pidof prometheus || true)
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends prometheus >"$log" 2>&1 \
    && ! { apt-get update -qq >>"$log" 2>&1 && apt-get install -y -qq --no-install-recommends prometheus >>"$log" 2>&1; }; then
    say "warning: could not install prometheus (for promtool), see $log; the deploy/ rule checks will skip"
    return 0
  fi
  if [[ -z $running ]]; then prometheus_daemon_stop; fi
  command -v promtool >/dev/null || say "warning: prometheus installed but promtool is not on PATH"
  return 0
}

# prometheus_daemon_stop stops the daemon the package's install started: the systemd unit,
# or the init script's start-stop-daemon process (pidfile /run/prometheus/prometheus.pid).
prometheus_daemon_stop() {
  if [[ -d /run/systemd/system ]] && systemctl is-active --quiet prometheus 2>/dev/null; then
    if systemctl disable --now --quiet prometheus >>"$state/apt-prometheus.log" 2>&1; then
      say "stopped and disabled the prometheus service the package started"
    else
      say "warning: the prometheus package started a prometheus service; stop it with: systemctl disable --now prometheus"
    fi
    return 0
  fi
  local pidfile=/run/prometheus/prometheus.pid pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    local i; for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    say "stopped the prometheus daemon the package started"
  fi
  rm -f "$pidfile"
}

redact() { sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$1"; }

case ${1:-up} in
  up)
    mkdir -p "$state"
    pg_up
    redis_up
    promtool_up
    # A local HS256 secret for dashboard session tokens (`reconlayer admin
    # session-token`), made once per checkout; production sets its own or a JWKS URL.
    if [[ -z ${RECONLAYER_SESSION_SECRET:-} ]]; then
      [[ -s $state/session-secret ]] || (umask 077; head -c 32 /dev/urandom | base64 | tr -d '\n' >"$state/session-secret")
      RECONLAYER_SESSION_SECRET=$(cat "$state/session-secret")
    fi
    printf 'export DATABASE_URL=%q\nexport REDIS_URL=%q\nexport RECONLAYER_SESSION_SECRET=%q\n' \
      "$DATABASE_URL" "$REDIS_URL" "$RECONLAYER_SESSION_SECRET" | tee "$state/env"
    ;;
  down)
    redis_down
    pg_down
    ;;
  status)
    if pg_reachable; then say "postgres: up ($(redact "$DATABASE_URL"))"; else say "postgres: down"; fi
    parse_url "$REDIS_URL"
    if redis_ping "${u_host:-127.0.0.1}" "${u_port:-6379}"; then say "redis: up ($REDIS_URL)"; else say "redis: down"; fi
    ;;
  promtool)
    mkdir -p "$state"
    promtool_up
    ;;
  *) die "usage: $0 up|down|status|promtool" ;;
esac
