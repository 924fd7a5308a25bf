"""Turn a training checkpoint into a small inference checkpoint plus its config.

Keeps the weights and the ``meta`` (training config text, epoch, iteration, seed) and
drops the optimiser, scheduler and message-hub state, which inference never needs. Beside
it goes a standalone ``.py`` generated from the training config: the entries inference
reads (``mmselfsup_ext.engine.config.inference_config``), the training config itself
staying embedded in the checkpoint. The output
loads with :func:`mmselfsup_ext.apis.init_model`. ``--cfg-options`` sets entries fixed
after training (a spatial model's ``spatial_vote_rule``, calibrated by
``benchmarks/learned.py``) in both the written config and the embedded one.

Example (how the shipped model was made; see mmselfsup_ext/model_zoo/README.md)::

    python tools/publish_model.py \
        work_dirs/hashclr-overlap_swin_nano_fpn_1xb8_coslr_2e_concrete/epoch_2.pth \
        mmselfsup_ext/model_zoo/hashclr-overlap_swin_nano_fpn_concrete
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import torch
from mmengine.config import Config

from mmselfsup_ext.argtypes import OneLineArgumentParser
from mmselfsup_ext.engine.config import ConfigError, inference_config, parse_cfg_options
from mmselfsup_ext.utils import CheckpointError, load_checkpoint_file, state_dict_from_checkpoint


#: First lines of every config this tool writes.
HEADER = ("# Written by tools/publish_model.py: what inference reads of the training config, which the\n"
          "# .pth beside this file embeds in full (meta['cfg']).\n")


def publish(checkpoint: str | Path, stem: str | Path, cfg_options: dict | None = None) -> tuple[Path, Path, str]:
    """Write ``<stem>.pth`` (weights + meta) and ``<stem>.py`` (the inference entries).

    Parameters
    ----------
    checkpoint : str or pathlib.Path
        Training checkpoint written by mmengine (with ``meta['cfg']``).
    stem : str or pathlib.Path
        Output path without suffix.
    cfg_options : dict, optional
        Config entries to set (mmengine ``merge_from_dict`` keys such as ``"a.b"``).

    Returns
    -------
    (pathlib.Path, pathlib.Path, str)
        Weights file, config file, SHA-256 of the weights file.

    Raises
    ------
    CheckpointError
        Unreadable checkpoint, or one without weights or embedded config.
    """
    ckpt = load_checkpoint_file(checkpoint)
    state = state_dict_from_checkpoint(ckpt, f"checkpoint {str(checkpoint)!r}")
    meta = dict(ckpt.get("meta") or {})
    if not isinstance(meta.get("cfg"), str):
        raise CheckpointError(f"checkpoint {str(checkpoint)!r} embeds no training config (meta['cfg'])")
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights, config = stem.with_suffix(".pth"), stem.with_suffix(".py")
    meta["source_checkpoint"] = Path(checkpoint).name
    cfg = Config.fromstring(meta["cfg"], ".py")
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
        meta["cfg"] = cfg.pretty_text
    torch.save({"meta": meta, "state_dict": {k: v.detach().cpu().contiguous() for k, v in state.items()}}, weights)
    config.write_text(HEADER + inference_config(cfg).pretty_text)
    return weights, config, hashlib.sha256(weights.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = OneLineArgumentParser(description="Strip a training checkpoint to weights + meta and write its config.")
    parser.add_argument("checkpoint", help="training checkpoint (.pth)")
    parser.add_argument("stem", help="output path without suffix, e.g. mmselfsup_ext/model_zoo/NAME")
    parser.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE",
                        help="config entries to set, e.g. spatial_vote_rule._delete_=True "
                             "spatial_vote_rule.radius=16 spatial_vote_rule.threshold=66")
    args = parser.parse_args(argv)
    try:
        weights, config, digest = publish(args.checkpoint, args.stem, parse_cfg_options(args.cfg_options))
    except (CheckpointError, ConfigError) as exc:
        parser.error(str(exc))
    size = weights.stat().st_size / 2**20
    print(f"wrote {weights} ({size:.1f} MiB, sha256 {digest}) and {config}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
