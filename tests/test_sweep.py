"""A sweep's runs at once: GPUS slots (tested with two named slots on the CPU), SLURM through submitit's local executor,
`make status`, and the checks that stop a bad GPUS / SLURM value before any run."""

import json, os, re, shlex, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
from balance_sparse.runs import RunFolder
from balance_sparse.files import write_json
from conftest import ctrl_c_default

ROOT = Path(__file__).resolve().parents[1]
DEMO = ["DENSITY=0.2,0.5", "EPOCHS=1"]  # 4 runs of 1 epoch each: baseline and corrected at two densities


def make(*args, cwd=ROOT, timeout=600):
    r = subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), f"VENV={ROOT / '.venv'}", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    r.out = r.stdout + r.stderr
    return r


@pytest.fixture
def workdir(tmp_path):
    "A folder to run the Makefile's sweeps in: nbs/ is the repository's, runs/ is its own."
    (tmp_path / "nbs").symlink_to(ROOT / "nbs")
    return tmp_path


def sequential_commands(out):
    "The papermill commands of a sequential `make -n` (one per run line)."
    return [re.search(r'&& echo "(.*?)" && ', l).group(1) for l in out.splitlines() if l.startswith("if grep")]


def queued_commands(out):
    "The commands a GPUS/SLURM `make -n` appends to its job list."
    return [re.match(r"echo '(.*)' >> \S+/jobs\.txt$", l).group(1) for l in out.splitlines() if l.startswith("echo '")]


def run_dir_of(cmd):
    return shlex.split(cmd)[shlex.split(cmd).index("run_dir") + 1]


def test_gpus_lists_exactly_the_sequential_sweep(workdir):
    "The first part of the test below, without its real runs: GPUS queues the sequential sweep's commands."
    seq = make("-n", "demo", *DEMO, cwd=workdir)
    par = make("-n", "demo", "GPUS=a,b", *DEMO, cwd=workdir)
    assert seq.returncode == par.returncode == 0, seq.out + par.out
    commands = sequential_commands(seq.stdout)
    assert len(commands) == 4 and queued_commands(par.stdout) == commands  # the same runs, the same commands
    assert (
        par.stdout.strip().splitlines()[-2].endswith("--gpus 'a,b'") and not (workdir / "runs").exists()
    )  # -n ran nothing


# slow: 4 real trainings on 2 slots, then the sweep again (about a minute on 2 cores); the test above checks the
# commands, and nbs/14a_sweep.ipynb the runner (slots, one job per slot at a time, skips, the record) on quick fake jobs
@pytest.mark.slow
def test_gpus_runs_exactly_the_sequential_sweep_one_job_per_slot(workdir):
    seq = make("-n", "demo", *DEMO, cwd=workdir)
    par = make("-n", "demo", "GPUS=a,b", *DEMO, cwd=workdir)
    assert seq.returncode == par.returncode == 0, seq.out + par.out
    commands = sequential_commands(seq.stdout)
    assert len(commands) == 4 and queued_commands(par.stdout) == commands  # the same runs, the same commands
    assert (
        par.stdout.strip().splitlines()[-2].endswith("--gpus 'a,b'") and not (workdir / "runs").exists()
    )  # -n ran nothing

    t0 = time.time()
    r = make("demo", "GPUS=a,b", *DEMO, cwd=workdir)
    took = time.time() - t0
    assert r.returncode == 0, r.out[-3000:]
    folders = [run_dir_of(c) for c in commands]
    assert sorted(str(p.parent.relative_to(workdir)) for p in workdir.glob("runs/digits/*/*/*/train.ipynb")) == sorted(
        folders
    )
    for f in folders:
        assert json.loads((workdir / f / "final.json").read_text())["status"] == "complete"
        assert not (workdir / f / "running.json").exists()
    rec = json.loads(next(workdir.glob("runs/.sweeps/*/sweep.json")).read_text())
    assert rec["slots"] == ["a", "b"] and [e["run_dir"] for e in rec["jobs"]] == folders
    assert {e["state"] for e in rec["jobs"]} == {"complete"} and {e["slot"] for e in rec["jobs"]} == {"a", "b"}
    for slot in "ab":  # never two jobs at once on one slot
        spans = sorted((e["start"], e["end"]) for e in rec["jobs"] if e["slot"] == slot)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans
    for e in rec["jobs"]:  # each job's output, with its slot
        log = (workdir / e["run_dir"] / "train.log").read_text()
        assert f"CUDA_VISIBLE_DEVICES={e['slot']}\n" in log and "Executing notebook" in log
    starts = sorted(e["start"] for e in rec["jobs"])
    ends = sorted(e["end"] for e in rec["jobs"])
    assert starts[1] < ends[0]  # and the two slots did overlap
    print(f"4 demo runs on 2 slots: {took:.0f} s")

    mtimes = {f: (workdir / f / "train.ipynb").stat().st_mtime for f in folders}
    again = make("demo", "GPUS=a,b", *DEMO, cwd=workdir)  # a second time: all complete, skipped
    assert again.returncode == 0 and "4 skipped, 0 to run" in again.stdout, again.out
    assert all(f"skip {f}: complete" in again.stdout for f in folders)
    assert mtimes == {f: (workdir / f / "train.ipynb").stat().st_mtime for f in folders}


