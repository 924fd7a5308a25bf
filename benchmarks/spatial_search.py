"""Cost of scaled alignments in the spatial search, measured side by side on one run's codes.

Reads the cell codes a ``benchmarks/learned.py`` run wrote (``OUT/runs<seed>/<tag>/codes.csv``)
and times :func:`mmselfsup_ext.dedup.spatial.spatial_search` with ``--pairing all`` under
rules that differ only in ``scales``, alternating the rules ``--repeats`` times in one
process (this machine is shared and noisy: compare the ratio, not the absolute times).
Prints one Markdown row per rule: alignments counted per pair, candidate pairs, duplicate
pairs, the median search time per image and its ratio to shifts only; then, per rule and
``--per-image`` k, the candidate recall (true pairs, footprint overlap >= 0.5, among the
pairs :func:`~mmselfsup_ext.dedup.spatial.spatial_candidates` keeps when each image keeps
its k closest partners) and the candidate pairs each image ends up in.

Example (``benchmarks/README_learned.md``)::

    python benchmarks/spatial_search.py --out work_dirs/learned --tag shipped-spatial64x8x8 \\
        --radius 16 --threshold 56 --scales 1.1,1.2
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from learned import load_survey, pairs_recall
from learned_distractors import read_codes

from mmselfsup_ext.dedup.spatial import SpatialCodes, SpatialVoteRule, spatial_candidates, spatial_search
from mmselfsup_ext.hashing import CellGrid, check_scales, shift_counts


def parse_scales(text: str) -> tuple[float, ...]:
    """``1.1,1.2`` -> ``(1.1, 1.2)``; ``""`` -> shifts only."""
    try:
        return check_scales([float(v) for v in text.split(",") if v.strip()])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the --out folder of a learned.py run")
    parser.add_argument("--tag", required=True, help="a spatial tag of that run, e.g. shipped-spatial64x8x8")
    parser.add_argument("--radius", type=int, required=True, help="the rule's match radius")
    parser.add_argument("--threshold", type=int, required=True, help="the rule's T")
    parser.add_argument("--scales", type=parse_scales, nargs="+", default=[(), (1.1, 1.2)], metavar="R[,R...]",
                        help="scale sets to compare; '' is shifts only (default: '' and 1.1,1.2)")
    parser.add_argument("--surveys", type=int, nargs="+", default=[0, 1], help="survey seeds (default 0 1)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating timings per rule (default 3)")
    parser.add_argument("--per-image", type=int, nargs="+", default=[8, 9, 10], metavar="K",
                        help="partners per image for the recall table (default 8 9 10)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Time every rule on every survey, print the table."""
    args = build_parser().parse_args(argv)
    grid = CellGrid.from_tag(args.tag)
    surveys = []
    for seed in args.surveys:
        survey = load_survey(args.out / f"survey{seed}")
        names = [p.name for p in survey.paths]
        surveys.append((names, read_codes(args.out / f"runs{seed}" / args.tag, names), survey.truth))
    rules = [SpatialVoteRule(args.radius, args.threshold, scales) for scales in args.scales]
    times = {rule.scales: [] for rule in rules}
    counts = {}
    for _ in range(args.repeats):
        for rule in rules:
            elapsed, n_images, candidates, duplicates = 0.0, 0, 0, 0
            for names, rows, _ in surveys:
                start = time.perf_counter()
                search = spatial_search(rows, names, SpatialCodes(grid, rule), pairing="all")
                elapsed += time.perf_counter() - start
                n_images, candidates = n_images + len(names), candidates + search.i.size
                duplicates += int(search.duplicate.sum())
            times[rule.scales].append(1000.0 * elapsed / n_images)
            counts[rule.scales] = (candidates, duplicates)
    base = float(np.median(times[rules[0].scales]))
    print(f"| scales | alignments | candidate pairs | duplicate pairs | search ms/img (median of {args.repeats}) "
          f"| ratio to the first |")
    print("|---|---:|---:|---:|---:|---:|")
    for rule in rules:
        alignments = shift_counts(np.zeros((0, grid.cells, grid.cells), bool), grid, rule.scales)[1].size
        median = float(np.median(times[rule.scales]))
        print(f"| {', '.join(map(str, rule.scales)) or 'shifts only'} | {alignments} | {counts[rule.scales][0]} | "
              f"{counts[rule.scales][1]} | {median:.1f} | {median / base:.2f} |")
    print("\n| scales | partners per image | candidate recall | candidate pairs per image |")
    print("|---|---:|---:|---:|")
    for rule in rules:
        for k in args.per_image:
            found = [pairs_recall(*spatial_candidates(rows, grid, rule, per_image=k)[:2], truth)
                     for _, rows, truth in surveys]
            print(f"| {', '.join(map(str, rule.scales)) or 'shifts only'} | {k} | "
                  f"{np.mean([f[0] for f in found]):.3f} | {np.mean([f[1] for f in found]):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
