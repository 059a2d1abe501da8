#!/usr/bin/env bash
# Stop what tests/engines/up.sh started, by the pids it recorded (never by name).
#   tests/engines/down.sh [--clean] [STATE_DIR]
# Idempotent. Removes nothing unless --clean (then the whole state dir goes).
set -uo pipefail

CLEAN=0
ARGS=()
for a in "$@"; do
  case "$a" in
    --clean) CLEAN=1 ;;
    *) ARGS+=("$a") ;;
  esac
done
S="${ARGS[0]:-${BS_ENGINES_DIR:-/tmp/bs-engines}}"
log() { echo "down.sh: $*"; }
if [ ! -d "$S" ]; then log "no state dir $S, nothing to do"; exit 0; fi
S="$(cd "$S" && pwd)"
touch "$S/pids"

get_pid() { awk -v n="$1" '$1==n {print $2}' "$S/pids" | tail -1; }
drop_pid() { { grep -v "^$1 " "$S/pids" || true; } >"$S/pids.tmp"; mv "$S/pids.tmp" "$S/pids"; }
# stop NAME COMM: TERM the recorded pid if /proc/<pid>/comm still is COMM, KILL after 30s
stop() {
  local name="$1" comm="$2" p
  p="$(get_pid "$name")"
  if [ -z "$p" ]; then return 0; fi
  if [ -r "/proc/$p/comm" ] && [ "$(cat "/proc/$p/comm")" = "$comm" ]; then
    local t0; t0=$(date +%s)
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 60); do [ -d "/proc/$p" ] || break; sleep 0.5; done
    if [ -d "/proc/$p" ]; then log "$name ($p) ignored TERM, sending KILL"; kill -KILL "$p" 2>/dev/null; sleep 0.5; fi
    log "stopped $name ($p) in $(( $(date +%s) - t0 ))s"
  else
    log "$name ($p) not running"
  fi
  drop_pid "$name"
}

# Cancel jobs first, so no slurmstepd/job keeps running after slurmd is gone.
if [ -f "$S/etc/slurm.conf" ] && [ -n "$(get_pid slurmctld)" ] && [ -d "/proc/$(get_pid slurmctld)" ]; then
  export SLURM_CONF="$S/etc/slurm.conf"
  if [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null)" ]; then
    log "cancelling remaining jobs"
    timeout 10 scancel --full --user=root 2>/dev/null
    for _ in $(seq 20); do [ -z "$(timeout 10 squeue -h -o %i 2>/dev/null)" ] && break; sleep 1; done
  fi
fi

stop slurmd slurmd
stop slurmctld slurmctld
stop slurmdbd slurmdbd
stop mariadbd mariadbd

# PostgreSQL: its pid changes on pg_ctl restart, so ask pg_ctl (as postgres).
PGBIN="$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -f "$S/pg/data/postmaster.pid" ] && [ -n "$PGBIN" ]; then
  p="$(head -1 "$S/pg/data/postmaster.pid")"
  if runuser -u postgres -- "$PGBIN/pg_ctl" -D "$S/pg/data" -m fast -w -t 60 stop >/dev/null 2>&1; then
    log "stopped postgres ($p)"
  elif [ -r "/proc/$p/comm" ] && [ "$(cat "/proc/$p/comm")" = postgres ]; then
    kill -INT "$p"; sleep 2; log "stopped postgres ($p) with SIGINT"
  fi
fi
drop_pid postgres

stop munged munged

if [ "$CLEAN" = 1 ]; then
  case "$S" in
    /|/tmp|/root|/home|/work|/work/*) log "refusing to remove $S" ;;
    *) rm -rf "$S"; log "removed $S" ;;
  esac
fi
exit 0
