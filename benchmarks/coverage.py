"""Cost of the coverage-preserving selection per image as the survey grows.

A survey here is a square grid of 320 x 256 shots, 30 % of a shot apart (70 % forward
and side overlap, a few pixels of jitter), every shot verified against its neighbours
up to ``--reach`` grid steps away (each image in about 24 pairs inside the grid, as
a re-flown dense pass gives), with exact translation homographies. Only
:func:`mmselfsup_ext.dedup.coverage.coverage_keep` is timed; its work per image
depends on the neighbours of an image, so a flat ms/image column is the aim.

``--reference FILE`` times another ``coverage.py`` (e.g. an earlier revision's,
``git show REV:mmselfsup_ext/dedup/coverage.py > old.py``) on the same surveys in the
same run, and checks both select the same images::

    python benchmarks/coverage.py --sides 20 40 80
    python benchmarks/coverage.py --sides 20 40 --reference old.py
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mmselfsup_ext.dedup.coverage import coverage_keep

SHOT = (320, 256)


def grid_survey(side: int, reach: int = 3, step: float = 0.3, seed: int = 0
                ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(n, i, j, homographies, sizes)`` of a ``side x side`` grid of shots."""
    rng = np.random.default_rng(seed)
    cols, rows = np.meshgrid(np.arange(side), np.arange(side))
    grid = np.stack([cols.ravel(), rows.ravel()], axis=1)
    pos = grid * np.array(SHOT) * step + rng.normal(0, 2, (side * side, 2))
    steps = [(dx, dy) for dy in range(reach + 1) for dx in range(-reach, reach + 1) if dy > 0 or dx > 0]
    i, j = [], []
    for dx, dy in steps:
        target = grid + (dx, dy)
        inside = np.all((target >= 0) & (target < side), axis=1)
        i.append(np.flatnonzero(inside))
        j.append(target[inside, 1] * side + target[inside, 0])
    i, j = np.concatenate(i), np.concatenate(j)
    h = np.tile(np.eye(3), (len(i), 1, 1))
    h[:, :2, 2] = pos[i] - pos[j]
    return side * side, i, j, h, np.tile(SHOT, (side * side, 1))


def _load(path: Path) -> Callable:
    spec = importlib.util.spec_from_file_location("reference_coverage", path)
    module = importlib.util.module_from_spec(spec)
    # The file is a copy of the package module: let its relative imports resolve there.
    module.__package__ = "mmselfsup_ext.dedup"
    spec.loader.exec_module(module)
    return module.coverage_keep


def _timed(select: Callable, survey: tuple) -> tuple[float, np.ndarray]:
    n, i, j, h, sizes = survey
    start = time.perf_counter()
    picked = select(n, i, j, h, ["ok"] * len(i), sizes, np.arange(n))
    return time.perf_counter() - start, picked.keep


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[20, 40, 80],
                        help="grid sides; a survey has side^2 shots (default 20 40 80)")
    parser.add_argument("--reach", type=int, default=3, help="neighbours verified, in grid steps (default 3)")
    parser.add_argument("--reference", type=Path, help="another coverage.py to time side by side")
    args = parser.parse_args(argv)
    reference = _load(args.reference) if args.reference else None
    print("| shots | pairs | removed | s | ms/image |" + (" reference s | reference ms/image | speed-up |"
                                                          if reference else ""))
    print("|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if reference else ""))
    for side in args.sides:
        survey = grid_survey(side, args.reach)
        n = survey[0]
        seconds, keep = _timed(coverage_keep, survey)
        row = f"| {n} | {len(survey[1])} | {int((~keep).sum())} | {seconds:.2f} | {1000 * seconds / n:.2f} |"
        if reference:
            ref_seconds, ref_keep = _timed(reference, survey)
            if not np.array_equal(keep, ref_keep):
                print(f"{n} shots: the reference selects other images", file=sys.stderr)
                return 1
            row += f" {ref_seconds:.2f} | {1000 * ref_seconds / n:.2f} | {ref_seconds / seconds:.1f}x |"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
