#!/usr/bin/env bash
# Manual/CI smoke check of the engines started by up.sh (not a pytest file).
#   tests/engines/verify.sh [STATE_DIR]     BS_SKIP_TIMEOUT=1 skips the ~75 s TIMEOUT check
# Checks: (a) sbatch -> COMPLETED in sacct, (b) submitit PENDING/RUNNING/COMPLETED + result,
# (c) scancel -> CANCELLED, (d) --time=1 -> TIMEOUT, (e) Optuna on PostgreSQL,
# (f) pg_ctl restart then Optuna again.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
S="${1:-${BS_ENGINES_DIR:-/tmp/bs-engines}}"
PY="${BS_PYTHON:-$HERE/../../.venv/bin/python}"
. "$S/env.sh" || exit 1
mkdir -p "$S/jobs"; cd "$S/jobs" || exit 1
FAIL=0
ok()   { echo "verify: OK   $*"; }
bad()  { echo "verify: FAIL $*"; FAIL=1; }
state() { sacct -j "$1" -n -X -o State%30 2>/dev/null | awk '{print $1}'; }
wait_state() {  # wait_state JOBID STATE SECONDS
  local end=$(( $(date +%s) + $3 )) s=""
  while [ "$(date +%s)" -lt "$end" ]; do s="$(state "$1")"; [ "$s" = "$2" ] && break; sleep 2; done
  echo "$s"
}

# (a)
j=$(sbatch --parsable --wrap hostname)
s=$(wait_state "$j" COMPLETED 60)
[ "$s" = COMPLETED ] && ok "(a) sbatch job $j: sacct State=$s, output: $(cat "slurm-$j.out")" || bad "(a) job $j state '$s'"

# (b)
if out=$("$PY" "$HERE/check_submitit.py" 2>&1) && grep -q "final state COMPLETED" <<<"$out"; then
  ok "(b) submitit: $(grep 'final state' <<<"$out")"
else bad "(b) submitit: $out"; fi

# (c) + (d) run side by side
jt=""
[ "${BS_SKIP_TIMEOUT:-0}" = 1 ] || jt=$(sbatch --parsable --time=1 --wrap 'sleep 300')
jc=$(sbatch --parsable --wrap 'sleep 300')
wait_state "$jc" RUNNING 30 >/dev/null
scancel "$jc"
s=$(wait_state "$jc" CANCELLED 30)
[ "$s" = CANCELLED ] && ok "(c) scancel job $jc: sacct State=$s" || bad "(c) job $jc state '$s'"

# (e)
if out=$("$PY" "$HERE/check_optuna.py" "verify-$(date +%s)" 2>&1); then ok "(e) optuna: $out"; else bad "(e) optuna: $out"; fi

# (f)
old=$(head -1 "$BS_PG_DATA/postmaster.pid")
if runuser -u postgres -- "$BS_PG_BIN/pg_ctl" -D "$BS_PG_DATA" -m fast -w -t 60 restart >/dev/null 2>&1 \
   && out=$("$PY" "$HERE/check_optuna.py" "verify-restart-$(date +%s)" 2>&1); then
  new=$(head -1 "$BS_PG_DATA/postmaster.pid")
  # keep STATE_DIR/pids in sync with the new postmaster pid
  { grep -v '^postgres ' "$S/pids"; echo "postgres $new"; } >"$S/pids.tmp" && mv "$S/pids.tmp" "$S/pids"
  ok "(f) pg_ctl restart (pid $old -> $new), reconnect: $out"
else bad "(f) restart/reconnect: ${out:-pg_ctl restart failed}"; fi

# (d) result
if [ -n "$jt" ]; then
  s=$(wait_state "$jt" TIMEOUT 150)
  [ "$s" = TIMEOUT ] && ok "(d) --time=1 job $jt: sacct $(sacct -j "$jt" -n -X -o State,Elapsed,Timelimit | xargs)" \
    || bad "(d) job $jt state '$s'"
else echo "verify: SKIP (d) TIMEOUT (BS_SKIP_TIMEOUT=1)"; fi

[ "$FAIL" = 0 ] && echo "verify: all OK" || echo "verify: SOME CHECKS FAILED"
exit "$FAIL"
