#!/usr/bin/env bash
# Spunto local test infrastructure: Docker engine, registry, PostgreSQL, Redis,
# Pebble (ACME) + pebble-challtestsrv (mock DNS), and busybox-based test images.
#
# Usage: scripts/infra.sh [up|check|images|push-web TAG MESSAGE|selftest|down|env]
# See scripts/README.md. Everything lives in the state dir (below); nothing is
# written into the repository.
set -euo pipefail

# --------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export DOCKER_HOST=unix:///var/run/docker.sock
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH || true
# Never let host proxies interfere with loopback health checks.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

STATE="${SPUNTO_INFRA_DIR:-${TMPDIR:-/tmp}/spunto-infra}"
REGISTRY_PORT="${SPUNTO_TEST_REGISTRY_PORT:-5000}"
PG_PORT="${SPUNTO_TEST_PG_PORT:-55432}"
REDIS_PORT="${SPUNTO_TEST_REDIS_PORT:-56379}"
PEBBLE_PORT="${SPUNTO_TEST_PEBBLE_PORT:-14000}"
PEBBLE_MGMT_PORT="${SPUNTO_TEST_PEBBLE_MGMT_PORT:-15000}"
PEBBLE_HTTP_PORT="${SPUNTO_TEST_PEBBLE_HTTP_PORT:-5002}"
PEBBLE_TLS_PORT="${SPUNTO_TEST_PEBBLE_TLS_PORT:-5001}"
PEBBLE_AUTHZREUSE="${SPUNTO_TEST_PEBBLE_AUTHZREUSE:-0}"
DNS_PORT="${SPUNTO_TEST_DNS_PORT:-8053}"
CHALL_PORT="${SPUNTO_TEST_CHALLTESTSRV_PORT:-8055}"
DOCKERD_FLAGS="${SPUNTO_DOCKERD_FLAGS:-}"   # extra dockerd flags (word-split)

DOCKER_SOCK=/var/run/docker.sock
REGISTRY="127.0.0.1:${REGISTRY_PORT}"
IMAGE_BUSYBOX=spunto-test/busybox:latest
IMAGE_WEB=spunto-test/web:latest
REMOTE_BUSYBOX="${REGISTRY}/spunto/busybox:latest"
REMOTE_WEB_REPO="${REGISTRY}/spunto/web"
# Bump when the image contents below change; images with another rev are rebuilt.
IMAGE_REV=2
IMAGE_LABEL=io.spunto.test.rev
PG_USER=spunto PG_PASS=spunto PG_DB=spunto_test
MANIFEST_ACCEPT='application/vnd.docker.distribution.manifest.v2+json'

IS_ROOT=0; [[ $(id -u) -eq 0 ]] && IS_ROOT=1

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
say() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }
die() { warn "infra.sh: $*"; exit 1; }

# fail COMPONENT LOGFILE MESSAGE: print message + log tail and exit 1
fail() {
  local comp=$1 log=$2; shift 2
  warn "$comp: FAILED: $*"
  if [[ -n $log && -s $log ]]; then
    warn "---- last lines of $log ----"
    tail -n 40 "$log" >&2 || true
    warn "----"
  fi
  exit 1
}

# Log a command's output into a log file (with a header line).
logrun() { # LOG CMD...
  local log=$1; shift
  printf '\n[%s] $ %s\n' "$(date '+%F %T')" "$*" >>"$log"
  "$@" >>"$log" 2>&1
}

# Close every fd > 2 of the current (sub)shell, so daemons we start do not
# inherit our lock fd or a caller's pipes.
close_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    [[ $fd =~ ^[0-9]+$ && $fd -gt 2 ]] || continue
    eval "exec $fd>&-" 2>/dev/null || true
  done
}

# spawn LOGFILE CMD... : start CMD detached (own session, stdio -> log).
# Sets SPAWNED_PID.
SPAWNED_PID=
spawn() {
  local log=$1; shift
  printf '\n[%s] starting: %s\n' "$(date '+%F %T')" "$*" >>"$log"
  (
    close_fds
    cd /
    exec setsid "$@" </dev/null >>"$log" 2>&1
  ) &
  SPAWNED_PID=$!
}

# run CMD with fds > 2 closed and stdin from /dev/null (for self-daemonizing tools)
run_clean() { ( close_fds; cd /; exec "$@" </dev/null ); }

