"""Resuming restores model, optimiser and scheduler state and continues identically."""
from __future__ import annotations

import copy
from pathlib import Path

import torch
from mmengine.hooks import Hook

from mmselfsup_ext.engine import build_runner, load_config, prepare_training_config
from mmselfsup_ext.utils import load_checkpoint_file

CONFIG = "simmim/simmim_swin_nano_fpn_1xb8-coslr-2e.py"
CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "selfsup"


class StartState(Hook):
    """Snapshot of everything a resume must restore, taken when the training loop starts."""

    def before_train(self, runner) -> None:
        self.iter, self.epoch = runner.iter, runner.epoch
        self.model = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
        # Deep copies: the optimiser updates its state tensors in place later on.
        self.optimizer = copy.deepcopy(runner.optim_wrapper.state_dict())
        self.schedulers = copy.deepcopy([s.state_dict() for s in runner.param_schedulers])


def _assert_same(a, b, where: str = "") -> None:
    """Recursive exact equality of nested dicts/lists of tensors and numbers."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _train(data_root: Path, work_dir: Path, max_epochs: int, resume: str | None = None) -> tuple:
    """The CPU MIM config made deterministic: no dropout, fixed resize, per-image seeded masks."""
    cfg = load_config(CONFIGS / CONFIG, {
        "train_dataloader.dataset.data_root": str(data_root),
        "train_dataloader.batch_size": 2,
        "train_dataloader.num_workers": 0,
        "train_dataloader.persistent_workers": False,
        "train_cfg.max_epochs": max_epochs,
        "model.backbone.drop_path_rate": 0.0,
        "model.backbone.dropout": 0.0,
        "randomness.seed": 0,
    })
    cfg.train_dataloader.dataset.pipeline = [
        dict(type="LoadImage"),
        dict(type="Resize", size=128),
        dict(type="SimMIMMaskGenerator", input_size=128, mask_patch_size=32, model_patch_size=4,
             mask_ratio=0.6, seed=0),
        dict(type="PackSelfSupInputs"),
    ]
    cfg.train_dataloader.sampler.shuffle = False
    prepare_training_config(cfg, CONFIG, work_dir=str(work_dir), resume=resume)
    runner = build_runner(cfg)
    start = StartState()
    runner.register_hook(start, priority="VERY_LOW")
    runner.train()
    return runner, start


def test_auto_resume_restores_state_and_continues_identically(tmp_path, concrete_left):
    data_root = tmp_path / "data"
    data_root.mkdir()
    for i in range(2):
        concrete_left.crop((0, 140 * i, 140, 140 * i + 140)).save(data_root / f"img_{i}.png")
    work_dir = tmp_path / "work"

    # Uninterrupted: 3 epochs of one iteration each.
    straight, _ = _train(data_root, work_dir, max_epochs=3)
    assert straight.iter == 3
    final_straight = {k: v.clone() for k, v in straight.model.state_dict().items()}
    saved = load_checkpoint_file(work_dir / "epoch_2.pth")

    # Interrupted after epoch 2: point the work dir's latest checkpoint back at it.
    (work_dir / "epoch_3.pth").unlink()
    (work_dir / "last_checkpoint").write_text(str(work_dir / "epoch_2.pth"))
    resumed, start = _train(data_root, work_dir, max_epochs=3, resume="auto")

    assert (start.iter, start.epoch) == (2, 2)
    _assert_same(start.model, saved["state_dict"], "model")
    _assert_same(start.optimizer, saved["optimizer"], "optimizer")
    _assert_same(start.schedulers, saved["param_schedulers"], "schedulers")
    assert resumed.iter == 3
    for key, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, final_straight[key], rtol=1e-5, atol=1e-6, msg=key)
    # The resumed iteration did move the weights (the check above is not vacuous).
    assert any(not torch.equal(saved["state_dict"][k], v) for k, v in final_straight.items())
