"""Candidate retrieval at scale: two-pass surveys over many walls, in any file order.

What it does, for every ``--sizes`` N and ``--orders``:

1. Simulates a survey of about N shots (``evaluation.simulate_survey``): procedural walls
   of 1296 x 2048 px, each flown by a coarse and a re-flown dense pass (the presets,
   with hovering re-shots), so true overlaps grow linearly with N; plus 8 unrelated
   photos; file names in capture order or shuffled (``IMG_<random>.jpg``).
2. Deduplicates it in a fresh process as a user would:
   ``image_processing_deduplication.py IMAGES --methods phash --pairing all --verify``
   (``deduplicate_folder`` with the same settings), and records its wall time and peak
   resident memory (``ru_maxrss``).
3. Scores it against ground truth (``evaluation.score_dedup``): pair precision, recall
   and F1 over all true pairs (overlap >= 0.5), candidate recall (true pairs among the
   verified candidates), pairs verified per image and as a fraction of all pairs,
   unrelated photos removed, both axes of the selection (images removed against the
   ideal coverage-preserving choice, surface kept) and seconds per image of each stage.
4. At N <= ``--exhaustive-max`` also verifies every pair (the reference a perfect
   candidate generator would reach) and runs the previous candidate source, the codes'
   own neighbours (``--candidates codes``).

A rerun with the same ``--out`` reuses the surveys and the recorded runs and only
scores them again.

Example (the README's numbers)::

    python benchmarks/retrieval.py --out work_dirs/retrieval --sizes 500 1000 2000 10000
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _common import exhaustive, measure, score, table
from mmselfsup_ext.evaluation import load_ground_truth, simulate_survey, survey_walls

SHOTS_PER_WALL = 93  # coarse (24) + dense (60) presets with their re-shots, measured
DISTRACTORS = 8


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="working folder")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10000],
                        help="survey sizes in shots (default 500 2000 10000)")
    parser.add_argument("--orders", nargs="+", choices=("shuffled", "ordered"),
                        default=["shuffled", "ordered"], help="file-name orders (default both)")
    parser.add_argument("--exhaustive-max", type=int, default=600,
                        help="verify all pairs and compare code candidates up to this N "
                             "(default 600)")
    parser.add_argument("--workers", type=int, default=2, help="processes/threads (default 2)")
    return parser


def make_survey(folder: Path, n: int, shuffle: bool) -> Path:
    """The survey of about ``n`` shots (reused when already written)."""
    if not (folder / "ground_truth.json").is_file():
        walls = survey_walls(max(1, round(n / SHOTS_PER_WALL)), first_seed=100)
        simulate_survey(walls, folder, passes=("coarse", "dense"), distractors=DISTRACTORS,
                        shuffle_names=shuffle, seed=n)
    return folder


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for n in args.sizes:
        for order in args.orders:
            survey = make_survey(args.out / f"survey_{n}_{order}", n, order == "shuffled")
            n_shots = len(load_ground_truth(survey / "ground_truth.json").files)
            sources = ["features"] + (["codes"] if n <= args.exhaustive_max else [])
            for source in sources:
                out = args.out / f"dedup_{n}_{order}_{source}"
                resources = measure(survey / "images", out, source, args.workers)
                name = f"N={n} {order}"
                results[f"{name} {source}"] = {
                    "candidates": source, **score(survey, out, n_shots, resources)}
                print(table({f"{name} {source}": results[f"{name} {source}"]}).splitlines()[-1],
                      file=sys.stderr)
            if n <= args.exhaustive_max:
                record = args.out / f"exhaustive_{n}_{order}.json"
                if not record.is_file():
                    record.write_text(json.dumps(exhaustive(survey, args.workers)))
                results[f"N={n} {order} exhaustive"] = json.loads(record.read_text())
        (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
