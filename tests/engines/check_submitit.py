"""Manual check (not collected by pytest): submitit SlurmExecutor on the up.sh cluster.
Usage: . $STATE/env.sh && /work/main/.venv/bin/python tests/engines/check_submitit.py
"""

import os, time, submitit


def add(a, b):
    import socket, time

    time.sleep(8)  # long enough for sacct to report RUNNING
    return a + b, socket.gethostname()


folder = os.path.join(os.environ["BS_ENGINES_DIR"], "submitit", "%j")
ex = submitit.AutoExecutor(folder=folder, cluster="slurm")
ex.update_parameters(
    timeout_min=2,
    slurm_partition=os.environ.get("BS_SLURM_PARTITION", "debug"),
    cpus_per_task=1,
    mem_gb=1,
    slurm_additional_parameters={},
)
import subprocess

# occupy all CPUs for a few seconds so the submitit job is seen PENDING first
blocker = subprocess.run(
    ["sbatch", "--parsable", f"--cpus-per-task={os.cpu_count()}", "--wrap", "sleep 8"],
    check=True,
    capture_output=True,
    text=True,
).stdout.strip()
print("blocker job", blocker)
t0 = time.time()
job = ex.submit(add, 2, 3)
seen = []
while not job.done():
    s = job.state
    if not seen or seen[-1] != s:
        seen.append(s)
        print(f"{time.time() - t0:5.1f}s job {job.job_id} state {s}", flush=True)
    time.sleep(0.2)
res = job.result()
print("result", res, f"{time.time() - t0:.1f}s")
for _ in range(30):  # sacct is fed asynchronously by slurmctld; give it a moment
    s = job.state
    if seen[-1] != s:
        seen.append(s)
    if s == "COMPLETED":
        break
    time.sleep(1)
print("final state", job.state, "states seen", seen, f"{time.time() - t0:.1f}s")
