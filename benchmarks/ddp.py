"""torchrun on the CPU: seconds per epoch of one run on 1 process and on 2 gloo processes (the same global batch),
with and without the correction, and the share of rank 0's time inside communication (torch.profiler: gloo collectives).

usage: python benchmarks/ddp.py [--images 1024] [--model wrn-16-2] [--batch 128]   (prints one JSON line per case)
It starts itself under torch.distributed.run for the 2-process cases; each process gets 1 thread."""

import argparse, json, os, subprocess, sys, time
from pathlib import Path


def worker(a):
    import torch, torch.distributed as dist
    from balance_sparse import fit, get_model

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("gloo")
    rank, size = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (a.images, 3, 32, 32), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 10, (a.images,), generator=g)
    torch.manual_seed(0)
    model = get_model(a.model)
    prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) if rank == 0 and size > 1 else None
    if prof:
        prof.start()
    t = time.perf_counter()
    m = fit(
        model,
        (x, y),
        None,
        epochs=a.epochs,
        batch_size=a.batch,
        correction=a.correction,
        progress=False,
        device="cpu",
        interval=10**6,
    )
    wall = time.perf_counter() - t
    if prof:
        prof.stop()
        comm = (
            sum(
                e.self_cpu_time_total
                for e in prof.key_averages()
                if any(k in e.key.lower() for k in ("gloo", "allreduce", "all_reduce", "c10d"))
            )
            / 1e6
        )
    if rank == 0:
        per_epoch = float(m.seconds.iloc[-1] - m.seconds.iloc[0])  # the last epochs (the first holds warm-up)
        print(
            json.dumps(
                {
                    "processes": size,
                    "correction": a.correction,
                    "model": a.model,
                    "images": a.images,
                    "global_batch": a.batch,
                    "seconds_per_epoch": round(per_epoch / (a.epochs - 1), 3),
                    "comm_share": round(comm / wall, 3) if prof else 0.0,
                }
            ),
            flush=True,
        )
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=1024)
    p.add_argument("--model", default="wrn-16-2")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--correction", type=int, default=None)
    p.add_argument("--worker", action="store_true")
    a = p.parse_args()
    if a.worker:
        worker(a)
        sys.exit()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = [
        str(Path(__file__)),
        "--worker",
        "--images",
        str(a.images),
        "--model",
        a.model,
        "--batch",
        str(a.batch),
        "--epochs",
        str(a.epochs),
    ]
    for corr in (0, 1):
        for procs in (1, 2):
            launcher = (
                [sys.executable]
                if procs == 1
                else [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
            )
            subprocess.run(launcher + common + ["--correction", str(corr)], env=env, check=True)
