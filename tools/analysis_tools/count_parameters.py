"""Count the parameters of a config's model: total, trainable, and per module.

Examples
--------
::

    python tools/analysis_tools/count_parameters.py \
        configs/selfsup/hashclr/hashclr_swin_tiny_fpn_2xb16_coslr_120e.py
    python tools/analysis_tools/count_parameters.py CONFIG --depth 2

No weights are loaded (``backbone_init`` is applied only when training starts).
"""
from __future__ import annotations

import argparse
import sys

from torch import nn

from mmselfsup_ext.engine import ConfigError, load_config, parse_cfg_options
from mmselfsup_ext.registry import MODELS
from mmselfsup_ext.utils import register_all_modules

EXIT_BAD_INPUT = 2


def count_parameters(model: nn.Module, depth: int = 1) -> list[tuple[str, int, int]]:
    """Parameter counts of the modules ``depth`` levels below ``model``, then the total.

    Parameters
    ----------
    model : torch.nn.Module
        Any model.
    depth : int
        1 lists the top-level children (backbone, neck, head, ...), 2 their children.

    Returns
    -------
    list of (name, total, trainable)
        One row per module at that depth (parameters shared between modules are
        counted in each), parameters held directly by shallower modules under
        ``"(other)"`` when there are any, and a last row ``"total"`` counting every
        parameter once.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    rows = []
    covered: set[int] = set()
    for name, module in model.named_modules():
        if name and name.count(".") == depth - 1:
            params = list(module.parameters())
            covered.update(id(p) for p in params)
            rows.append((name, sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)))
    every = list(model.parameters())
    rest = [p for p in every if id(p) not in covered]
    if rest:
        rows.append(("(other)", sum(p.numel() for p in rest), sum(p.numel() for p in rest if p.requires_grad)))
    rows.append(("total", sum(p.numel() for p in every), sum(p.numel() for p in every if p.requires_grad)))
    return rows


def format_table(rows: list[tuple[str, int, int]]) -> str:
    """Render :func:`count_parameters` rows as an aligned text table."""
    header = ("module", "parameters", "trainable")
    cells = [(name, f"{total:,} ({total / 1e6:.2f} M)", f"{trainable:,}") for name, total, trainable in rows]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(3)]
    line = "  ".join("-" * w for w in widths)
    out = [f"{header[0]:<{widths[0]}}  {header[1]:>{widths[1]}}  {header[2]:>{widths[2]}}", line]
    for i, (name, total, trainable) in enumerate(cells):
        if i == len(cells) - 1:
            out.append(line)
        out.append(f"{name:<{widths[0]}}  {total:>{widths[1]}}  {trainable:>{widths[2]}}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Print the parameter table of the config's model; return the exit status."""
    parser = argparse.ArgumentParser(description="Count the parameters of a config's model.")
    parser.add_argument("config", help="config file")
    parser.add_argument("--depth", type=int, default=1, help="module depth of the rows (default 1: top level)")
    parser.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config entries")
    args = parser.parse_args(argv)
    if args.depth < 1:
        parser.error(f"--depth must be >= 1, got {args.depth}")
    try:
        cfg = load_config(args.config, parse_cfg_options(args.cfg_options))
        if "model" not in cfg:
            raise ConfigError(f"config {args.config!r} defines no model")
        register_all_modules()
        try:
            model = MODELS.build(cfg.model)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"cannot build the model: {type(exc).__name__}: {exc}") from None
    except ConfigError as exc:
        print(f"count_parameters.py: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{type(model).__name__} from {args.config}")
    print(format_table(count_parameters(model, args.depth)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
