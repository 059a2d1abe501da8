"""Manual check (not collected by pytest): Optuna study on the up.sh PostgreSQL.
Usage: . $STATE/env.sh && /work/main/.venv/bin/python tests/engines/check_optuna.py [study-name]
Reads BS_PG_URL from $BS_PG_ENV (never from the command line).
"""

import os, sys, time, optuna


def pg_url():
    with open(os.environ["BS_PG_ENV"]) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k == "BS_PG_URL":
                return v
    raise SystemExit("BS_PG_URL not found")


name = sys.argv[1] if len(sys.argv) > 1 else f"bs-check-{int(time.time())}"
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(study_name=name, storage=pg_url(), load_if_exists=True)
study.optimize(lambda t: (t.suggest_float("x", -1, 1)) ** 2, n_trials=2)
print("study", study.study_name, "trials", [(t.number, t.state.name, round(t.value, 4)) for t in study.trials])
print("studies in storage", [s.study_name for s in optuna.get_all_study_summaries(pg_url())])
