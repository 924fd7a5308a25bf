"""Retrieval and selection on every real surface: each shared photo, at each footprint scale.

What it does, for every photo the shared data folder holds (``evaluation.shared_photos``,
no list kept here), every ``--scales`` footprint scale and both ``--orders``:

1. Tiles the photo's evaluation (right) half into up to ``--walls`` walls sized so the
   coarse pass's footprint is ``scale`` shot widths (``evaluation.scaled_walls``): scale 1
   cuts shots at the photo's native resolution, scale 2 downsamples them 2x. Flies the
   coarse and the re-flown dense pass over them (``evaluation.simulate_survey``) and mixes
   in 8 unrelated photos; file names in capture order or shuffled. One survey per photo:
   frames of one strip can show the same ground, so walls never come from two photos.
2. Deduplicates it in a fresh process as a user would
   (``image_processing_deduplication.py IMAGES --methods phash --pairing all --verify``).
3. Scores it against ground truth (``evaluation.score_dedup``): pair precision, recall and
   F1; candidate recall against ground truth and against all-pairs verification (the true
   pairs that verifying them finds, the most a candidate generator can give the
   verifier); pairs verified per image; images removed against the ideal
   coverage-preserving choice; surface kept; unrelated photos removed; seconds per image.
4. Where the survey has at most ``--exhaustive-max`` images, verifies every pair: the
   reference row.

A rerun with the same ``--out`` reuses the surveys and the recorded runs.

Example (the README's numbers)::

    python benchmarks/real_surfaces.py --out work_dirs/real_surfaces
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from _common import candidate_pairs, exhaustive, measure, score
from mmselfsup_ext.dedup.verify import FeatureEncoder, FeatureStore, verify_pairs
from mmselfsup_ext.evaluation import (load_ground_truth, photo_label, scaled_walls,
                                      shared_photos, simulate_survey)
from mmselfsup_ext.fileio import discover_images

DISTRACTORS = 8
OVERLAP = 0.5


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="working folder")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder of real photos (default: the shared data folder)")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0],
                        help="footprint scales, surface px per shot px (default 1 2)")
    parser.add_argument("--walls", type=int, default=3,
                        help="at most this many walls tiled from each photo (default 3)")
    parser.add_argument("--orders", nargs="+", choices=("shuffled", "ordered"),
                        default=["shuffled", "ordered"], help="file-name orders (default both)")
    parser.add_argument("--exhaustive-max", type=int, default=300,
                        help="verify all pairs of surveys up to this many images (default 300)")
    parser.add_argument("--workers", type=int, default=2, help="processes/threads (default 2)")
    return parser


def make_survey(folder: Path, photo: Path, scale: float, walls: int, shuffle: bool) -> Path:
    """The survey of one photo at one scale (reused when already written)."""
    if not (folder / "ground_truth.json").is_file():
        surfaces, shot = scaled_walls(photo, scale, max_walls=walls)
        simulate_survey(surfaces, folder, passes=("coarse", "dense"), distractors=DISTRACTORS,
                        shuffle_names=shuffle, shot_size=shot, seed=0)
    return folder


def verified_truth(survey: Path, workers: int) -> set[frozenset[str]]:
    """The true pairs (overlap >= 0.5) that the pipeline's verifier accepts.

    Verification looks at one pair at a time, so these are exactly the true pairs that
    verifying every pair would find, at the cost of the true pairs alone.
    """
    gt = load_ground_truth(survey / "ground_truth.json")
    paths = discover_images(survey / "images")
    row = {p.name: k for k, p in enumerate(paths)}
    truth = [(row[gt.files[a]], row[gt.files[b]]) for (a, b), ov in gt.overlaps.items()
             if ov >= OVERLAP]
    encoder = FeatureEncoder()
    store = FeatureStore.from_encoding(encoder.encode(paths, workers=workers, progress=False),
                                       paths, encoder)
    i, j = (np.array(side, dtype=np.int64) for side in zip(*truth))
    found = verify_pairs(store, i, j, workers=workers, progress=False)
    return {frozenset((paths[a].name, paths[b].name))
            for a, b in zip(i[found.overlap >= OVERLAP], j[found.overlap >= OVERLAP])}


def table(results: dict) -> str:
    """Markdown table of every run."""
    lines = ["| photo | scale | order | images | true pairs | verifiable | cand. recall "
             "(of verifiable) | pairs/image | of all pairs | precision | recall | F1 "
             "| removed / ideal cov. | surface kept | photos removed | s/image |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results.values():
        head = f"| {r['photo']} | {r['scale']:g} | {r['order']} "
        if r["order"] == "all pairs":
            lines.append(head + f"| {r['n_images']} | | | | {r['pairs_per_image']:.1f} "
                         f"| 1.0000 | {r['precision']:.4f} | {r['recall']:.4f} "
                         f"| {r['f1']:.4f} | | | | {r['ms_per_image'] / 1000:.3f} |")
            continue
        lines.append(
            head + f"| {r['n_images']} | {r['n_true']} | {r['n_verifiable']} "
            f"| {r['candidate_recall_verifiable']:.4f} | {r['pairs_per_image']:.1f} "
            f"| {r['fraction_verified']:.4f} | {r['precision']:.4f} | {r['recall']:.4f} "
            f"| {r['f1']:.4f} | {r['removed']}/{r['ideal_removed']} = "
            f"{r['removed_vs_ideal']:.3f} | {100 * r['coverage']:.2f}% "
            f"| {r['distractors_removed']} | {r['total_ms_per_image'] / 1000:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    photos = shared_photos(args.data)
    if not photos:
        print("error: no real photos found (looked in "
              f"{args.data or 'the shared data folder'})", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for photo in photos:
        label = photo_label(photo, args.data)
        for scale in args.scales:
            stem = f"{label.replace('/', '_')}_x{scale:g}"
            reference: set[frozenset[str]] | None = None
            for order in args.orders:
                survey = make_survey(args.out / f"survey_{stem}_{order}", photo, scale,
                                     args.walls, order == "shuffled")
                gt = load_ground_truth(survey / "ground_truth.json")
                record = survey / "verified_truth.json"
                if not record.is_file():
                    record.write_text(json.dumps(sorted(map(sorted, verified_truth(
                        survey, args.workers)))))
                reference = {frozenset(p) for p in json.loads(record.read_text())}
                out = args.out / f"dedup_{stem}_{order}"
                row = score(survey, out, len(gt.files), measure(survey / "images", out,
                                                                "features", args.workers))
                found = candidate_pairs(out)
                row.update(photo=label, scale=scale, order=order,
                           n_verifiable=len(reference),
                           candidate_recall_verifiable=len(reference & found)
                           / max(1, len(reference)))
                results[f"{stem} {order}"] = row
                print(table({stem: row}).splitlines()[-1], file=sys.stderr)
            n_images = len(gt.files) + len(gt.distractors)
            if n_images <= args.exhaustive_max:
                record = args.out / f"exhaustive_{stem}.json"
                if not record.is_file():
                    record.write_text(json.dumps(exhaustive(survey, args.workers)))
                ref = json.loads(record.read_text())
                results[f"{stem} all pairs"] = dict(
                    ref, photo=label, scale=scale, order="all pairs", n_images=n_images,
                    pairs_per_image=(n_images - 1) / 2)
            (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