# slow: three real sweeps through make (3 trainings, about a minute); nbs/14b_slurm.ipynb tests the same submit, skip
# and resubmit logic through submitit's local executor on quick fake jobs in `make test`
@pytest.mark.slow
def test_slurm_through_submitits_local_executor(workdir):
    r = make("demo", "SLURM=local", "WAIT=yes", "TIME=30", "DENSITY=0.5", "EPOCHS=1", cwd=workdir)
    assert r.returncode == 0, r.out[-3000:]
    folders = ["runs/digits/rigl-erk-base-e1/density0.5/seed0", "runs/digits/rigl-erk-agc-e1/density0.5/seed0"]
    jobs = {}
    for f in folders:
        assert json.loads((workdir / f / "final.json").read_text())["status"] == "complete"
        jobs[f] = json.loads((workdir / f / "job.json").read_text())
        assert jobs[f]["cluster"] == "local" and f"submitted {f} as local job {jobs[f]['job_id']}" in r.stdout
        assert Path(jobs[f]["submitit_log"]).exists() and (workdir / f / "train.log").exists()
    assert "submit: 2 complete" in r.stdout and "(30 min, 1 GPU(s) per job)" in r.stdout

    again = make("demo", "SLURM=local", "WAIT=yes", "DENSITY=0.5", "EPOCHS=1", cwd=workdir)  # re-submitted: skipped
    assert again.returncode == 0 and "submit: 2 skipped" in again.stdout, again.out
    assert all(json.loads((workdir / f / "job.json").read_text()) == jobs[f] for f in folders)

    f = workdir / folders[1]  # an unfinished run is submitted again
    final = json.loads((f / "final.json").read_text())
    write_json(f / "final.json", {**final, "status": "failed", "error": "OSError: node lost"})
    third = make("demo", "SLURM=local", "WAIT=yes", "DENSITY=0.5", "EPOCHS=1", cwd=workdir)
    assert third.returncode == 0 and "submit: 1 complete, 1 skipped" in third.stdout, third.out
    final = json.loads((f / "final.json").read_text())
    assert (
        final["status"] == "complete" and final["started_at_epoch"] == 1
    )  # resumed from its checkpoint, not retrained


def _hand_built_runs(runs):
    "One run folder per state, written as the code writes them."

    def run(name, rows, **final):
        f = RunFolder(runs / "digits" / name / "density0.2" / "seed0")
        f.start(
            {"epochs": 10},
            [
                {"epoch": e + 1, "val_acc": 0.6, "test_acc": 0.5 + e / 100, "seconds": 3.0 * (e + 1)}
                for e in range(rows)
            ],
            ["epoch", "val_acc", "test_acc", "seconds"],
        )
        if final:
            f.finish(**final)
        return f

    run("rigl-erk-agc", 10, status="complete")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    run("rigl-erk-base", 3).beat(pid=sleeper.pid)  # a live process trains it
    run("set-erk-agc", 2, status="failed", error="FloatingPointError: training loss became nan at epoch 3")
    run("set-erk-base", 5).beat(pid=2**22 + 7)  # killed: its process is gone
    f = run("static-erk-agc", 4)
    write_json(f.running, {**f.heartbeat(), "host": "gpu-node-17", "time": time.time() - 300})
    return sleeper


