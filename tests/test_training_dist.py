"""tools/dist_train.sh: 2 gloo processes train exactly like 1 process on the same global batch.

Set-up that makes the two runs comparable (and why):
- CPU SwinFpnMIM config, dropout and drop-path off, fixed resize, per-image seeded
  masks, no shuffling, constant learning rate: no randomness differs between runs.
- DDP: 2 processes x batch 1 for 2 iterations; rank r sees images r, r+2 (DefaultSampler).
  Single process: batch 1 for 4 iterations with 2-step gradient accumulation, seeing
  images 0, 1 (one optimiser step), 2, 3 (another). Both average the same per-image
  gradients, and BatchNorm normalises each image on its own in both (batch 1), which
  a 1 x 2 vs 2 x 1 split of one batch would not.
Rank 0 logs its own loss: image 0 at iteration 1 and image 2 after one update, which
the single process logs at iterations 1 and 3. Final weights must match as well
(BatchNorm running statistics excluded: each DDP rank keeps its own).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmselfsup_ext.engine import build_runner, load_config, prepare_training_config
from mmselfsup_ext.utils import load_checkpoint_file

REPO = Path(__file__).resolve().parents[1]
BASE_CONFIG = REPO / "configs" / "selfsup" / "simmim" / "simmim_swin_nano_fpn_1xb8-coslr-2e.py"

TEST_CONFIG = """
_base_ = [{base!r}]
model = dict(backbone=dict(drop_path_rate=0.0, dropout=0.0))
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="Resize", size=128),
    dict(type="SimMIMMaskGenerator", input_size=128, mask_patch_size=32, model_patch_size=4,
         mask_ratio=0.6, seed=0),
    dict(type="PackSelfSupInputs"),
]
train_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False, sampler=dict(shuffle=False),
    dataset=dict(data_root={data_root!r}, pipeline=train_pipeline),
)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = []
train_cfg = dict(_delete_=True, type="IterBasedTrainLoop", max_iters=2)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1), logger=dict(interval=1))
log_processor = dict(by_epoch=False, window_size=1)
randomness = dict(seed=0)
"""


# Ends only a hung subprocess, loudly (TimeoutExpired). Not a speed limit: on 2
# shared cores under load the slowest run here took a fraction of it.
_HANG_GUARD_S = 900
# Launches tried before giving up on finding a port nobody else took meanwhile.
_PORT_ATTEMPTS = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dist_train(config: Path, work_dir: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Run tools/dist_train.sh with 2 processes, on a port that is free when torchrun binds it.

    dist_train.sh takes a fixed PORT, and a port found free here can be taken by
    another process (e.g. the other test worker's gloo ranks) before torchrun binds it.
    That clash is reported as EADDRINUSE before any training starts, so the launch is
    simply repeated on another port; any other failure is returned at once.
    """
    for _ in range(_PORT_ATTEMPTS):
        # PYTHON: the interpreter running the tests, whether or not the checkout has a .venv.
        env = dict(os.environ, PORT=str(_free_port()), OMP_NUM_THREADS="1", PYTHON=sys.executable)
        result = subprocess.run(
            ["bash", str(REPO / "tools" / "dist_train.sh"), str(config), "2", "--work-dir", str(work_dir)],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=_HANG_GUARD_S,
        )
        if result.returncode == 0 or "EADDRINUSE" not in result.stderr:
            return result
        shutil.rmtree(work_dir, ignore_errors=True)
    return result


def _losses(work_dir: Path) -> dict[int, float]:
    (scalars,) = work_dir.glob("*/vis_data/scalars.json")
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    return {row["iter"]: row["loss"] for row in rows if "loss" in row}


def _trainable_state(path: Path) -> dict[str, torch.Tensor]:
    state = load_checkpoint_file(path)["state_dict"]
    return {k: v for k, v in state.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))}


@pytest.mark.process
def test_two_gloo_processes_match_one_process(tmp_path, concrete_left):
    data_root = tmp_path / "data"
    data_root.mkdir()
    for i in range(4):
        concrete_left.crop((0, 120 * i, 140, 120 * i + 140)).save(data_root / f"img_{i}.png")
    config = tmp_path / "dist_check.py"
    config.write_text(TEST_CONFIG.format(base=str(BASE_CONFIG), data_root=str(data_root)))

    ddp_dir = tmp_path / "ddp"
    result = _dist_train(config, ddp_dir, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gloo" in result.stdout + result.stderr  # mmengine reports the backend in its env info

    single_dir = tmp_path / "single"
    cfg = load_config(config, {"train_cfg.max_iters": 4, "optim_wrapper.accumulative_counts": 2,
                               "default_hooks.checkpoint.interval": 2})
    prepare_training_config(cfg, str(config), work_dir=str(single_dir))
    torch.set_num_threads(1)  # the DDP processes ran with one thread each
    build_runner(cfg).train()

    ddp_losses, single_losses = _losses(ddp_dir), _losses(single_dir)
    assert ddp_losses[1] == pytest.approx(single_losses[1], rel=1e-5)
    assert ddp_losses[2] == pytest.approx(single_losses[3], rel=1e-4)
    assert ddp_losses[1] != pytest.approx(ddp_losses[2], rel=1e-3)  # different images / weights

    ddp_final, single_final = _trainable_state(ddp_dir / "iter_2.pth"), _trainable_state(single_dir / "iter_4.pth")
    ddp_first = _trainable_state(ddp_dir / "iter_1.pth")
    assert ddp_final.keys() == single_final.keys()
    moved = max((ddp_final[k] - ddp_first[k]).abs().max().item() for k in ddp_final)
    gap = max((ddp_final[k] - single_final[k]).abs().max().item() for k in ddp_final)
    assert moved > 1e-4  # the second update changed the weights ...
    assert gap < 1e-5 < moved / 10  # ... identically in both runs
