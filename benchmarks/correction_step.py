"""Time one corrected training step, plain (two passes) vs fused (`paired_forward`), interleaved, on random data.

    python benchmarks/correction_step.py --model wrn-22-2 --batch-size 128 --device cuda

Each mode gets its own model, optimizer, masks and `GradientCorrection`; the modes take turns, one block of `--steps`
steps at a time, `--rounds` times, so that a noisy machine slows both alike. Prints one JSON line per mode with the
median and the minimum seconds per step over the rounds. Timing only: the data are random and nothing is learned.
"""

from __future__ import annotations
import argparse, contextlib, json, os, platform, statistics, time
import torch
from balance_sparse.models import get_model
from balance_sparse.masking import Masking
from balance_sparse.correction import GradientCorrection

MODES = ("plain", "fused")


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(
    mode: str,
    model_name="wrn-10-1",
    batch_size=128,
    dropout=0.0,
    device="cpu",
    amp=False,
    channels_last=False,
    density=0.2,
    seed=0,
):
    """A closure running one corrected step (forward, backward, correction, SGD, masking) of `mode` on a fixed random
    batch."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    device = torch.device(device)
    fmt = torch.channels_last if channels_last else torch.preserve_format
    torch.manual_seed(seed)
    model = get_model(model_name, dropout=dropout).to(device, memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    masking = Masking(model, density, "erk", seed=seed, optimizer=opt)
    corr = GradientCorrection(model, fused=mode == "fused")
    corr.tau = 0.5  # γτ ≠ 0, so the correction runs
    x = torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch_size,), device=device)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if amp else contextlib.nullcontext

    def step():
        with autocast():
            out, loss = corr.forward(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        with autocast():
            corr.correct(x, y, loss)
        opt.step()
        masking.apply()

    return step


def compare(
    modes=MODES,
    model_name="wrn-10-1",
    batch_size=128,
    dropout=0.0,
    steps=5,
    warmup=2,
    rounds=5,
    device="cpu",
    amp=False,
    channels_last=None,
) -> list[dict]:
    "Seconds per corrected step of each mode, measured in alternating blocks; one dict per mode."
    device = torch.device(device)
    channels_last = device.type == "cuda" if channels_last is None else channels_last
    fns = {m: make_step(m, model_name, batch_size, dropout, device, amp, channels_last) for m in modes}
    for f in fns.values():
        for _ in range(warmup):
            f()
    times = {m: [] for m in modes}
    for _ in range(rounds):
        for m, f in fns.items():
            _sync(device)
            t = time.perf_counter()
            for _ in range(steps):
                f()
            _sync(device)
            times[m].append((time.perf_counter() - t) / steps)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu ({platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"
    )
    rows = []
    for m in modes:
        med, best = statistics.median(times[m]), min(times[m])
        rows.append(
            {
                "mode": m,
                "model": model_name,
                "batch_size": batch_size,
                "dropout": dropout,
                "amp": amp,
                "channels_last": channels_last,
                "device": name,
                "torch": torch.__version__,
                "s_per_step_median": med,
                "s_per_step_min": best,
                "images_per_s_median": batch_size / med,
                "rounds": [round(t, 5) for t in times[m]],
            }
        )
    if "plain" in times and "fused" in times:
        for r in rows:
            r["fused_over_plain_median"] = statistics.median(times["fused"]) / statistics.median(times["plain"])
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="wrn-10-1", help="wrn-22-2, wrn-10-1, ... (balance_sparse.models.get_model)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--steps", type=int, default=5, help="steps per timed block")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5, help="timed blocks per mode, alternating")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument(
        "--amp", action=argparse.BooleanOptionalAction, default=None, help="bf16 autocast (default: on for CUDA)"
    )
    ap.add_argument("--modes", default=",".join(MODES))
    a = ap.parse_args(argv)
    amp = torch.device(a.device).type == "cuda" if a.amp is None else a.amp
    for row in compare(
        a.modes.split(","), a.model, a.batch_size, a.dropout, a.steps, a.warmup, a.rounds, a.device, amp
    ):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