def test_status_reads_every_state_from_the_folders(workdir):
    sleeper = _hand_built_runs(workdir / "runs")
    try:
        r = make("status", cwd=workdir)
        assert r.returncode == 0, r.out
        lines = r.stdout.strip().splitlines()
        assert lines[0].split() == ["state", "epochs", "val", "%", "test", "%", "updated", "run", "note"]
        state = {next(w for w in l.split() if w.startswith("runs/")): l for l in lines[1:-1]}
        assert state["runs/digits/rigl-erk-agc/density0.2/seed0"].split()[:4] == ["complete", "10/10", "60.00", "59.00"]
        assert (
            state["runs/digits/rigl-erk-base/density0.2/seed0"].startswith("running")
            and f"pid {sleeper.pid} on" in state["runs/digits/rigl-erk-base/density0.2/seed0"]
        )
        assert (
            "failed" in state["runs/digits/set-erk-agc/density0.2/seed0"]
            and "FloatingPointError" in state["runs/digits/set-erk-agc/density0.2/seed0"]
        )
        assert (
            state["runs/digits/set-erk-base/density0.2/seed0"].startswith("stopped")
            and "killed: no final.json" in state["runs/digits/set-erk-base/density0.2/seed0"]
        )
        assert (
            state["runs/digits/static-erk-agc/density0.2/seed0"].startswith("running")
            and "heartbeat from gpu-node-17 5 min ago" in state["runs/digits/static-erk-agc/density0.2/seed0"]
        )
        assert lines[-1] == "5 runs: 1 complete, 2 running, 1 failed, 1 stopped, 0 not started"
        sweep = make("status", "SWEEP=demo", "DENSITY=0.2,0.5", cwd=workdir)  # one sweep's runs, started or not
        assert sweep.returncode == 0, sweep.out
        assert (
            sweep.stdout.strip().splitlines()[-1] == "4 runs: 1 complete, 1 running, 0 failed, 0 stopped, 2 not started"
        )
        assert "python" not in sweep.stdout and not list(
            workdir.glob("runs/.sweeps/*")
        )  # quiet, and leaves no job list
    finally:
        sleeper.kill()
        sleeper.wait()


def test_matrix_full_gathers_one_job_list(workdir):
    r = make("-n", "cifar10", "MATRIX=full", "DENSITY=0.1", "GPUS=0,1", cwd=workdir)
    assert r.returncode == 0, r.out
    lists = set(re.findall(r"runs/\.sweeps/[^/]+/jobs\.txt", r.stdout))
    assert len(lists) == 1 and len(queued_commands(r.stdout)) == 36  # all 18 targets × 2 into one list
    runners = [l for l in r.stdout.splitlines() if "balance_sparse.sweep run" in l]
    assert len(runners) == 1 and r.stdout.strip().splitlines()[-1] == runners[0]  # one runner, after every sub-make
    lines = r.stdout.splitlines()
    assert lines.index(next(l for l in lines if "/pruning-erk-base/" in l)) < lines.index(
        next(l for l in lines if "/lottery-erk-base/" in l)
    )


