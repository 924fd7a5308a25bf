"""The CPU SwinFpnMIM, SwinFpnHashCLR and SimCLR configs train 2 iterations, chained as in
the paper. Training goes through the same set-up as tools/train.py.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmselfsup_ext.engine import build_runner, load_config, prepare_training_config
from mmselfsup_ext.utils import load_checkpoint_file

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "selfsup"
MIM_CPU = "simmim/simmim_swin_nano_fpn_1xb8-coslr-2e.py"
HASHCLR_CPU = "hashclr/hashclr_swin_nano_fpn_1xb8_coslr_2e.py"
SIMCLR_CPU = "simclr/simclr_swin_nano_fpn_1xb8_coslr_2e.py"
SPATIAL_CPU = "spatialhash/spatialhash_swin_nano_fpn_1xb8_coslr_6e_concrete.py"


class Recorder(Hook):
    """Keeps the model state at the start of training and every iteration's outputs."""

    def __init__(self) -> None:
        self.start_state: dict[str, torch.Tensor] = {}
        self.outputs: list[dict[str, float]] = []
        self.gammas: list[float | None] = []

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_train(self, runner) -> None:
        self.start_state = {k: v.detach().clone() for k, v in self._model(runner).state_dict().items()}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.outputs.append({k: v.item() if torch.is_tensor(v) else float(v) for k, v in outputs.items()})
        self.gammas.append(getattr(self._model(runner), "gamma", None))


def train(config: str, work_dir: Path, data_root: Path, **options) -> tuple[Recorder, object]:
    """Train ``config`` for 2 epochs of 1 iteration (the first 2 images of ``data_root``).

    The batch is cut from 8 to 2 to keep the test fast on 2 shared cores; everything
    else (model, pipeline, optimiser, hooks) is the config's.
    """
    cfg = load_config(CONFIGS / config, {
        "train_dataloader.dataset.data_root": str(data_root),
        "train_dataloader.dataset.indices": 2,
        "train_dataloader.batch_size": 2,
        "train_cfg.max_epochs": 2,
        "randomness.seed": 0,
        **options,
    })
    prepare_training_config(cfg, config, work_dir=str(work_dir))
    runner = build_runner(cfg)
    recorder = Recorder()
    runner.register_hook(recorder, priority="VERY_LOW")
    runner.train()
    return recorder, runner


@pytest.fixture(scope="module")
def data_root(tmp_path_factory, concrete_left) -> Path:
    root = tmp_path_factory.mktemp("concrete")
    for i in range(8):
        x, y = (i % 2) * 150, (i // 2) * 110
        sub = root / f"strip_{i % 2}"
        sub.mkdir(exist_ok=True)
        concrete_left.crop((x, y, x + 160, y + 160)).save(sub / f"shot_{i:02d}.jpg", quality=92)
    return root


@pytest.fixture(scope="module")
def mim_run(tmp_path_factory, data_root):
    work_dir = tmp_path_factory.mktemp("mim")
    recorder, runner = train(MIM_CPU, work_dir, data_root)
    return recorder, runner, work_dir


def _changed(before: dict, after: dict, prefix: str) -> bool:
    return any(not torch.equal(before[k], after[k]) for k in before if k.startswith(prefix))


def _assert_backbone_started_from(recorder: Recorder, checkpoint: Path) -> None:
    mim_state = load_checkpoint_file(checkpoint)["state_dict"]
    backbone = {k: v for k, v in recorder.start_state.items() if k.startswith("backbone.")}
    assert backbone and all(torch.equal(v, mim_state[k]) for k, v in backbone.items())


def test_mim_cpu_config_trains_two_iterations(mim_run):
    recorder, runner, work_dir = mim_run
    assert runner.iter == 2 and len(recorder.outputs) == 2
    assert all(0 < out["loss"] < 10 and math.isfinite(out["loss"]) for out in recorder.outputs)
    final = runner.model.state_dict()
    assert _changed(recorder.start_state, final, "backbone.") and _changed(recorder.start_state, final, "neck.")
    saved = load_checkpoint_file(work_dir / "epoch_2.pth")
    assert saved["meta"]["iter"] == 2
    assert all(torch.equal(saved["state_dict"][k], v) for k, v in final.items())


def test_hashclr_cpu_config_starts_from_the_mim_backbone(mim_run, data_root, tmp_path):
    mim_checkpoint = mim_run[2] / "epoch_2.pth"
    recorder, runner = train(HASHCLR_CPU, tmp_path, data_root, **{"model.backbone_init": str(mim_checkpoint)})
    _assert_backbone_started_from(recorder, mim_checkpoint)
    assert runner.iter == 2
    assert recorder.gammas == pytest.approx([1.0, math.sqrt(2.0)])  # HashGammaHook, epochs 0 and 1
    for out in recorder.outputs:
        assert set(out) >= {"loss", "loss_contrastive", "loss_quant"}
        assert 0.0 <= out["loss_quant"] <= 1.0
        assert out["loss"] == pytest.approx(out["loss_contrastive"] + out["loss_quant"], rel=1e-5)
    assert _changed(recorder.start_state, runner.model.state_dict(), "neck.")


def test_simclr_baseline_cpu_config_trains_two_iterations(data_root, tmp_path):
    recorder, runner = train(SIMCLR_CPU, tmp_path, data_root, **{"model.backbone_init": None})
    assert runner.iter == 2
    # NT-Xent over 2 x 2 views, cosine similarities in [-1, 1], temperature 0.1:
    # 0 < loss <= log(3 candidates) + 2 / 0.1.
    assert all(0 < out["loss"] <= math.log(3) + 20 for out in recorder.outputs)
    assert _changed(recorder.start_state, runner.model.state_dict(), "backbone.")


def test_spatialhash_cpu_config_trains_on_view_geometry_from_the_mim_backbone(mim_run, data_root, tmp_path):
    mim_checkpoint = mim_run[2] / "epoch_2.pth"
    recorder, runner = train(SPATIAL_CPU, tmp_path, data_root, **{"model.backbone_init": str(mim_checkpoint)})
    _assert_backbone_started_from(recorder, mim_checkpoint)
    assert runner.iter == 2
    assert recorder.gammas == pytest.approx([1.0, math.sqrt(2.0)])
    for out in recorder.outputs:
        assert set(out) >= {"loss", "loss_dense", "loss_quant", "loss_decor"}
        assert out["loss"] == pytest.approx(out["loss_dense"] + out["loss_quant"] + out["loss_decor"], rel=1e-5)
    assert _changed(recorder.start_state, runner.model.state_dict(), "neck.")
