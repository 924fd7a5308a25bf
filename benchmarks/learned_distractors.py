"""Why unrelated photos merge: the diagnosis of issue 12 item 1, from a ``learned.py`` run.

Reads the codes ``benchmarks/learned.py`` wrote (``OUT/runs<seed>/<tag>/codes.csv``) and the
surveys' ground truth; encodes nothing. Prints two tables (Markdown):

1. Global codes, per tag and survey: the Otsu threshold ``T`` of the run, the Hamming
   distance from each unrelated photo to its nearest survey shot (sorted), how many of
   them are within ``T``, and where the true duplicates sit (median distance, share within
   ``T``). A threshold can only separate the two if the unrelated photos are farther than
   the duplicates.
2. Spatial codes, per tag: with the rule ``--rule TAG=RADIUS,T[,SCALE...]`` (the one
   ``learned.py`` printed; scales it also aligns, none: shifts only), the best agreement (share of shared cells whose codes match,
   ``mmselfsup_ext.dedup.spatial``) of true pairs (median) and of the unrelated photos'
   pairs with shots that pass ``T`` (each listed); and, for shot pairs that do not overlap
   at all, how often two cells match at the same grid position versus at different
   positions (a code that carries its position matches more often at the same one).

Example (``benchmarks/README_learned.md``)::

    python benchmarks/learned_distractors.py --out work_dirs/learned \\
        --rule shipped-spatial64x8x8=14,77,1.1,1.2 --rule spatial-six64x8x8=14,73
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from learned import load_survey

from mmselfsup_ext.dedup.spatial import MAX_DISTANCE
from mmselfsup_ext.hashing import CellGrid, all_pairs_agreement, check_scales, hex_to_codes, unpack_cell_codes


def parse_rule(text: str) -> tuple[str, int, int, tuple[float, ...]]:
    """``TAG=RADIUS,T[,SCALE...]`` -> ``(tag, radius, T, scales)``."""
    tag, sep, values = text.partition("=")
    fields = values.split(",")
    try:
        radius, threshold = int(fields[0]), int(fields[1])
        scales = check_scales([float(v) for v in fields[2:]])
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"expected TAG=RADIUS,T[,SCALE...] (scales in (1, 2]), got {text!r}") from None
    if not sep or not tag:
        raise argparse.ArgumentTypeError(f"expected TAG=RADIUS,T[,SCALE...], got {text!r}")
    return tag, radius, threshold, scales


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the --out folder of a learned.py run")
    parser.add_argument("--surveys", type=int, nargs="+", default=[0, 1], help="survey seeds (default 0 1)")
    parser.add_argument("--rule", type=parse_rule, action="append", default=[], metavar="TAG=RADIUS,T[,SCALE...]",
                        help="a spatial tag and its rule (repeatable)")
    return parser


def read_codes(tag_dir: Path, names: list[str]) -> np.ndarray:
    """Codes of ``codes.csv`` in the order of ``names``."""
    with (tag_dir / "codes.csv").open(newline="", encoding="utf-8") as fh:
        rows = {row["path"]: row["code_hex"] for row in csv.DictReader(fh)}
    return hex_to_codes([rows[n] for n in names])


def hamming_matrix(codes: np.ndarray) -> np.ndarray:
    """(N, N) Hamming distances of packed codes."""
    bits = np.unpackbits(codes, axis=1).astype(np.int32)
    return (bits[:, None, :] != bits[None, :, :]).sum(axis=2)


def global_rows(out: Path, seeds: list[int]) -> list[str]:
    """Table 1: one row per global tag and survey."""
    lines = ["| tag | survey | T | unrelated photo -> nearest shot | within T | true pairs: median | true pairs within T |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for seed in seeds:
        survey = load_survey(out / f"survey{seed}")
        names = [p.name for p in survey.paths]
        shots = ~survey.distractor
        upper = np.triu_indices(len(names), 1)
        for tag_dir in sorted((out / f"runs{seed}").iterdir()):
            summary = tag_dir / "summary.json"
            if not summary.is_file() or "x" in tag_dir.name:
                continue
            threshold = json.loads(summary.read_text())["threshold"]
            distance = hamming_matrix(read_codes(tag_dir, names))
            nearest = np.sort(distance[np.ix_(survey.distractor, shots)].min(axis=1))
            true = distance[upper][survey.truth[upper]]
            lines.append(f"| {tag_dir.name} | {seed} | {threshold} | {', '.join(map(str, nearest))} | "
                         f"{int((nearest <= threshold).sum())}/{nearest.size} | {np.median(true):.0f} | "
                         f"{np.mean(true <= threshold):.2f} |")
    return lines


def position_match_rates(cells: np.ndarray, radius: int, overlap: np.ndarray, shots: np.ndarray
                         ) -> tuple[float, float]:
    """Cell match rates of non-overlapping shot pairs: same grid position, different positions."""
    signs = np.unpackbits(cells, axis=-1).astype(np.float32) * 2 - 1  # (N, C, K)
    n, c, k = signs.shape
    apart = (overlap == 0) & shots[:, None] & shots[None, :] & ~np.eye(n, dtype=bool)
    same, other = [], []
    for a, b in zip(*np.nonzero(np.triu(apart, 1))):
        match = (k - signs[a] @ signs[b].T) / 2 <= radius  # (C, C)
        same.append(np.diag(match).mean())
        other.append((match.sum() - np.trace(match)) / (c * c - c))
    return float(np.mean(same)), float(np.mean(other))


def spatial_rows(out: Path, seeds: list[int], rules: list[tuple[str, int, int, tuple[float, ...]]]) -> list[str]:
    """Table 2: one row per spatial tag and survey."""
    lines = ["| tag | survey | radius, T | true pairs: median agreement | unrelated photo + shot pairs passing T: "
             "agreement | cell matches of non-overlapping shots: same / other position |",
             "|---|---:|---|---:|---|---|"]
    for tag, radius, threshold, scales in rules:
        grid = CellGrid.from_tag(tag)
        for seed in seeds:
            survey = load_survey(out / f"survey{seed}")
            names = [p.name for p in survey.paths]
            cells = unpack_cell_codes(read_codes(out / f"runs{seed}" / tag, names), grid)
            agreement, overlap = all_pairs_agreement(cells, radius, grid, scales=scales)
            upper = np.triu_indices(len(names), 1)
            true = agreement[upper][survey.truth[upper]]
            unrelated = np.ix_(survey.distractor, ~survey.distractor)
            passing = agreement[unrelated][(agreement[unrelated] >= 1 - threshold / MAX_DISTANCE)
                                           & (overlap[unrelated] >= 0.5)]
            passing = np.sort(passing)[::-1]
            same, other = position_match_rates(cells, radius, survey.overlap, ~survey.distractor)
            listed = ", ".join(f"{a:.2f}" for a in passing) or "none"
            lines.append(f"| {tag} | {seed} | {radius}, {threshold} | {np.median(true):.2f} | {listed} | "
                         f"{100 * same:.2f} % / {100 * other:.2f} % |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print both tables."""
    args = build_parser().parse_args(argv)
    if not (args.out / f"runs{args.surveys[0]}").is_dir():
        raise SystemExit(f"{args.out} holds no learned.py run (runs{args.surveys[0]}/ is missing)")
    print("\n".join(global_rows(args.out, args.surveys)))
    print()
    print("\n".join(spatial_rows(args.out, args.surveys, args.rule)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