# slow: 18 sub-makes, each starting Python (and torch) to check its values: most of a minute on 2 cores; the test above
# checks the same single job list through make -n
@pytest.mark.slow
def test_matrix_full_status_is_gathered_by_the_sub_makes(workdir):
    st = make("status", "SWEEP=cifar10 MATRIX=full", "DENSITY=0.1", cwd=workdir)  # really gathered by the sub-makes
    assert (
        st.returncode == 0
        and st.stdout.strip().splitlines()[-1] == "36 runs: 0 complete, 0 running, 0 failed, 0 stopped, 36 not started"
    ), st.out


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["GPUS=0,,1"],
            "GPUS must be a comma-separated list of distinct GPU indices or UUIDs, e.g. 0,1,2,3, got '0,,1'",
        ),
        (["GPUS=1,1"], "GPUS must be a comma-separated list of distinct GPU indices or UUIDs, e.g. 0,1,2,3, got '1,1'"),
        (["SLURM=maybe"], "SLURM must be true/false, yes/no, on/off, 1/0 (any case) or local, got 'maybe'"),
        (
            ["SLURM=local", "TIME=1h"],
            "TIME must be a Slurm time limit > 0 (minutes, H:M:S, D-H or D-H:M:S, e.g. 24:00:00), got '1h'",
        ),
        (
            ["SLURM=local", "PARTITION=gpu a100"],
            "PARTITION must be a Slurm partition name (letters, digits, _ . -; several separated by commas), "
            "got 'gpu a100'",
        ),
        (
            ["SLURM=local", "GPUS_PER_JOB=two"],
            "GPUS_PER_JOB must be a whole number >= 0 (GPUs per Slurm job), got 'two'",
        ),
        (
            ["GPUS=0,1", "SLURM=yes"],
            "GPUS=0,1 runs on this machine's GPUs and SLURM=yes on a cluster: give one of them",
        ),
        (["PARTITION=gpu"], "PARTITION is an option of SLURM=1 (or SLURM=local), given without it: PARTITION=gpu"),
        (["STATUS=perhaps"], "STATUS must be true/false, yes/no, on/off or 1/0 (any case), got 'perhaps'"),
    ],
)
def test_bad_sweep_options_stop_before_any_run(workdir, args, line):
    r = make("demo", *args, cwd=workdir)
    assert r.returncode != 0 and line in r.out, r.out
    assert (
        len([l for l in r.out.splitlines() if "must be" in l or "given without it" in l or "give one of them" in l])
        == 1
    ), r.out
    assert not (workdir / "runs").exists()


@pytest.mark.skipif(shutil.which("sbatch") is not None, reason="Slurm is installed here")
def test_slurm_without_a_cluster(workdir):
    r = make("demo", "SLURM=1", cwd=workdir)
    assert (
        r.returncode != 0
        and "SLURM=1 needs a Slurm cluster, but sbatch is not on this machine's PATH" in r.out
        and not (workdir / "runs").exists()
    )


SLOW_JOB = (
    "import os, sys, time, pathlib; d = pathlib.Path(sys.argv[sys.argv.index('run_dir') + 1]); "
    "(d / 'config.json').write_text('{}'); (d / 'pid').write_text(str(os.getpid())); time.sleep(120)"
)


def test_ctrl_c_stops_every_job(tmp_path):
    jobs = tmp_path / "jobs.txt"
    jobs.write_text(
        "".join(shlex.join([sys.executable, "-c", SLOW_JOB, "-p", "run_dir", f"runs/r{i}"]) + "\n" for i in range(3))
    )
    p = subprocess.Popen(
        [sys.executable, "-m", "balance_sparse.sweep", "run", str(jobs), "--gpus", "a,b"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=ctrl_c_default,  # Ctrl-C reaches it as in a terminal
    )
    pids = [tmp_path / f"runs/r{i}/pid" for i in range(2)]
    end = time.time() + 60
    while time.time() < end and not all(f.exists() for f in pids):
        time.sleep(0.2)
    assert all(f.exists() for f in pids), p.stdout.read() if p.poll() is not None else "jobs did not start"
    t0 = time.time()
    os.kill(p.pid, signal.SIGINT)
    out = p.communicate(timeout=60)[0]
    assert p.returncode == 130 and time.time() - t0 < 20, out
    for f in pids:
        pid = int(f.read_text())
        assert (
            not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"
        )
    rec = json.loads((tmp_path / "sweep.json").read_text())
    assert rec["interrupted"] and [e["state"] for e in rec["jobs"]] == ["stopped", "stopped", "not run"], rec
    assert "interrupted: stopping 2 job(s)" in out
