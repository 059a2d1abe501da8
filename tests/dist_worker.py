"""One small float64 fit, alone or as one rank of `torchrun`; rank 0 saves what the run ended with
(tests/test_distributed.py).

usage: dist_worker.py OUT.pt RUN_DIR [stop_after_steps]
env: SIZES=train,val,test (default 139,37,29: no split divides by the batch or by 2 or 3 ranks), BATCH (32),
     FAIL_AT_STEP=k (rank 1 raises after step k), PAIRING (lagged), MODE (faithful), EPOCHS (2),
     INTERVAL (2)"""

import os, sys
import torch, torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import quadrant_data
from balance_sparse import fit, wrn

out, run_dir = sys.argv[1], sys.argv[2]
stop = int(sys.argv[3]) if len(sys.argv) > 3 else None
n_train, n_val, n_test = map(int, os.environ.get("SIZES", "139,37,29").split(","))
if int(os.environ.get("WORLD_SIZE", "1")) > 1:
    dist.init_process_group("gloo")
rank, size = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
fail_at = int(os.environ.get("FAIL_AT_STEP", "0"))

same_masks = []  # after every step: is every rank's mask checksum rank 0's?


def on_step(state):
    if rank == 1 and state["step"] == fail_at:
        raise RuntimeError(f"rank 1 fails at step {fail_at} (test)")
    c = (
        torch.stack([(m.flatten().nonzero().double() + 1).square().sum() for m in state["masking"].masks.values()])
        .sum()
        .view(1)
    )
    if size > 1:
        every = [torch.zeros_like(c) for _ in range(size)]
        dist.all_gather(every, c)
        same_masks.append(all(torch.equal(e, every[0]) for e in every))


torch.manual_seed(0)
model = wrn(10, 1, num_classes=4, dropout=0.0).double()
metrics = fit(
    model,
    quadrant_data(n_train, 0),
    quadrant_data(n_test, 1),
    val=quadrant_data(n_val, 2),
    method="rigl",
    correction=True,
    epochs=int(os.environ.get("EPOCHS", "2")),
    batch_size=int(os.environ.get("BATCH", "32")),
    interval=int(os.environ.get("INTERVAL", "2")),
    density=0.3,
    augment=False,
    device="cpu",
    run_dir=run_dir,
    progress=False,
    on_step=on_step,
    stop_after_steps=stop,
    pairing=os.environ.get("PAIRING", "lagged"),
    correction_mode=os.environ.get("MODE", "faithful"),
)
if rank == 0:
    ck = torch.load(os.path.join(run_dir, "checkpoint.pt"), weights_only=False)
    torch.save(
        {
            "metrics": metrics,
            "model": model.state_dict(),
            "masks": ck["masking"]["masks"],
            "correction": ck["correction"],
            "same_masks": same_masks,
        },
        out,
    )
if dist.is_initialized():
    dist.destroy_process_group()
