"""tools/train.py: argument handling, CPU fallbacks, one-line errors with exit status 2."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from mmselfsup_ext.engine import ConfigError, load_config, prepare_training_config
from mmselfsup_ext.registry import MODELS
from mmselfsup_ext.utils import register_all_modules

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "tools" / "train.py"
MIM_CPU = REPO / "configs/selfsup/simmim/simmim_swin_nano_fpn_1xb8-coslr-2e.py"
MIM_PAPER = REPO / "configs/selfsup/simmim/simmim_swin_tiny_fpn_2xb16-amp-coslr-800e.py"
HASHCLR_CPU = REPO / "configs/selfsup/hashclr/hashclr_swin_nano_fpn_1xb8_coslr_2e.py"
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")


# Ends only a hung subprocess, loudly (TimeoutExpired). Not a speed limit: on 2
# shared cores under load the slowest run here took a fraction of it.
_HANG_GUARD_S = 900


def _load_tool():
    spec = importlib.util.spec_from_file_location("train_tool", TRAIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_tool = _load_tool()


@pytest.fixture
def data_root(tmp_path, concrete_left) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    concrete_left.crop((0, 0, 140, 140)).save(root / "a.jpg")
    return root


def _one_line_error(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TRAIN), *args], cwd=cwd, capture_output=True, text=True, timeout=_HANG_GUARD_S)


# ------------------------------------------------------------ subprocess level
def test_cli_missing_config_is_one_line_exit_2(tmp_path):
    result = _run_cli(str(tmp_path / "nope.py"), cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.py" in _one_line_error(result.stderr) and "not found" in result.stderr


def test_cli_checkpoint_of_another_model_is_one_line_exit_2(tmp_path, data_root):
    register_all_modules()
    other = MODELS.build(load_config(HASHCLR_CPU).model)  # a HashCLR model, not SwinFpnMIM
    ckpt = tmp_path / "hashclr.pth"
    torch.save({"meta": {"epoch": 1}, "state_dict": other.state_dict()}, ckpt)
    result = _run_cli(str(MIM_CPU), "--work-dir", str(tmp_path / "w"), "--resume", str(ckpt),
                      "--cfg-options", f"train_dataloader.dataset.data_root={data_root}", cwd=tmp_path)
    assert result.returncode == 2
    line = _one_line_error(result.stderr)
    assert "does not fit the model SwinFpnMIM" in line and "hashclr.pth" in line


# ------------------------------------------------------------ in-process main()
@pytest.mark.parametrize(
    "options, expected",
    [
        (["train_dataloader.dataset.data_root"], "KEY=VALUE"),
        (["train_dataloadr.dataset.data_root=x"], "no 'train_dataloadr'"),
        (["model.backbone.arch.depth=3"], "is a str"),
        (["train_dataloader.dataset.data_root=[a,b"], "unbalanced"),
    ],
)
def test_bad_cfg_options(tmp_path, capsys, options, expected):
    assert train_tool.main([str(MIM_CPU), "--work-dir", str(tmp_path), "--cfg-options", *options]) == 2
    assert expected in _one_line_error(capsys.readouterr().err)


def test_data_root_without_images(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no photos here")
    code = train_tool.main([str(MIM_CPU), "--work-dir", str(tmp_path / "w"),
                            "--cfg-options", f"train_dataloader.dataset.data_root={empty}"])
    assert code == 2
    assert "no images" in _one_line_error(capsys.readouterr().err)


def test_corrupt_resume_checkpoint(tmp_path, capsys, data_root):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x00" * 100)
    code = train_tool.main([str(MIM_CPU), "--work-dir", str(tmp_path / "w"), "--resume", str(bad),
                            "--cfg-options", f"train_dataloader.dataset.data_root={data_root}"])
    assert code == 2
    assert "not a readable PyTorch checkpoint" in _one_line_error(capsys.readouterr().err)


def test_resume_argument_forms():
    assert train_tool.parse_args(["c.py"]).resume is None
    assert train_tool.parse_args(["c.py", "--resume"]).resume == "auto"
    assert train_tool.parse_args(["c.py", "--resume", "x.pth"]).resume == "x.pth"
    with pytest.raises(SystemExit):
        train_tool.parse_args(["c.py", "--launcher", "mpi"])


# ------------------------------------------------------- configuration choices
def test_default_work_dir_is_named_after_the_config():
    cfg = prepare_training_config(load_config(MIM_CPU), str(MIM_CPU))
    assert Path(cfg.work_dir) == Path("work_dirs") / MIM_CPU.stem


def test_auto_resume_without_checkpoint_starts_fresh(tmp_path):
    with pytest.warns(RuntimeWarning, match="starts from scratch"):
        cfg = prepare_training_config(load_config(MIM_CPU), str(MIM_CPU), work_dir=str(tmp_path), resume="auto")
    assert not cfg.resume


@no_cuda
def test_amp_falls_back_to_float32_without_cuda():
    with pytest.warns(RuntimeWarning, match="AMP needs a CUDA GPU"):
        cfg = prepare_training_config(load_config(MIM_PAPER), str(MIM_PAPER))
    assert cfg.optim_wrapper.type == "OptimWrapper" and "loss_scale" not in cfg.optim_wrapper
    with pytest.warns(RuntimeWarning, match="AMP"):
        cfg = prepare_training_config(load_config(MIM_CPU), str(MIM_CPU), amp=True)
    assert cfg.optim_wrapper.type == "OptimWrapper"


@no_cuda
def test_torchrun_launcher_without_cuda_uses_gloo_and_cpu_ddp():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = prepare_training_config(load_config(MIM_CPU), str(MIM_CPU), launcher="pytorch")
    assert cfg.launcher == "pytorch"
    assert cfg.env_cfg.dist_cfg.backend == "gloo"
    assert cfg.model_wrapper_cfg["device_ids"] is None
    with pytest.raises(ConfigError, match="slurm needs CUDA"):
        prepare_training_config(load_config(MIM_CPU), str(MIM_CPU), launcher="slurm")
