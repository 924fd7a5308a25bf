"""What every training config resolves to, to show a restructuring of ``configs/`` alters none.

A config is read for what the runner builds from it: the model, data loader, optimiser,
schedule, loop, hooks and runtime entries, plus the two entries inference reads
(``inference_img_size``, ``spatial_vote_rule``). Helper variables (``lr``,
``max_epochs``, ...) are left out: they only feed those entries. Every parameter
scheduler is written out in full as mmengine's runner builds it: a missing ``end`` is the
loop's ``max_epochs``, a missing ``T_max`` is ``end - begin``, and ``eta_min_ratio`` times
the optimiser's rate is ``eta_min``. Two configs that resolve alike therefore train alike.

Run it on two checkouts and compare; ``--rename OLD NEW`` maps a name changed on purpose
(in file names and values) in the first file before comparing::

    python benchmarks/same_configs.py --json before.json
    python benchmarks/same_configs.py --json after.json
    python benchmarks/same_configs.py --compare before.json after.json --rename small-cpu nano
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from mmengine.config import Config

from mmselfsup_ext.engine.config import INFERENCE_KEYS

ROOT = Path(__file__).resolve().parents[1]
#: Entries the runner or inference reads.
RUNTIME_KEYS = ("model", "train_dataloader", "optim_wrapper", "param_scheduler", "train_cfg",
                "default_hooks", "custom_hooks", "env_cfg", "log_processor", "log_level",
                "randomness", "default_scope", "visualizer", "auto_scale_lr", "load_from",
                "resume", "inference_img_size", "spatial_vote_rule")


def _resolved_schedulers(cfg: dict) -> list[dict]:
    """The schedulers with ``end``, ``T_max`` and ``eta_min`` as the runner fills them in."""
    max_epochs = cfg.get("train_cfg", {}).get("max_epochs")
    lr = cfg.get("optim_wrapper", {}).get("optimizer", {}).get("lr")
    schedulers = []
    for scheduler in cfg.get("param_scheduler") or []:
        scheduler = dict(scheduler)
        if scheduler.get("by_epoch", True):
            scheduler.setdefault("end", max_epochs)
        if scheduler["type"] == "CosineAnnealingLR":
            if scheduler.get("T_max") is None:
                scheduler["T_max"] = scheduler["end"] - scheduler.get("begin", 0)
            ratio = scheduler.pop("eta_min_ratio", None)
            if ratio is not None:
                scheduler["eta_min"] = lr * ratio
            # lr / 20 and lr * 0.05 differ in the last bit.
            scheduler["eta_min"] = float(f"{scheduler['eta_min']:.12g}")
        schedulers.append(scheduler)
    return schedulers


def resolve(path: Path, keys: tuple[str, ...] = RUNTIME_KEYS) -> dict:
    """The entries ``keys`` of one config, schedulers in full."""
    cfg = Config.fromfile(str(path)).to_dict()
    resolved = {key: cfg[key] for key in keys if key in cfg}
    if "param_scheduler" in resolved:
        resolved["param_scheduler"] = _resolved_schedulers(cfg)
    if "train_cfg" in resolved:
        # No hook list and an empty one build the same runner.
        resolved.setdefault("custom_hooks", [])
    return json.loads(json.dumps(resolved, sort_keys=True, default=str))


def resolve_all(root: Path) -> dict[str, dict]:
    """Every training config but the bases, and every shipped model's inference entries.

    Keyed by path relative to ``root/configs/selfsup``, or ``model_zoo/NAME`` for the
    shipped models.
    """
    configs = root / "configs" / "selfsup"
    resolved = {path.relative_to(configs).as_posix(): resolve(path)
                for path in sorted(configs.rglob("*.py")) if "_base_" not in path.parts}
    for path in sorted((root / "mmselfsup_ext" / "model_zoo").glob("*.py")):
        entries = resolve(path, INFERENCE_KEYS)
        # A training-time file: init_model never initialises from it.
        entries.get("model", {}).pop("backbone_init", None)
        resolved[f"model_zoo/{path.name}"] = entries
    return resolved


def _renamed(value: object, renames: list[tuple[str, str]]) -> object:
    if isinstance(value, dict):
        return {_renamed(k, renames): _renamed(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(item, renames) for item in value]
    if isinstance(value, str):
        for old, new in renames:
            value = value.replace(old, new)
    return value


def _differences(a: object, b: object, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [line for key in sorted(set(a) | set(b))
                for line in _differences(a.get(key), b.get(key), f"{where}.{key}" if where else key)]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [line for i, (x, y) in enumerate(zip(a, b)) for line in _differences(x, y, f"{where}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-12):
        return []
    return [] if a == b else [f"{where}: {a!r} -> {b!r}"]


def compare(before: dict, after: dict) -> int:
    """Print every config and entry that differs; 0 when none does."""
    differ = 0
    for name in sorted(set(before) | set(after)):
        if name not in before or name not in after:
            print(f"{name:72s} {'only after' if name in after else 'only before'}")
            differ += 1
            continue
        lines = _differences(before[name], after[name])
        differ += bool(lines)
        print(f"{name:72s} {'identical' if not lines else 'DIFFER'}")
        for line in lines:
            print(f"    {line}")
    print(f"{differ} differing configs of {len(set(before) | set(after))}")
    return int(differ > 0)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the resolved configs here")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to read (default: this one)")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"),
                        help="compare two files written by --json")
    parser.add_argument("--rename", nargs=2, action="append", default=[], metavar=("OLD", "NEW"),
                        help="a name changed on purpose, replaced in BEFORE (repeatable)")
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        return compare(_renamed(before, args.rename), after)
    if args.json is None:
        parser.error("--json is required unless --compare is given")
    resolved = resolve_all(args.root)
    args.json.write_text(json.dumps(resolved, indent=1, sort_keys=True))
    print(f"{len(resolved)} configs -> {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