# pid_of PIDFILE NAME: print the pid if the pidfile names a live process whose
# comm starts with NAME (guards against pid reuse).
pid_of() {
  local f=$1 name=$2 pid comm
  [[ -r $f ]] || return 1
  pid=$(head -n1 "$f" 2>/dev/null | tr -dc '0-9')
  [[ -n $pid ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "${name:0:15}"* ]] || return 1
  printf '%s\n' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS PID_OR_EMPTY CHECK_CMD...: poll CHECK_CMD every 0.2 s.
# Returns 2 if PID (when given) died before the check passed, 1 on timeout.
wait_for() {
  local secs=$1 pid=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  while :; do
    "$@" && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      "$@" && return 0
      return 2
    fi
    (( $(date +%s) >= deadline )) && return 1
    sleep 0.2
  done
}

ensure_state_dir() {
  mkdir -p "$STATE" || die "cannot create state dir $STATE"
  STATE=$(cd "$STATE" && pwd -P)
  # The env file has no quoting, and paths go into JSON/YAML configs.
  [[ $STATE =~ ^[A-Za-z0-9_./@+:=-]+$ ]] \
    || die "state dir path '$STATE' contains unsupported characters (use SPUNTO_INFRA_DIR=/some/plain/path)"
  mkdir -p "$STATE/logs" "$STATE/run"
  LOG="$STATE/logs/infra.log"
  touch "$LOG" 2>/dev/null || LOG=/dev/null   # e.g. `check` by another user
}

LOCK_HELD=0
take_lock() {
  [[ $LOCK_HELD -eq 1 ]] && return 0
  exec 9>"$STATE/run/infra.lock"
  if ! flock -n 9; then
    say "infra: waiting for another infra.sh run to finish..."
    flock -w 900 9 || die "timed out waiting for lock $STATE/run/infra.lock"
  fi
  LOCK_HELD=1
}

# --------------------------------------------------------------------------
# packages
# --------------------------------------------------------------------------
PG_BIN=
find_pg_bin() {
  [[ -n $PG_BIN ]] && return 0
  local d
  PG_BIN=$(for d in /usr/lib/postgresql/*/bin; do
             [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]] && echo "$d"
           done | sort -V | tail -n1 || true)
  [[ -n $PG_BIN ]]
}

busybox_static_ok() {
  [[ -x /bin/busybox ]] || return 1
  # A dynamically linked busybox carries the ELF interpreter path.
  ! grep -qa -m1 '/lib64/ld-linux\|/lib/ld-linux\|ld-musl' /bin/busybox
}

# Prints the Debian packages that are missing (one per line).
missing_packages() {
  command -v dockerd >/dev/null && command -v docker >/dev/null || echo docker.io
  busybox_static_ok || echo busybox-static
  command -v docker-registry >/dev/null || echo docker-registry
  command -v pebble >/dev/null && command -v pebble-challtestsrv >/dev/null || echo pebble
  find_pg_bin || echo postgresql
  command -v redis-server >/dev/null || echo redis-server
  command -v nginx >/dev/null || echo nginx-light
  command -v wrk >/dev/null || echo wrk
  command -v curl >/dev/null || echo curl
  command -v openssl >/dev/null || echo openssl
  command -v flock >/dev/null && command -v setsid >/dev/null || echo util-linux
  return 0
}

ensure_packages() {
  local missing
  missing=$(missing_packages | sort -u | tr '\n' ' ')
  missing=${missing% }
  if [[ -z $missing ]]; then
    say "packages: ok"
    return 0
  fi
  if [[ $IS_ROOT -ne 1 ]] || ! command -v apt-get >/dev/null; then
    warn "packages: MISSING: $missing"
    warn "install them with:"
    warn "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y $missing"
    exit 1
  fi
  say "packages: installing $missing"
  # Keep apt from starting the distro's own services (docker-registry would
  # grab :5000, etc.) unless the machine already has a policy in place.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, created by spunto scripts/infra.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  local rc=0
  logrun "$LOG" apt-get update || rc=$?
  if [[ $rc -eq 0 ]]; then
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 logrun "$LOG" apt-get install -y $missing || rc=$?
  fi
  [[ $created_policy -eq 1 ]] && rm -f "$policy"
  [[ $rc -eq 0 ]] || fail packages "$LOG" "apt-get failed (rc=$rc)"
  missing=$(missing_packages | sort -u | tr '\n' ' ')
  [[ -z ${missing% } ]] || fail packages "$LOG" "still missing after install: $missing"
  say "packages: installed"
}

# --------------------------------------------------------------------------
# docker engine
# --------------------------------------------------------------------------
docker_ok() {
  curl -fsS -m 3 --unix-socket "$DOCKER_SOCK" http://localhost/_ping >/dev/null 2>&1
}

DOCKERD_PIDFILE= DOCKERD_LOG=
start_dockerd() { # extra flags...
  local -a flags=(
    --host "unix://$DOCKER_SOCK"
    --pidfile "$DOCKERD_PIDFILE"
    --data-root "${SPUNTO_DOCKER_DATA_ROOT:-$STATE/docker/data}"
  )
  # shellcheck disable=SC2206
  [[ -n $DOCKERD_FLAGS ]] && flags+=($DOCKERD_FLAGS)
  flags+=("$@")
  spawn "$DOCKERD_LOG" dockerd "${flags[@]}"
  local rc=0
  wait_for 60 "$SPAWNED_PID" docker_ok || rc=$?
  return $rc
}

ensure_docker() {
  DOCKERD_PIDFILE="$STATE/run/dockerd.pid"
  DOCKERD_LOG="$STATE/logs/dockerd.log"
  if docker_ok; then
    say "docker: up (already running)"
    return 0
  fi
  local pid
  if pid=$(pid_of "$DOCKERD_PIDFILE" dockerd); then
    # Ours, but not answering (yet): give it the normal start-up time.
    if wait_for 60 "$pid" docker_ok; then say "docker: up (already running)"; return 0; fi
    fail docker "$DOCKERD_LOG" "dockerd (pid $pid, started by infra.sh) is not answering; try: $0 down"
  fi
  if [[ -S $DOCKER_SOCK ]] && [[ ! -w $DOCKER_SOCK ]]; then
    die "docker: $DOCKER_SOCK exists but is not accessible for $(id -un) (docker group?)"
  fi
  [[ $IS_ROOT -eq 1 ]] || die "docker: engine not running and starting dockerd needs root"
  mkdir -p "$STATE/docker"
  local rc=0
  start_dockerd || rc=$?
  if [[ $rc -eq 0 ]]; then
    say "docker: up (started)"
    return 0
  fi
  if [[ $rc -eq 2 && -z $DOCKERD_FLAGS ]]; then
    # dockerd died early: retry once without iptables management (sandboxes
    # without netfilter). Loopback port publishing then relies on docker-proxy.
    printf '\n[%s] dockerd exited early; retrying with --iptables=false\n' "$(date '+%F %T')" >>"$DOCKERD_LOG"
    rc=0
    start_dockerd --iptables=false || rc=$?
    if [[ $rc -eq 0 ]]; then
      say "docker: up (started with --iptables=false)"
      return 0
    fi
  fi
  [[ $rc -eq 1 && -n $SPAWNED_PID ]] && kill "$SPAWNED_PID" 2>/dev/null || true
  fail docker "$DOCKERD_LOG" "dockerd did not answer on $DOCKER_SOCK"
}

# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------
registry_ok() {
  curl -fsS -m 3 -o /dev/null "http://$REGISTRY/v2/" 2>/dev/null
}

ensure_registry() {
  local dir="$STATE/registry" pidfile="$STATE/run/registry.pid" log="$STATE/logs/registry.log" pid
  if registry_ok; then
    if pid_of "$pidfile" docker-registry >/dev/null; then
      say "registry: up (already running)"
    else
      say "registry: up (already running, not started by infra.sh)"
    fi
    return 0
  fi
  if pid=$(pid_of "$pidfile" docker-registry); then
    wait_for 20 "$pid" registry_ok && { say "registry: up (already running)"; return 0; }
    fail registry "$log" "registry (pid $pid) is not answering; try: $0 down"
  fi
  port_open "$REGISTRY_PORT" && fail registry "" "port $REGISTRY_PORT is in use by something that is not a registry"
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<EOF
# generated by scripts/infra.sh
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$REGISTRY_PORT
  secret: spunto-test-registry
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  spawn "$log" docker-registry serve "$dir/config.yml"
  echo "$SPAWNED_PID" >"$pidfile"
  local rc=0
  wait_for 30 "$SPAWNED_PID" registry_ok || rc=$?
  [[ $rc -eq 0 ]] || fail registry "$log" "registry did not answer on http://$REGISTRY/v2/"
  say "registry: up (started)"
}

# --------------------------------------------------------------------------
# postgres
# --------------------------------------------------------------------------
PGDIR= PGDATA= PGSOCK= PGLOG=
pg_paths() {
  PGDIR="$STATE/postgres"
  PGDATA="$PGDIR/data"
  PGSOCK="$PGDIR/run"
  PGLOG="$STATE/logs/postgres.log"
}

as_pg() {
  if [[ $IS_ROOT -eq 1 ]]; then
    ( close_fds; cd /; exec runuser -u postgres -- "$@" )
  else
    ( close_fds; cd /; exec "$@" )
  fi
}

pg_ok() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

pg_owned() { [[ -S "$PGSOCK/.s.PGSQL.$PG_PORT" ]]; }

pg_ensure_role_db() {
  as_pg "$PG_BIN/psql" -h "$PGSOCK" -p "$PG_PORT" -d postgres -X -q -v ON_ERROR_STOP=1 >>"$PGLOG" 2>&1 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASS';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB')\gexec
SQL
}

pg_password_ok() {
  PGPASSWORD=$PG_PASS PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -A -t \
    "postgresql://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB" -c 'select 1' >/dev/null 2>&1
}

ensure_postgres() {
  pg_paths
  find_pg_bin || die "postgres: server binaries not found (package postgresql)"
  if pg_ok; then
    if pg_owned; then
      pg_ensure_role_db || fail postgres "$PGLOG" "could not create role/database"
      say "postgres: up (already running)"
    else
      say "postgres: up (already running, not started by infra.sh)"
    fi
    return 0
  fi
  port_open "$PG_PORT" && fail postgres "" "port $PG_PORT is in use by something that is not PostgreSQL"

  local owner
  if [[ $IS_ROOT -eq 1 ]]; then
    id postgres >/dev/null 2>&1 || die "postgres: system user 'postgres' does not exist"
    owner=postgres
  else
    owner=$(id -un)
  fi
  mkdir -p "$PGDIR"
  touch "$PGLOG"
  if [[ $IS_ROOT -eq 1 ]]; then
    chown postgres:postgres "$PGDIR" "$PGLOG"
    runuser -u postgres -- test -x "$PGDIR" -a -w "$PGDIR" \
      || die "postgres: user postgres cannot access $PGDIR (a parent directory is not traversable); set SPUNTO_INFRA_DIR elsewhere"
  fi
  local initialized=0
  if [[ ! -f "$PGDIR/.initialized" ]]; then
    rm -rf "$PGDATA"
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -E UTF8 --locale=C --no-sync \
        --auth-local=peer --auth-host=scram-sha-256 >>"$PGLOG" 2>&1 \
      || fail postgres "$PGLOG" "initdb failed"
    printf "\ninclude_if_exists = 'spunto.conf'\n" >>"$PGDATA/postgresql.conf"
    touch "$PGDIR/.initialized"
    initialized=1
  fi
  mkdir -p "$PGSOCK"
  cat >"$PGDATA/spunto.conf" <<EOF
# generated by scripts/infra.sh (rewritten on every start)
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGSOCK'
password_encryption = 'scram-sha-256'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  [[ $IS_ROOT -eq 1 ]] && chown "$owner": "$PGSOCK" "$PGDATA/spunto.conf" "$PGDATA/postgresql.conf"
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 start >>"$LOG" 2>&1 \
    || fail postgres "$PGLOG" "pg_ctl start failed"
  wait_for 20 "" pg_ok || fail postgres "$PGLOG" "server not accepting connections on 127.0.0.1:$PG_PORT"
  pg_ensure_role_db || fail postgres "$PGLOG" "could not create role/database"
  pg_password_ok || fail postgres "$PGLOG" "password login as $PG_USER failed"
  if [[ $initialized -eq 1 ]]; then
    say "postgres: up (started, new cluster)"
  else
    say "postgres: up (started)"
  fi
}

# --------------------------------------------------------------------------
# redis
# --------------------------------------------------------------------------
redis_ok() {
  local r
  r=$( (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" || exit 1
        printf 'PING\r\n' >&3
        IFS= read -r -t 2 line <&3 && printf '%s' "$line") 2>/dev/null) || return 1
  [[ $r == +PONG* ]]
}

ensure_redis() {
  local dir="$STATE/redis" pidfile="$STATE/run/redis.pid" log="$STATE/logs/redis.log"
  if redis_ok; then
    if pid_of "$pidfile" redis-server >/dev/null; then
      say "redis: up (already running)"
    else
      say "redis: up (already running, not started by infra.sh)"
    fi
    return 0
  fi
  port_open "$REDIS_PORT" && fail redis "" "port $REDIS_PORT is in use by something that is not Redis"
  mkdir -p "$dir"
  printf '\n[%s] starting redis-server\n' "$(date '+%F %T')" >>"$log"
  run_clean redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
      --pidfile "$pidfile" --logfile "$log" --dir "$dir" \
      --save '' --appendonly no --protected-mode yes >>"$log" 2>&1 \
    || fail redis "$log" "redis-server failed to start"
  wait_for 15 "" redis_ok || fail redis "$log" "redis did not answer PING on 127.0.0.1:$REDIS_PORT"
  say "redis: up (started)"
}

# --------------------------------------------------------------------------
# pebble + challtestsrv
# --------------------------------------------------------------------------
CA_FILE=
pebble_certs() {
  local d="$STATE/pebble"
  CA_FILE="$d/ca.pem"
  [[ -s $d/ca.pem && -s $d/cert.pem && -s $d/cert.key ]] && return 0
  mkdir -p "$d"
  local t; t=$(mktemp -d "$d/certs.XXXXXX")
  {
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
      -keyout "$t/ca.key" -out "$t/ca.pem" -days 3650 -subj "/CN=Spunto test Pebble CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
      -keyout "$t/cert.key" -out "$t/cert.csr" -subj "/CN=localhost"
    printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
      'extendedKeyUsage=serverAuth' 'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid,issuer' \
      'subjectAltName=DNS:localhost,DNS:pebble,IP:127.0.0.1,IP:::1' >"$t/ext.cnf"
    openssl x509 -req -in "$t/cert.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
      -out "$t/cert.pem" -days 3650 -extfile "$t/ext.cnf"
  } >>"$LOG" 2>&1 || { rm -rf "$t"; fail pebble "$LOG" "openssl certificate generation failed"; }
  mv -f "$t/ca.key" "$t/cert.key" "$t/cert.pem" "$d/"
  mv -f "$t/ca.pem" "$d/ca.pem"
  rm -rf "$t"
}

pebble_ok() {
  curl -fsS -m 3 --cacert "$CA_FILE" -o /dev/null "https://127.0.0.1:$PEBBLE_PORT/dir" 2>/dev/null
}

chall_ok() {
  # The management API answers 404 on "/", any HTTP answer means it is up.
  local code
  code=$(curl -sS -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CHALL_PORT/" 2>/dev/null) || return 1
  [[ $code != 000 ]]
}

# dns_txt NAME: print TXT values via dig, else node; return 3 if no tool.
dns_txt() {
  local name=$1
  if command -v dig >/dev/null; then
    dig +short +time=2 +tries=1 -p "$DNS_PORT" @127.0.0.1 TXT "$name" | tr -d '"'
  elif command -v node >/dev/null; then
    node -e '
      const { Resolver } = require("dns").promises;
      const r = new Resolver({ timeout: 2000, tries: 1 });
      r.setServers([process.argv[1]]);
      r.resolveTxt(process.argv[2]).then(
        (x) => console.log(x.map((c) => c.join("")).join("\n")),
        (e) => { console.error(e.message); process.exit(1); });
    ' "127.0.0.1:$DNS_PORT" "$name"
  else
    return 3
  fi
}

# Round-trip a TXT record through challtestsrv's management API and its DNS.
chall_dns_roundtrip() {
  local host="_acme-challenge.infra-check.spunto.test." value="spunto-$$-$RANDOM" got rc=0
  curl -fsS -m 3 -o /dev/null -X POST -d "{\"host\":\"$host\",\"value\":\"$value\"}" \
    "http://127.0.0.1:$CHALL_PORT/set-txt" || return 1
  got=$(dns_txt "$host" 2>>"$LOG") || rc=$?
  curl -fsS -m 3 -o /dev/null -X POST -d "{\"host\":\"$host\"}" \
    "http://127.0.0.1:$CHALL_PORT/clear-txt" || true
  [[ $rc -eq 3 ]] && return 3
  [[ $rc -eq 0 && $got == *"$value"* ]]
}

ensure_challtestsrv() {
  local pidfile="$STATE/run/challtestsrv.pid" log="$STATE/logs/challtestsrv.log"
  if chall_ok; then
    if pid_of "$pidfile" pebble-challtestsrv >/dev/null; then
      say "challtestsrv: up (already running)"
    else
      say "challtestsrv: up (already running, not started by infra.sh)"
    fi
    return 0
  fi
  spawn "$log" pebble-challtestsrv \
    -management "127.0.0.1:$CHALL_PORT" \
    -dns01 "127.0.0.1:$DNS_PORT" \
    -http01 "" -https01 "" -tlsalpn01 "" \
    -defaultIPv4 127.0.0.1 -defaultIPv6 ""
  echo "$SPAWNED_PID" >"$pidfile"
  local rc=0
  wait_for 20 "$SPAWNED_PID" chall_ok || rc=$?
  [[ $rc -eq 0 ]] || fail challtestsrv "$log" "management API did not answer on 127.0.0.1:$CHALL_PORT"
  rc=0
  wait_for 5 "$SPAWNED_PID" chall_dns_roundtrip || rc=$?
  if [[ $rc -eq 3 ]]; then
    say "challtestsrv: up (started; DNS check skipped: no dig/node)"
  elif [[ $rc -ne 0 ]]; then
    fail challtestsrv "$log" "TXT record set via /set-txt not answered by DNS on 127.0.0.1:$DNS_PORT"
  else
    say "challtestsrv: up (started)"
  fi
}

ensure_pebble() {
  local d="$STATE/pebble" pidfile="$STATE/run/pebble.pid" log="$STATE/logs/pebble.log"
  pebble_certs
  if pebble_ok; then
    if pid_of "$pidfile" pebble >/dev/null; then
      say "pebble: up (already running)"
    else
      say "pebble: up (already running, not started by infra.sh)"
    fi
    return 0
  fi
  port_open "$PEBBLE_PORT" && fail pebble "$log" "port $PEBBLE_PORT is in use but https://127.0.0.1:$PEBBLE_PORT/dir does not validate with $CA_FILE"
  cat >"$d/pebble-config.json" <<EOF
{
  "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_PORT",
    "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
    "certificate": "$d/cert.pem",
    "privateKey": "$d/cert.key",
    "httpPort": $PEBBLE_HTTP_PORT,
    "tlsPort": $PEBBLE_TLS_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
EOF
  spawn "$log" env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE="$PEBBLE_AUTHZREUSE" \
    pebble -config "$d/pebble-config.json" -dnsserver "127.0.0.1:$DNS_PORT"
  echo "$SPAWNED_PID" >"$pidfile"
  local rc=0
  wait_for 20 "$SPAWNED_PID" pebble_ok || rc=$?
  [[ $rc -eq 0 ]] || fail pebble "$log" "directory https://127.0.0.1:$PEBBLE_PORT/dir did not answer"
  say "pebble: up (started)"
}

# --------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------
IMG_DIR=
# Build the rootfs trees (base + web) in the state dir, once per IMAGE_REV.
ensure_rootfs() {
  IMG_DIR="$STATE/images"
  local stamp="$IMG_DIR/rootfs.rev"
  if [[ -f $stamp && $(cat "$stamp") == "$IMAGE_REV" && -x $IMG_DIR/web/bin/serve ]]; then
    return 0
  fi
  busybox_static_ok || die "images: /bin/busybox (static) not found (package busybox-static)"
  mkdir -p "$IMG_DIR"
  rm -rf "$IMG_DIR/base" "$IMG_DIR/web" "$IMG_DIR/tmp.base"
  local r="$IMG_DIR/tmp.base" p
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp,www}
  chmod 1777 "$r/tmp" "$r/var/tmp"
  chmod 700 "$r/root"
  cp /bin/busybox "$r/bin/busybox"
  while IFS= read -r p; do
    case $p in ''|linuxrc|bin/busybox) continue ;; esac
    [[ -e $r/$p || -L $r/$p ]] || ln -s /bin/busybox "$r/$p"
  done < <(/bin/busybox --list-full)
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$r/etc/group"
  # `idle`: sleep forever but exit promptly on SIGTERM (a bare `sleep` as PID 1
  # ignores SIGTERM, which makes every `docker stop` wait for the timeout).
  cat >"$r/bin/idle" <<'EOF'
#!/bin/sh
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
EOF
  chmod 755 "$r/bin/idle"
  mv "$r" "$IMG_DIR/base"

  cp -a "$IMG_DIR/base" "$IMG_DIR/web"
  # Serves $MESSAGE (default "hello", no trailing newline) on $PORT (default
  # 8080). httpd runs as a child so SIGTERM (docker stop) ends it promptly.
  cat >"$IMG_DIR/web/bin/serve" <<'EOF'
#!/bin/sh
mkdir -p /www
printf '%s' "${MESSAGE:-hello}" > /www/index.html
/bin/busybox httpd -f -v -p "${PORT:-8080}" -h /www &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 0' TERM INT
wait "$pid"
EOF
  chmod 755 "$IMG_DIR/web/bin/serve"
  echo "$IMAGE_REV" >"$stamp"
}

# import_rootfs DIR REF [extra docker import args...]
import_rootfs() {
  local dir=$1 ref=$2; shift 2
  tar -C "$dir" --numeric-owner --owner=0 --group=0 -cf - . \
    | docker import \
        --change "LABEL $IMAGE_LABEL=$IMAGE_REV" \
        --change 'ENV PATH=/bin:/usr/bin:/sbin:/usr/sbin' \
        "$@" - "$ref" >>"$LOG" 2>&1
}

image_current() { # REF
  local rev
  rev=$(docker image inspect -f "{{index .Config.Labels \"$IMAGE_LABEL\"}}" "$1" 2>/dev/null) || return 1
  [[ $rev == "$IMAGE_REV" ]]
}

# Run the web image once and check it serves MESSAGE over a loopback port.
verify_web_image() { # REF EXPECTED
  local ref=$1 expected=$2 name="spunto-infra-verify-$$-$RANDOM" port body ok=0
  docker run -d --rm --name "$name" -p 127.0.0.1::8080 "$ref" >>"$LOG" 2>&1 || return 1
  port=$(docker port "$name" 8080/tcp 2>>"$LOG" | head -n1 | sed 's/.*://')
  if [[ -n $port ]]; then
    local i
    for i in $(seq 1 50); do
      body=$(curl -fsS -m 2 "http://127.0.0.1:$port/" 2>/dev/null) && { [[ $body == "$expected" ]] && ok=1; break; }
      sleep 0.1
    done
  fi
  docker rm -f "$name" >/dev/null 2>&1 || true
  [[ $ok -eq 1 ]] || { printf 'verify %s: expected %q got %q\n' "$ref" "$expected" "${body:-}" >>"$LOG"; return 1; }
}

registry_digest() { # REPO TAG -> Docker-Content-Digest of the manifest
  curl -fsS -m 5 -I -H "Accept: $MANIFEST_ACCEPT" \
    "http://$REGISTRY/v2/$1/manifests/$2" 2>/dev/null \
    | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}'
}

# push_if_needed LOCAL_REF REMOTE_REPO(without registry) TAG
push_if_needed() {
  local local_ref=$1 repo=$2 tag=$3 remote digest
  remote="$REGISTRY/$repo:$tag"
  digest=$(registry_digest "$repo" "$tag" || true)
  if [[ -n $digest ]] && docker image inspect -f '{{join .RepoDigests " "}}' "$local_ref" 2>/dev/null \
       | tr ' ' '\n' | grep -qx "$REGISTRY/$repo@$digest"; then
    return 1   # already there
  fi
  docker tag "$local_ref" "$remote" >>"$LOG" 2>&1
  logrun "$LOG" docker push "$remote" || fail images "$LOG" "docker push $remote failed"
  return 0
}

build_images() {
  docker_ok || die "images: docker engine is not running (run: $0 up)"
  ensure_rootfs
  local built=() pushed=() old_ids
  old_ids=$(docker image inspect -f '{{.Id}}' "$IMAGE_BUSYBOX" "$IMAGE_WEB" "$REMOTE_BUSYBOX" "$REMOTE_WEB_REPO:latest" 2>/dev/null | sort -u || true)
  if ! image_current "$IMAGE_BUSYBOX"; then
    import_rootfs "$IMG_DIR/base" "$IMAGE_BUSYBOX" --change 'CMD ["sh"]' \
      || fail images "$LOG" "docker import $IMAGE_BUSYBOX failed"
    built+=(busybox)
  fi
  if ! image_current "$IMAGE_WEB"; then
    import_rootfs "$IMG_DIR/web" "$IMAGE_WEB" --change 'CMD ["/bin/serve"]' --change 'EXPOSE 8080' \
      || fail images "$LOG" "docker import $IMAGE_WEB failed"
    verify_web_image "$IMAGE_WEB" hello || fail images "$LOG" "$IMAGE_WEB did not serve 'hello'"
    built+=(web)
  fi
  if registry_ok; then
    push_if_needed "$IMAGE_BUSYBOX" spunto/busybox latest && pushed+=(busybox)
    push_if_needed "$IMAGE_WEB" spunto/web latest && pushed+=(web)
  else
    fail images "" "registry $REGISTRY is not answering (run: $0 up)"
  fi
  # Drop replaced images once nothing tags/uses them (errors = still in use).
  if [[ ${#built[@]} -gt 0 && -n $old_ids ]]; then
    # shellcheck disable=SC2086
    docker rmi $old_ids >/dev/null 2>&1 || true
  fi
  local what=
  [[ ${#built[@]} -gt 0 ]] && what="built ${built[*]}"
  [[ ${#pushed[@]} -gt 0 ]] && what="${what:+$what; }pushed ${pushed[*]}"
  say "images: ok (${what:-already present})"
}

# push-web TAG MESSAGE: web image whose default MESSAGE is baked in, pushed as
# $REGISTRY/spunto/web:TAG. The local tags are removed afterwards so that the
# daemon has to pull it (set SPUNTO_PUSH_KEEP_LOCAL=1 to keep them).
push_web() {
  local tag=$1 msg=$2
  [[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "push-web: invalid tag '$tag'"
  docker_ok || die "push-web: docker engine is not running (run: $0 up)"
  registry_ok || die "push-web: registry $REGISTRY is not answering (run: $0 up)"
  ensure_rootfs
  local esc tmp_ref remote="$REMOTE_WEB_REPO:$tag" digest
  # Dockerfile ENV syntax: quote, escape backslash, double quote and $.
  esc=$(printf '%s' "$msg" | sed -e 's/[\\"$]/\\&/g')
  tmp_ref="spunto-test/web-push:$tag-$$"
  import_rootfs "$IMG_DIR/web" "$tmp_ref" --change 'CMD ["/bin/serve"]' --change 'EXPOSE 8080' \
      --change "ENV MESSAGE=\"$esc\"" \
    || fail push-web "$LOG" "docker import failed"
  docker tag "$tmp_ref" "$remote" >>"$LOG" 2>&1
  if ! logrun "$LOG" docker push "$remote"; then
    docker rmi "$tmp_ref" >/dev/null 2>&1 || true
    fail push-web "$LOG" "docker push $remote failed"
  fi
  digest=$(registry_digest spunto/web "$tag" || true)
  docker rmi "$tmp_ref" >/dev/null 2>&1 || true
  if [[ ${SPUNTO_PUSH_KEEP_LOCAL:-0} != 1 ]]; then
    docker rmi "$remote" >/dev/null 2>&1 || true
  fi
  say "push-web: pushed $remote"
  say "$remote@$digest"
}

# --------------------------------------------------------------------------
# env file
# --------------------------------------------------------------------------
write_env() {
  local f="$STATE/infra.env" t
  t=$(mktemp "$STATE/.infra.env.XXXXXX")
  cat >"$t" <<EOF
SPUNTO_INFRA_DIR=$STATE
DOCKER_HOST=unix://$DOCKER_SOCK
TEST_REGISTRY=$REGISTRY
TEST_DATABASE_URL=postgres://$PG_USER:$PG_PASS@127.0.0.1:$PG_PORT/$PG_DB
TEST_PG_ADMIN_URL=postgres://$PG_USER:$PG_PASS@127.0.0.1:$PG_PORT/postgres
TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
TEST_ACME_DIRECTORY=https://127.0.0.1:$PEBBLE_PORT/dir
TEST_ACME_CA_FILE=$STATE/pebble/ca.pem
TEST_PEBBLE_MGMT_URL=https://127.0.0.1:$PEBBLE_MGMT_PORT
TEST_PEBBLE_HTTP_PORT=$PEBBLE_HTTP_PORT
TEST_DNS_SERVER=127.0.0.1:$DNS_PORT
TEST_CHALLTESTSRV_URL=http://127.0.0.1:$CHALL_PORT
TEST_IMAGE_BUSYBOX=$IMAGE_BUSYBOX
TEST_IMAGE_WEB=$IMAGE_WEB
TEST_REGISTRY_IMAGE_BUSYBOX=$REMOTE_BUSYBOX
TEST_REGISTRY_IMAGE_WEB=$REMOTE_WEB_REPO:latest
EOF
  chmod 644 "$t"
  mv -f "$t" "$f"
  say "$f"
}

# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------
cmd_up() {
  take_lock
  ensure_packages
  ensure_docker
  ensure_registry
  ensure_postgres
  ensure_redis
  ensure_challtestsrv
  ensure_pebble
  build_images
  write_env
}

cmd_check() {
  local bad=0 missing
  missing=$(missing_packages | sort -u | tr '\n' ' ')
  if [[ -n ${missing% } ]]; then say "packages: MISSING ${missing% }"; bad=1; else say "packages: ok"; fi
  if docker_ok; then say "docker: up"
  elif [[ -S $DOCKER_SOCK && ! -w $DOCKER_SOCK ]]; then say "docker: $DOCKER_SOCK not accessible for $(id -un)"; bad=1
  else say "docker: DOWN"; bad=1; fi
  if registry_ok; then say "registry: up"; else say "registry: DOWN"; bad=1; fi
  pg_paths
  if find_pg_bin && pg_ok; then
    if pg_password_ok; then say "postgres: up"; else say "postgres: up, but login as $PG_USER to $PG_DB FAILED"; bad=1; fi
  else say "postgres: DOWN"; bad=1; fi
  if redis_ok; then say "redis: up"; else say "redis: DOWN"; bad=1; fi
  if chall_ok; then say "challtestsrv: up"; else say "challtestsrv: DOWN"; bad=1; fi
  CA_FILE="$STATE/pebble/ca.pem"
  if [[ -s $CA_FILE ]] && pebble_ok; then say "pebble: up"; else say "pebble: DOWN"; bad=1; fi
  if docker_ok; then
    local img
    for img in "$IMAGE_BUSYBOX" "$IMAGE_WEB"; do
      if image_current "$img"; then say "image $img: ok"; else say "image $img: MISSING"; bad=1; fi
    done
    if registry_ok; then
      local repo
      for repo in spunto/busybox spunto/web; do
        if [[ -n $(registry_digest "$repo" latest) ]]; then say "registry image $REGISTRY/$repo:latest: ok"
        else say "registry image $REGISTRY/$repo:latest: MISSING"; bad=1; fi
      done
    fi
  fi
  if [[ -s $STATE/infra.env ]]; then say "env: $STATE/infra.env"; else say "env: MISSING $STATE/infra.env"; bad=1; fi
  return $bad
}

# stop_pid NAME PIDFILE COMM [TIMEOUT]
stop_pid() {
  local name=$1 pidfile=$2 comm=$3 timeout=${4:-15} pid
  if ! pid=$(pid_of "$pidfile" "$comm"); then
    rm -f "$pidfile"
    say "$name: not running (or not started by infra.sh)"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$(( $(date +%s) + timeout ))
  while kill -0 "$pid" 2>/dev/null && (( $(date +%s) < deadline )); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    say "$name: killed (pid $pid did not exit within ${timeout}s)"
  else
    say "$name: stopped"
  fi
  rm -f "$pidfile"
}

cmd_down() {
  take_lock
  stop_pid pebble "$STATE/run/pebble.pid" pebble
  stop_pid challtestsrv "$STATE/run/challtestsrv.pid" pebble-challtestsrv
  stop_pid registry "$STATE/run/registry.pid" docker-registry
  stop_pid redis "$STATE/run/redis.pid" redis-server
  pg_paths
  if find_pg_bin && [[ -f $PGDATA/postmaster.pid ]] \
     && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >>"$LOG" 2>&1 \
      && say "postgres: stopped" || fail postgres "$PGLOG" "pg_ctl stop failed"
  else
    say "postgres: not running (or not started by infra.sh)"
  fi
  stop_pid docker "$STATE/run/dockerd.pid" dockerd 60
}

# Full functional check; creates throwaway containers/networks and removes them.
cmd_selftest() {
  docker_ok || die "selftest: docker is not running (run: $0 up)"
  SELFTEST_ID="spunto-selftest-$$"
  local id=$SELFTEST_ID ok=1 out port
  # shellcheck disable=SC2317
  cleanup_selftest() {
    docker rm -f "$SELFTEST_ID-srv" "$SELFTEST_ID-pub" >/dev/null 2>&1 || true
    docker network rm "$SELFTEST_ID-net" >/dev/null 2>&1 || true
  }
  trap cleanup_selftest EXIT
  # 1. user-defined bridge network + DNS by alias
  docker network create "$id-net" >>"$LOG" 2>&1
  docker run -d --name "$id-srv" --network "$id-net" --network-alias web-alias "$IMAGE_WEB" >>"$LOG" 2>&1
  out=$(docker run --rm --network "$id-net" "$IMAGE_BUSYBOX" \
          sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do timeout 2 wget -q -O- http://web-alias:8080/ && exit 0; sleep 0.3; done; exit 1' 2>>"$LOG") || true
  if [[ $out == hello ]]; then say "selftest: network alias: ok"; else say "selftest: network alias: FAILED ($out)"; ok=0; fi
  # 2. published loopback port
  docker run -d --name "$id-pub" -e MESSAGE=published -p 127.0.0.1::8080 "$IMAGE_WEB" >>"$LOG" 2>&1
  port=$(docker port "$id-pub" 8080/tcp | head -n1 | sed 's/.*://')
  out=
  for _ in $(seq 1 30); do out=$(curl -fsS -m 2 "http://127.0.0.1:$port/" 2>/dev/null) && break; sleep 0.1; done
  if [[ $out == published ]]; then say "selftest: published port: ok"; else say "selftest: published port: FAILED ($out)"; ok=0; fi
  # 3. docker stop is prompt (SIGTERM handled)
  local t0 t1
  t0=$(date +%s); docker stop "$id-pub" >/dev/null 2>&1; t1=$(date +%s)
  if (( t1 - t0 <= 3 )); then say "selftest: docker stop web: ok ($((t1 - t0))s)"; else say "selftest: docker stop web: SLOW ($((t1 - t0))s)"; ok=0; fi
  # 4. registry pull (remove local copy first)
  docker rmi "$REMOTE_BUSYBOX" >/dev/null 2>&1 || true
  if logrun "$LOG" docker pull "$REMOTE_BUSYBOX"; then say "selftest: registry pull: ok"; else say "selftest: registry pull: FAILED"; ok=0; fi
  # 5. postgres / redis / acme / dns
  pg_paths
  if find_pg_bin && pg_password_ok; then say "selftest: postgres login: ok"; else say "selftest: postgres login: FAILED"; ok=0; fi
  if redis_ok; then say "selftest: redis ping: ok"; else say "selftest: redis ping: FAILED"; ok=0; fi
  CA_FILE="$STATE/pebble/ca.pem"
  if pebble_ok; then say "selftest: pebble directory: ok"; else say "selftest: pebble directory: FAILED"; ok=0; fi
  local rc=0; chall_dns_roundtrip || rc=$?
  case $rc in
    0) say "selftest: challtestsrv set-txt + DNS: ok" ;;
    3) say "selftest: challtestsrv DNS: skipped (no dig/node)" ;;
    *) say "selftest: challtestsrv set-txt + DNS: FAILED"; ok=0 ;;
  esac
  [[ $ok -eq 1 ]]
}

usage() {
  cat <<EOF
usage: $0 [command]
  up                  (default) install missing packages, start everything, build images, write env file
  check               report what is missing / not running (exit 1 if anything is)
  images              build test images if missing and push them to the local registry
  push-web TAG MSG    push $REMOTE_WEB_REPO:TAG serving MSG by default
  selftest            functional checks (networks, ports, registry, db, acme, dns)
  env                 rewrite and print the env file path
  down                stop the processes this script started
state dir: $STATE
EOF
}

main() {
  local cmd=${1:-up}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    -h|--help|help) usage; return 0 ;;
  esac
  ensure_state_dir
  case $cmd in
    up)       [[ $# -eq 0 ]] || die "up takes no arguments"; cmd_up ;;
    check)    cmd_check ;;
    images)   take_lock; ensure_docker; ensure_registry; build_images ;;
    push-web) [[ $# -eq 2 ]] || die "usage: $0 push-web TAG MESSAGE"; take_lock; push_web "$1" "$2" ;;
    selftest) cmd_selftest ;;
    env)      write_env ;;
    down)     cmd_down ;;
    *)        usage >&2; exit 2 ;;
  esac
}

main "$@"
