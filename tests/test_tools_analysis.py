"""tools/analysis_tools: parameter counts of the paper models, reconstruction figure.

The tools run in-process through their ``main``; tests/test_tools_train.py checks at
the process level that a one-line error leaves no traceback.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from mmselfsup_ext.engine import load_config
from mmselfsup_ext.registry import MODELS
from mmselfsup_ext.utils import register_all_modules

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / "tools" / "analysis_tools"
CONFIGS = REPO / "configs" / "selfsup"
MIM_PAPER = CONFIGS / "simmim/simmim_swin_tiny_fpn_2xb16-amp-coslr-800e.py"
HASHCLR_PAPER = CONFIGS / "hashclr/hashclr_swin_tiny_fpn_2xb16_coslr_120e.py"
SIMCLR_PAPER = CONFIGS / "simclr/simclr_swin_tiny_fpn_2xb16_coslr_120e.py"
MIM_CPU = CONFIGS / "simmim/simmim_swin_nano_fpn_1xb8-coslr-2e.py"
HASHCLR_CPU = CONFIGS / "hashclr/hashclr_swin_nano_fpn_1xb8_coslr_2e.py"

register_all_modules()


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


count_tool = _load_tool("count_parameters")
vis_tool = _load_tool("visualize_reconstruction")


def _table(text: str) -> dict[str, tuple[int, int]]:
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^(\S+)\s+([\d,]+) \([\d.]+ M\)\s+([\d,]+)$", line)
        if match:
            rows[match[1]] = (int(match[2].replace(",", "")), int(match[3].replace(",", "")))
    return rows


# ----------------------------------------------------------- count_parameters
def test_count_parameters_by_hand():
    model = nn.Sequential()
    model.add_module("a", nn.Linear(3, 4))  # 12 + 4
    model.add_module("b", nn.Conv2d(2, 5, 3))  # 90 + 5
    model.b.weight.requires_grad_(False)
    rows = count_tool.count_parameters(model)
    assert rows == [("a", 16, 16), ("b", 95, 5), ("total", 111, 21)]


def test_count_parameters_keeps_direct_parameters():
    model = nn.Module()
    model.token = nn.Parameter(torch.zeros(1, 1, 7))
    model.sub = nn.Linear(2, 2)
    assert count_tool.count_parameters(model) == [("sub", 6, 6), ("(other)", 7, 7), ("total", 13, 13)]


def test_paper_models_parameter_counts(capsys):
    tables = {}
    for config in (MIM_PAPER, HASHCLR_PAPER, SIMCLR_PAPER):
        assert count_tool.main([str(config)]) == 0
        tables[config] = _table(capsys.readouterr().out)
    for rows in tables.values():
        total = rows.pop("total")
        assert sum(r[0] for r in rows.values()) == total[0] > 25_000_000  # Swin-T scale
        assert total[0] == total[1]  # everything trains
    mim, hashclr, simclr = tables[MIM_PAPER], tables[HASHCLR_PAPER], tables[SIMCLR_PAPER]
    # docs/design.md §4: decoder = 1x1 conv 768 -> 32^2 * 3 with bias.
    assert mim["neck"][0] == 768 * 32 * 32 * 3 + 32 * 32 * 3
    # The MIM backbone differs only by its 96-d mask token (patch-embedding width).
    assert mim["backbone"][0] == hashclr["backbone"][0] + 96
    assert hashclr == simclr  # same backbone and neck, parameter-free heads


def test_count_parameters_bad_config(tmp_path, capsys):
    assert count_tool.main([str(tmp_path / "x.py")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not found" in err


# -------------------------------------------------- visualize_reconstruction
@pytest.fixture(scope="module")
def mim_checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = MODELS.build(load_config(MIM_CPU).model)
    path = tmp_path_factory.mktemp("ckpt") / "mim.pth"
    torch.save({"meta": {"epoch": 1}, "state_dict": model.state_dict()}, path)
    return path


@pytest.fixture
def image(tmp_path, concrete_left) -> Path:
    path = tmp_path / "photo.jpg"
    concrete_left.crop((0, 0, 200, 150)).save(path)
    return path


@pytest.mark.parametrize("vis_pipeline", [True, False])
def test_visualize_writes_a_four_panel_png(tmp_path, capsys, mim_checkpoint, image, vis_pipeline):
    out = tmp_path / "figs" / "rec.png"
    args = [str(MIM_CPU), "--checkpoint", str(mim_checkpoint), "--img-path", str(image), "--out-file", str(out)]
    assert vis_tool.main(args + (["--use-vis-pipeline"] if vis_pipeline else [])) == 0
    with Image.open(out) as fig:
        assert fig.format == "PNG" and fig.width > 3 * fig.height  # four panels side by side


def test_panels_paste_visible_patches_back(mim_checkpoint, image):
    cfg = load_config(MIM_CPU)
    model = MODELS.build(cfg.model)
    vis_tool.load_model_weights(model, mim_checkpoint)
    sample = vis_tool.build_pipeline(cfg, use_vis_pipeline=True, seed=0)(dict(img_path=str(image), sample_idx=0))
    original, masked, recon, pasted = (p.astype(int) for p in vis_tool.reconstruct_panels(model, sample))
    pixel_mask = sample["data_samples"]["mask"].numpy().repeat(4, 0).repeat(4, 1)
    assert original.shape == (128, 128, 3) and pixel_mask.mean() == pytest.approx(10 / 16)
    # The original panel is the resized input image itself.
    expected = sample["inputs"][0].permute(1, 2, 0).numpy().astype(int)
    assert np.abs(original - expected).max() <= 1
    assert np.all(masked[pixel_mask] == 0) and np.array_equal(masked[~pixel_mask], original[~pixel_mask])
    assert np.abs(pasted[~pixel_mask] - original[~pixel_mask]).max() <= 1
    assert np.abs(pasted[pixel_mask] - recon[pixel_mask]).max() <= 1


def test_visualize_rejects_a_non_mim_config(tmp_path, capsys, mim_checkpoint, image):
    code = vis_tool.main([str(HASHCLR_CPU), "--checkpoint", str(mim_checkpoint), "--img-path", str(image),
                          "--out-file", str(tmp_path / "x.png")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "does not reconstruct" in err and len(err.splitlines()) == 1


def test_visualize_unreadable_image(tmp_path, capsys, mim_checkpoint):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    code = vis_tool.main([str(MIM_CPU), "--checkpoint", str(mim_checkpoint), "--img-path", str(bad),
                          "--out-file", str(tmp_path / "x.png")])
    assert code == 2
    assert "cannot read" in capsys.readouterr().err


def test_visualize_checkpoint_of_another_model(tmp_path, capsys, image):
    other = MODELS.build(load_config(HASHCLR_CPU).model)
    ckpt = tmp_path / "hashclr.pth"
    torch.save({"state_dict": other.state_dict()}, ckpt)
    code = vis_tool.main([str(MIM_CPU), "--checkpoint", str(ckpt), "--img-path", str(image),
                          "--out-file", str(tmp_path / "x.png")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not fit the model SwinFpnMIM" in err
    assert not (tmp_path / "x.png").exists()
