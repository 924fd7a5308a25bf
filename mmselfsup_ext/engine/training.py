"""From a loaded config to a ready mmengine Runner: work dir, AMP, launcher, resume.

``tools/train.py`` is a thin parser over these two functions; they are importable so
notebooks and tests drive training exactly as the command line does.
"""
from __future__ import annotations

import datetime
import os.path as osp
import warnings

import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import find_latest_checkpoint

from mmselfsup_ext.datasets import EmptyDatasetError
from mmselfsup_ext.utils import (
    CheckpointError,
    check_state_dict_fits,
    load_checkpoint_file,
    register_all_modules,
    state_dict_from_checkpoint,
)

from .config import ConfigError

__all__ = ["LAUNCHERS", "build_runner", "prepare_training_config"]

LAUNCHERS = ("none", "pytorch", "slurm")


def _use_amp(cfg: Config, amp: bool) -> None:
    """Switch the optimiser wrapper to AMP if asked; fall back to fp32 without CUDA."""
    wrapper = cfg.optim_wrapper
    if amp and wrapper.get("type") != "AmpOptimWrapper":
        wrapper.type = "AmpOptimWrapper"
        wrapper.setdefault("loss_scale", "dynamic")
    if wrapper.get("type") == "AmpOptimWrapper" and not torch.cuda.is_available():
        # mmengine's AMP wrapper asserts a GPU; CPU training simply runs in float32.
        warnings.warn("AMP needs a CUDA GPU; training in float32 on the CPU", RuntimeWarning, stacklevel=3)
        wrapper.type = "OptimWrapper"
        for key in ("loss_scale", "dtype", "use_fsdp"):
            wrapper.pop(key, None)


def _use_launcher(cfg: Config, launcher: str) -> None:
    """Record the launcher; on a machine without CUDA make DDP run on gloo and the CPU."""
    if launcher not in LAUNCHERS:
        raise ConfigError(f"launcher must be one of {', '.join(LAUNCHERS)}, got {launcher!r}")
    cfg.launcher = launcher
    if launcher == "none" or torch.cuda.is_available():
        return
    if launcher == "slurm":
        raise ConfigError("--launcher slurm needs CUDA GPUs; on CPUs use tools/dist_train.sh (torchrun, gloo)")
    cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
    # mmengine passes device_ids=[LOCAL_RANK] to DDP, which DDP rejects for a CPU
    # model; an explicit None in the wrapper config takes precedence.
    wrapper = dict(cfg.get("model_wrapper_cfg") or dict(type="MMDistributedDataParallel", broadcast_buffers=False))
    wrapper.setdefault("find_unused_parameters", cfg.get("find_unused_parameters", False))
    wrapper["device_ids"] = None
    cfg.model_wrapper_cfg = wrapper


def _use_resume(cfg: Config, resume: str | None) -> None:
    """Point ``load_from`` at the checkpoint to resume from (``"auto"``: latest in work_dir)."""
    if resume is None:
        return
    if resume == "auto":
        latest = find_latest_checkpoint(cfg.work_dir) if osp.isdir(cfg.work_dir) else None
        if latest is None:
            warnings.warn(
                f"--resume: no checkpoint in {cfg.work_dir}; training starts from scratch",
                RuntimeWarning,
                stacklevel=3,
            )
            cfg.resume = False
            return
        resume = latest
    if not osp.isfile(resume):
        raise CheckpointError(f"checkpoint {resume!r} to resume from does not exist or is not a file")
    cfg.resume = True
    cfg.load_from = resume


def prepare_training_config(
    cfg: Config,
    config_path: str,
    work_dir: str | None = None,
    resume: str | None = None,
    amp: bool = False,
    launcher: str = "none",
) -> Config:
    """Apply the command-line choices of ``tools/train.py`` to a loaded config (in place).

    Parameters
    ----------
    cfg : mmengine.config.Config
        As returned by :func:`mmselfsup_ext.engine.config.load_config`.
    config_path : str
        The config file, which names the default work dir ``./work_dirs/<config name>``.
    work_dir : str, optional
        Overrides the config's and the default work dir.
    resume : str, optional
        A checkpoint path, ``"auto"`` for the latest checkpoint of the work dir (none:
        a warning and a fresh start), or None (no resume).
    amp : bool
        Train with automatic mixed precision (needs CUDA; float32 otherwise).
    launcher : {"none", "pytorch", "slurm"}
        Job launcher. Without CUDA, ``pytorch`` (torchrun) runs DDP over gloo on CPUs.

    Returns
    -------
    mmengine.config.Config
        ``cfg`` itself.

    Raises
    ------
    ConfigError, CheckpointError
        With a one-line message (a missing resume checkpoint; :func:`build_runner`
        checks that it loads and fits the model).
    """
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(config_path))[0])
    if "optim_wrapper" not in cfg:
        raise ConfigError("the config has no optim_wrapper; it cannot be trained")
    _use_amp(cfg, amp)
    _use_launcher(cfg, launcher)
    _use_resume(cfg, resume)
    return cfg


def _init_cpu_process_group(cfg: Config) -> None:
    """Start the gloo process group that mmengine would start with a CUDA-only call."""
    if cfg.get("launcher", "none") == "none" or torch.cuda.is_available():
        return
    if not torch.distributed.is_initialized():
        timeout = cfg.get("env_cfg", {}).get("dist_cfg", {}).get("timeout")
        kwargs = {} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))
        torch.distributed.init_process_group(backend="gloo", **kwargs)


def build_runner(cfg: Config) -> Runner:
    """Build the Runner, its model and its training data, failing early on bad input.

    The training loop (hence the dataset) is built here rather than inside
    ``runner.train()``, so an empty ``data_root`` or a checkpoint of another model is
    reported before any training starts.

    Parameters
    ----------
    cfg : mmengine.config.Config
        A config prepared by :func:`prepare_training_config`.

    Returns
    -------
    mmengine.runner.Runner
        Call ``runner.train()`` to train.

    Raises
    ------
    ConfigError, CheckpointError, EmptyDatasetError
        With a one-line message.
    """
    register_all_modules()
    _init_cpu_process_group(cfg)
    try:
        runner = Runner.from_cfg(cfg)
    except (KeyError, TypeError, ValueError, ImportError) as exc:
        # mmengine's builders re-raise as "class X in file: reason": a config mistake, or
        # an optional backend (e.g. TensorBoard) that is not installed.
        raise ConfigError(f"cannot build the runner from the config: {type(exc).__name__}: {exc}") from None
    try:
        runner.train_loop  # noqa: B018 - property that builds the loop and its dataloader
    except EmptyDatasetError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"cannot build the training data from the config: {type(exc).__name__}: {exc}") from None
    if cfg.get("resume") and cfg.get("load_from"):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        source = f"checkpoint {cfg.load_from!r}"
        state = state_dict_from_checkpoint(load_checkpoint_file(cfg.load_from), source)
        check_state_dict_fits(model, state, source)
    return runner
