#!/usr/bin/env bash
# Start throw-away engines for balance_sparse tests (one-node Slurm with
# accounting + PostgreSQL), ALL state under one directory.
#
#   tests/engines/up.sh [STATE_DIR]      (default: $BS_ENGINES_DIR or /tmp/bs-engines)
#   . STATE_DIR/env.sh                   (SLURM_CONF, BS_PG_ENV, PG* ...)
#   tests/engines/down.sh [--clean] [STATE_DIR]
#
# Idempotent: services whose recorded pid is still alive are left alone.
# Must run as root (Debian 12, no systemd needed: daemons are started directly).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
S="${1:-${BS_ENGINES_DIR:-/tmp/bs-engines}}"
mkdir -p "$S"
S="$(cd "$S" && pwd)"
T0=$(date +%s)

log() { echo "up.sh: $*"; }
die() { echo "up.sh: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

# ---------------------------------------------------------------- packages --
need_pkgs=()
for pkg in munge slurmctld slurmd slurmdbd slurm-client mariadb-server mariadb-client postgresql; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$pkg")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing with apt-get: ${need_pkgs[*]}"
  t=$(date +%s)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
          --no-install-recommends "${need_pkgs[@]}"; } >"$S/apt.log" 2>&1; then
    die "cannot install ${need_pkgs[*]} with apt-get (see $S/apt.log)"
  fi
  log "apt-get install took $(( $(date +%s) - t ))s"
fi
PGBIN="$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

# ------------------------------------------------------------------ layout --
chmod 755 "$S"
mkdir -p "$S/etc" "$S/log" "$S/run" "$S/munge" "$S/slurm/ctld" "$S/slurm/d" "$S/mysql" "$S/pg"
chmod 755 "$S/munge" "$S/run" "$S/log"
chmod 700 "$S/slurm/ctld" "$S/mysql"
touch "$S/pids"

# pids file: "<name> <pid>" per line
get_pid() { awk -v n="$1" '$1==n {print $2}' "$S/pids" | tail -1; }
set_pid() {
  { grep -v "^$1 " "$S/pids" || true; echo "$1 $2"; } >"$S/pids.tmp"
  mv "$S/pids.tmp" "$S/pids"
}
# alive NAME COMM: recorded pid exists and /proc/<pid>/comm == COMM
alive() {
  local p; p="$(get_pid "$1")"
  [ -n "$p" ] && [ -r "/proc/$p/comm" ] && [ "$(cat "/proc/$p/comm")" = "$2" ]
}
# start NAME LOGFILE CMD...: detached (own session), pid recorded
start() {
  local name="$1" logf="$2"; shift 2
  setsid "$@" >>"$logf" 2>&1 </dev/null &
  set_pid "$name" "$!"
  log "started $name pid $!"
}
wait_for() {  # wait_for SECONDS DESCRIPTION CMD...
  local n="$1" what="$2"; shift 2
  local end=$(( $(date +%s) + n ))
  while [ "$(date +%s)" -lt "$end" ]; do timeout 10 "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  die "$what not ready after ${n}s (logs in $S/log)"
}
randhex() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ------------------------------------------------------------------- ports --
port_used() { ss -ltnH "( sport = :$1 )" 2>/dev/null | grep -q .; }
pick_port() {  # pick_port START [EXCLUDE...]
  local p="$1"; shift
  while port_used "$p" || [[ " $* " == *" $p "* ]]; do p=$((p + 1)); done
  echo "$p"
}
if [ ! -f "$S/ports.env" ]; then
  b=$(( 20000 + RANDOM % 20000 ))
  P_CTLD=$(pick_port "$b")
  P_SLURMD=$(pick_port $((P_CTLD + 1)) "$P_CTLD")
  P_DBD=$(pick_port $((P_SLURMD + 1)) "$P_CTLD" "$P_SLURMD")
  P_MYSQL=$(pick_port $((P_DBD + 1)) "$P_CTLD" "$P_SLURMD" "$P_DBD")
  P_PG=$(pick_port $((P_MYSQL + 1)) "$P_CTLD" "$P_SLURMD" "$P_DBD" "$P_MYSQL")
  printf 'P_CTLD=%s\nP_SLURMD=%s\nP_DBD=%s\nP_MYSQL=%s\nP_PG=%s\n' \
    "$P_CTLD" "$P_SLURMD" "$P_DBD" "$P_MYSQL" "$P_PG" >"$S/ports.env"
fi
. "$S/ports.env"

