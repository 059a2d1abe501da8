"""`benchmarks/bench.py --quick` runs fit() for every configuration and prints one valid JSON line per (config,
loader)."""

import json, math, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench.py"
CONFIGS = ["dense", "rigl", "rigl+correction", "rigl+replay", "rigl+replay+stats0.25"]
LOADERS = ["gpu", "dataloader"]
NUMBERS = ["s_per_epoch", "images_per_s", "epoch_tflop", "tflops", "executed_epoch_tflop", "executed_tflops"]
KEYS = {
    "device",
    "torch",
    "config",
    "method",
    "correction",
    "loader",
    "model",
    "batch_size",
    "density",
    "n_train",
    "epochs",
    "timed_epochs",
    "amp",
    "compile",
    "epoch_seconds",
    "replay_gb",
    "peak_gb",
    *NUMBERS,
}


def run_bench(*args, timeout=600):
    p = subprocess.run([sys.executable, str(BENCH), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"bench.py {' '.join(args)} failed ({p.returncode}):\n{p.stderr[-3000:]}"
    return p


def parse_lines(stdout):
    lines = [l for l in stdout.splitlines() if l.strip()]
    return [json.loads(l) for l in lines]  # every stdout line must be JSON


@pytest.fixture(scope="module")
def quick():
    p = run_bench("--quick", "--device", "cpu")
    return p, parse_lines(p.stdout)


def test_one_line_per_config_and_loader(quick):
    _, rows = quick
    assert [(r["config"], r["loader"]) for r in rows] == [(c, l) for c in CONFIGS for l in LOADERS]


def test_keys_and_positive_numbers(quick):
    p, rows = quick
    for r in rows:
        missing = KEYS - set(r)
        assert not missing, f"{r['config']}/{r['loader']} lacks {missing}"
        for k in NUMBERS:
            assert isinstance(r[k], (int, float)) and math.isfinite(r[k]) and r[k] > 0, (
                r["config"],
                r["loader"],
                k,
                r[k],
            )
        assert r["torch"] and r["device"].startswith("cpu") and r["model"] == "wrn-10-1"
        assert r["timed_epochs"] == r["epochs"] - 1 >= 1 and len(r["epoch_seconds"]) == r["epochs"]
        assert r["images_per_s"] == pytest.approx(r["n_train"] / r["s_per_epoch"])
        assert r["tflops"] == pytest.approx(r["epoch_tflop"] / r["s_per_epoch"])
        assert r["s_per_epoch"] == pytest.approx(sum(r["epoch_seconds"][1:]) / r["timed_epochs"])
    assert "floor" in p.stderr and "42.6 TFLOP" in p.stderr


def test_ratios_and_flops(quick):
    _, rows = quick
    by = {(r["config"], r["loader"]): r for r in rows}
    for l in LOADERS:
        c, rigl, dense = by[("rigl+correction", l)], by[("rigl", l)], by[("dense", l)]
        assert "correction_over_rigl" in c and "correction_over_rigl" not in rigl
        assert c["correction_over_rigl"] == pytest.approx(c["s_per_epoch"] / rigl["s_per_epoch"])
        # theoretical FLOPs: RigL at density 0.2 < dense < RigL + correction; the same per method for both loaders
        assert rigl["epoch_tflop"] < dense["epoch_tflop"] < c["epoch_tflop"]
        assert rigl["executed_epoch_tflop"] == pytest.approx(
            dense["executed_epoch_tflop"]
        )  # masks run as dense tensors
        rp, rq = by[("rigl+replay", l)], by[("rigl+replay+stats0.25", l)]
        assert (
            rq["epoch_tflop"] < rp["epoch_tflop"] < c["epoch_tflop"]
        )  # replay skips the snapshot pass (10 → 7 per image)
        assert rp["replay_gb"] > rq["replay_gb"] > 0 == c["replay_gb"]
        assert rp["correction_over_rigl"] == pytest.approx(rp["s_per_epoch"] / rigl["s_per_epoch"])
    for cfg in CONFIGS:
        dl = by[(cfg, "dataloader")]
        assert dl["dataloader_over_gpu"] == pytest.approx(dl["s_per_epoch"] / by[(cfg, "gpu")]["s_per_epoch"])
        assert by[(cfg, "gpu")]["epoch_tflop"] == pytest.approx(dl["epoch_tflop"])


def test_bad_arguments_fail(capsys):
    sys.path.insert(0, str(BENCH.parent))
    import bench

    for args in (["--configs", "nope"], ["--epochs", "1"], ["--loaders", "gpu,disk"]):
        with pytest.raises(SystemExit) as e:
            bench.main(["--quick", *args])
        assert e.value.code != 0
    assert capsys.readouterr().out == ""  # nothing was run
