"""Train a self-supervised model from an mmengine config.

Examples
--------
Single process (GPU if present, else CPU)::

    python tools/train.py configs/selfsup/simmim/simmim_swin_nano_fpn_1xb8-coslr-2e.py \
        --cfg-options train_dataloader.dataset.data_root=photos/

Resume the latest checkpoint of the work dir, or a given one::

    python tools/train.py CONFIG --resume
    python tools/train.py CONFIG --resume work_dirs/NAME/epoch_10.pth

Several processes: ``bash tools/dist_train.sh CONFIG N [args]`` (torchrun).

Bad input (missing config, bad ``--cfg-options``, empty data folder, checkpoint of
another model) ends with a one-line message on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import os
import sys

from mmselfsup_ext.datasets import EmptyDatasetError
from mmselfsup_ext.engine import (
    LAUNCHERS,
    ConfigError,
    build_runner,
    load_config,
    parse_cfg_options,
    prepare_training_config,
)
from mmselfsup_ext.utils import CheckpointError

EXIT_BAD_INPUT = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments of the training tool."""
    parser = argparse.ArgumentParser(description="Train a self-supervised model from a config.")
    parser.add_argument("config", help="config file, e.g. configs/selfsup/simmim/...py")
    parser.add_argument("--work-dir", help="where logs and checkpoints go (default ./work_dirs/<config name>)")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        default=None,
        metavar="CKPT",
        help="resume from CKPT, or from the latest checkpoint of the work dir if no path is given",
    )
    parser.add_argument("--amp", action="store_true", help="automatic mixed precision (CUDA only)")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override config entries, e.g. train_dataloader.dataset.data_root=DIR train_cfg.max_epochs=2",
    )
    parser.add_argument("--launcher", choices=LAUNCHERS, default="none", help="job launcher")
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def main(argv: list[str] | None = None) -> int:
    """Run training; return the process exit status."""
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, parse_cfg_options(args.cfg_options))
        prepare_training_config(
            cfg,
            args.config,
            work_dir=args.work_dir,
            resume=args.resume,
            amp=args.amp,
            launcher=args.launcher,
        )
        runner = build_runner(cfg)
        runner.train()
    except (ConfigError, CheckpointError, EmptyDatasetError) as exc:
        print(f"train.py: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