# ------------------------------------------------------------------- munge --
M="$S/munge"
[ -f "$M/munge.key" ] || { mungekey --create --keyfile="$M/munge.key" >/dev/null; chmod 600 "$M/munge.key"; }
if ! alive munged munged; then
  rm -f "$M/munge.sock" "$M/munge.sock.lock"
  start munged "$S/log/munged.out" munged -F --key-file="$M/munge.key" --socket="$M/munge.sock" \
    --pid-file="$M/munged.pid" --log-file="$S/log/munged.log" --seed-file="$M/munged.seed"
fi
wait_for 20 munged bash -c "munge -n -S '$M/munge.sock' | unmunge -S '$M/munge.sock'"

# ----------------------------------------------------------------- mariadb --
D="$S/mysql"
[ -f "$D/dbpass" ] || { (umask 077; randhex >"$D/dbpass"); }
DBPASS="$(cat "$D/dbpass")"
cat >"$D/my.cnf" <<EOF
[mysqld]
user=root
datadir=$D/data
socket=$D/mysqld.sock
pid-file=$D/mysqld.pid
log-error=$S/log/mariadb.log
port=$P_MYSQL
bind-address=127.0.0.1
skip-name-resolve
innodb_buffer_pool_size=64M
innodb_lock_wait_timeout=900
max_connections=50
EOF
chmod 600 "$D/my.cnf"
if [ ! -d "$D/data/mysql" ]; then
  log "initialising MariaDB datadir"
  mariadb-install-db --defaults-file="$D/my.cnf" --user=root --skip-test-db \
    --auth-root-authentication-method=socket >"$S/log/mariadb-install.log" 2>&1 \
    || die "mariadb-install-db failed (see $S/log/mariadb-install.log)"
fi
my() { mariadb --defaults-file="$D/my.cnf" --socket="$D/mysqld.sock" -uroot "$@"; }
if ! alive mariadbd mariadbd; then
  start mariadbd "$S/log/mariadbd.out" mariadbd --defaults-file="$D/my.cnf"
fi
wait_for 60 MariaDB mariadb-admin --socket="$D/mysqld.sock" -uroot ping
# password goes through stdin, never on a command line
my <<EOF
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DBPASS';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
EOF

# ------------------------------------------------------------------- slurm --
NODE="$(hostname -s)"
NCPU="$(nproc)"
MEM_MB=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 90 / 100 ))
export SLURM_CONF="$S/etc/slurm.conf"
sed -e "s|@S@|$S|g" -e "s|@NODE@|$NODE|g" -e "s|@NCPU@|$NCPU|g" -e "s|@MEM@|$MEM_MB|g" \
    -e "s|@P_CTLD@|$P_CTLD|g" -e "s|@P_SLURMD@|$P_SLURMD|g" -e "s|@P_DBD@|$P_DBD|g" \
    "$HERE/slurm.conf.in" >"$S/etc/slurm.conf"
sed -e "s|@S@|$S|g" -e "s|@P_DBD@|$P_DBD|g" -e "s|@P_MYSQL@|$P_MYSQL|g" \
    "$HERE/slurmdbd.conf.in" >"$S/etc/slurmdbd.conf.tmp"
(umask 077; { cat "$S/etc/slurmdbd.conf.tmp"; echo "StoragePass=$DBPASS"; } >"$S/etc/slurmdbd.conf")
rm -f "$S/etc/slurmdbd.conf.tmp"
chmod 600 "$S/etc/slurmdbd.conf"
CLUSTER="$(awk -F= '/^ClusterName=/ {print $2}' "$S/etc/slurm.conf")"

if ! alive slurmdbd slurmdbd; then
  start slurmdbd "$S/log/slurmdbd.out" slurmdbd -D
fi
wait_for 60 slurmdbd sacctmgr -n show cluster
if ! sacctmgr -n -P show cluster format=cluster | grep -qx "$CLUSTER"; then
  sacctmgr -i add cluster "$CLUSTER" >/dev/null
  log "registered cluster $CLUSTER with sacctmgr"
fi

if ! alive slurmctld slurmctld; then
  start slurmctld "$S/log/slurmctld.out" slurmctld -D
fi
wait_for 60 slurmctld bash -c 'scontrol ping | grep -q "is UP"'

if ! alive slurmd slurmd; then
  start slurmd "$S/log/slurmd.out" slurmd -D
fi
node_ok() { sinfo -h -n "$NODE" -o %T | grep -Eq '^(idle|mixed|allocated|completing)$'; }
for _ in $(seq 60); do
  node_ok && break
  if sinfo -h -n "$NODE" -o %T | grep -Eq 'down|drain'; then
    scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
  fi
  sleep 1
done
node_ok || die "node $NODE not idle: $(sinfo -h -N -o '%T %E') (logs in $S/log)"

# -------------------------------------------------------------- postgresql --
P="$S/pg"
chown postgres:postgres "$P"; chmod 700 "$P"
mkdir -p "$P/run"; chown postgres:postgres "$P/run"
aspg() { runuser -u postgres -- "$@"; }
[ -f "$S/pgpass.secret" ] || { (umask 077; randhex >"$S/pgpass.secret"); }
PGPW="$(cat "$S/pgpass.secret")"
if [ ! -f "$P/data/PG_VERSION" ]; then
  log "initdb PostgreSQL cluster"
  aspg "$PGBIN/initdb" -D "$P/data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >"$S/log/initdb.log" 2>&1 \
    || die "initdb failed (see $S/log/initdb.log)"
  cat >"$P/data/pg_hba.conf" <<EOF
# TYPE  DATABASE USER      ADDRESS       METHOD
local   all      postgres                peer
local   all      all                     scram-sha-256
host    all      all       127.0.0.1/32  scram-sha-256
EOF
  chown postgres:postgres "$P/data/pg_hba.conf"
fi
cat >"$P/data/conf.d.bs.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $P_PG
unix_socket_directories = '$P/run'
shared_buffers = 32MB
max_connections = 50
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
chown postgres:postgres "$P/data/conf.d.bs.conf"
grep -q "^include_if_exists = 'conf.d.bs.conf'" "$P/data/postgresql.conf" \
  || echo "include_if_exists = 'conf.d.bs.conf'" >>"$P/data/postgresql.conf"
if ! aspg "$PGBIN/pg_ctl" -D "$P/data" status >/dev/null 2>&1; then
  aspg "$PGBIN/pg_ctl" -D "$P/data" -l "$P/postgres.log" -w -t 60 start >/dev/null \
    || die "postgres did not start (see $P/postgres.log)"
  log "started postgres pid $(head -1 "$P/data/postmaster.pid")"
fi
# pid is re-read from postmaster.pid (it changes on pg_ctl restart)
set_pid postgres "$(head -1 "$P/data/postmaster.pid")"
psu() { aspg "$PGBIN/psql" -h "$P/run" -p "$P_PG" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
# password goes through stdin, never on a command line
if [ "$(psu -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname='bs'")" != 1 ]; then
  echo "CREATE ROLE bs LOGIN PASSWORD '$PGPW';" | psu -d postgres
fi
if [ "$(psu -d postgres -c "SELECT 1 FROM pg_database WHERE datname='bs'")" != 1 ]; then
  psu -d postgres -c "CREATE DATABASE bs OWNER bs" >/dev/null
fi
(umask 077
 echo "127.0.0.1:$P_PG:*:bs:$PGPW" >"$S/pgpass"
 echo "$P/run:$P_PG:*:bs:$PGPW" >>"$S/pgpass"
 cat >"$S/postgres.env" <<EOF
BS_PG_URL=postgresql+psycopg2://bs:$PGPW@127.0.0.1:$P_PG/bs
BS_PG_URL_PSYCOPG3=postgresql+psycopg://bs:$PGPW@127.0.0.1:$P_PG/bs
EOF
)
chmod 600 "$S/pgpass" "$S/postgres.env"

# ------------------------------------------------------------------ env.sh --
cat >"$S/env.sh" <<EOF
# source me: . $S/env.sh   (written by tests/engines/up.sh)
export BS_ENGINES_DIR=$S
export SLURM_CONF=$S/etc/slurm.conf
export BS_SLURM_PARTITION=debug
export BS_SLURM_NODE=$NODE
export BS_MUNGE_SOCKET=$M/munge.sock
export BS_PG_ENV=$S/postgres.env        # BS_PG_URL=... (mode 600, holds the password)
export PGPASSFILE=$S/pgpass
export PGHOST=127.0.0.1 PGPORT=$P_PG PGUSER=bs PGDATABASE=bs
export BS_PG_DATA=$P/data BS_PG_BIN=$PGBIN   # pg_ctl must run as user postgres
EOF

log "all up in $(( $(date +%s) - T0 ))s: cluster=$CLUSTER node=$NODE ctld:$P_CTLD dbd:$P_DBD mysql:$P_MYSQL pg:$P_PG"
log "use: . $S/env.sh"
