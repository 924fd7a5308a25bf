"""Geometric verification of hash candidates on a flight over the evaluation half (issue 6).

What it does:

1. Simulates a serpentine flight of N >= 500 small shots (320 x 256 px) over the RIGHT
   (evaluation) half of the real photo (``--flight DIR`` reuses one), with ground-truth
   footprints and the overlap of every overlapping pair.
2. Extracts ORB features once per shot (:class:`mmselfsup_ext.dedup.verify.FeatureEncoder`,
   as the pipeline does).
3. For each candidate generator, verifies its pairs (:func:`verify_pairs`) and calls a
   pair a duplicate iff the verified overlap >= ``--min-overlap``. Generators are made
   by the pipeline's own functions, so the table measures what users run:
   ``--pairing all --verify`` (the default candidates): keypoint retrieval
   (:func:`~mmselfsup_ext.dedup.sources.feature_candidates`);
   ``<hash> --candidates codes``: :func:`~mmselfsup_ext.dedup.sources.verification_candidates`
   after :func:`~mmselfsup_ext.dedup.find_duplicates` (pairs within the Otsu threshold plus
   ``--margin`` bits, and each shot's ``--k`` nearest codes); ``window K``: each shot with
   the next K in capture order; and their union. ``--codes TAG=codes.csv`` adds learned
   (or any) codes from a dedup run's output.
4. Reference "all pairs": verifying all N(N-1)/2 pairs costs minutes, and a pair whose
   footprints do not touch cannot be a true duplicate, so the reference verifies every
   pair with ground-truth overlap > 0 exactly and a uniform random sample of the
   zero-overlap pairs; the false positives among all zero-overlap pairs are
   extrapolated from the sample (with the 95 % upper bound when the sample has none).
5. Scores every run against ground truth over ALL pairs (a true duplicate the
   candidates miss is a false negative): precision, recall, F1, the fraction of all
   pairs verified, and the coverage retained by the coverage-protecting keep rule
   (:func:`~mmselfsup_ext.dedup.keep.pairwise_keep`, capture order). Hash-only rows (Otsu threshold, no
   verification) are printed for comparison.

Example (the README's numbers)::

    python benchmarks/verify.py --out work_dirs/verify
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import beta

from _common import DEFAULT_PHOTO, flight_folder

from mmselfsup_ext.dedup import find_duplicates
from mmselfsup_ext.dedup.keep import pairwise_keep
from mmselfsup_ext.dedup.pairing import candidate_pairs
from mmselfsup_ext.dedup.retrieval import RetrievalSettings
from mmselfsup_ext.dedup.sources import feature_candidates, verification_candidates
from mmselfsup_ext.dedup.state import SurveyState, file_key
from mmselfsup_ext.dedup.verify import FeatureEncoder, FeatureStore, verify_pairs
from mmselfsup_ext.evaluation import CoverageGrid, load_ground_truth
from mmselfsup_ext.fileio import load_image
from mmselfsup_ext.hashing import classical_hash, hex_to_codes


@dataclass
class Run:
    """One row of the table: candidate pairs and how they were judged."""

    name: str
    i: np.ndarray
    j: np.ndarray
    duplicate: np.ndarray | None = None
    verified: bool = True
    extra: dict = field(default_factory=dict)


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="working folder (flight, results)")
    parser.add_argument("--flight", type=Path, default=None,
                        help="existing flight (images/ + ground_truth.json); default: simulate one")
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO,
                        help="real photo, right half used (default: the shared photo, else a "
                             "procedural wall)")
    parser.add_argument("--strips", type=int, default=20, help="flight strips (default 20)")
    parser.add_argument("--shots-per-strip", type=int, default=24, help="shots per strip (default 24)")
    parser.add_argument("--shot-size", type=int, nargs=2, default=(320, 256), metavar=("W", "H"))
    parser.add_argument("--seed", type=int, default=0, help="flight and sampling seed (default 0)")
    parser.add_argument("--hashes", nargs="+", default=["phash", "whash"],
                        help="classical hashes (64 bits) for candidates (default phash whash)")
    parser.add_argument("--codes", action="append", default=[], metavar="TAG=CSV",
                        help="extra codes: a dedup run's <tag>/codes.csv (repeatable)")
    parser.add_argument("--k", type=int, default=8, help="nearest codes per shot (default 8)")
    parser.add_argument("--margin", type=int, default=8, help="radius = Otsu + margin bits (default 8)")
    parser.add_argument("--window", type=int, default=3, help="capture-order window (default 3)")
    parser.add_argument("--sample", type=int, default=3000,
                        help="zero-overlap pairs verified for the reference (default 3000; 0: all)")
    parser.add_argument("--min-overlap", type=float, default=0.5, help="duplicate iff overlap >= this")
    parser.add_argument("--n-features", type=int, default=1000, help="ORB features per shot (default 1000)")
    parser.add_argument("--workers", type=int, default=2, help="threads (default 2)")
    return parser


def union(*pairs: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.unique(np.concatenate([np.c_[i, j] for i, j in pairs]), axis=0)
    return stacked[:, 0], stacked[:, 1]


def read_codes(path: Path, files: list[str]) -> np.ndarray:
    """Codes of a dedup run's ``codes.csv`` (path relative to images/), in flight order."""
    with open(path, newline="", encoding="utf-8") as fh:
        by_name = {Path(row["path"]).name: row["code_hex"] for row in csv.DictReader(fh)}
    missing = [f for f in files if f not in by_name]
    if missing:
        raise ValueError(f"{path} lacks codes for {len(missing)} shots, e.g. {missing[0]}")
    return hex_to_codes([by_name[f] for f in files])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    flight = flight_folder(args.out, args.flight, args.photo, strips=args.strips,
                           shots_per_strip=args.shots_per_strip,
                           shot_size=tuple(args.shot_size), seed=args.seed)
    gt = load_ground_truth(flight / "ground_truth.json")
    n = len(gt.files)
    n_all = n * (n - 1) // 2
    paths = [flight / "images" / f for f in gt.files]
    truth_pairs = {pair for pair, ov in gt.overlaps.items() if ov >= args.min_overlap}
    print(f"flight {flight}: {n} shots, {n_all} pairs, {len(truth_pairs)} true duplicates "
          f"(overlap >= {args.min_overlap})", file=sys.stderr)
    if not truth_pairs or args.k > n - 1:
        print(f"error: need a flight with true duplicates and --k < {n} shots", file=sys.stderr)
        return 2

    images = [load_image(p) for p in paths]
    codes = {f"{m}64": np.concatenate([classical_hash(im, m, 8)[None] for im in images])
             for m in args.hashes}
    for spec in args.codes:
        tag, _, csv_path = spec.partition("=")
        codes[tag] = read_codes(Path(csv_path), gt.files)

    # Candidates exactly as the pipeline makes them (dedup.sources), one run per generator.
    runs: list[Run] = []
    win = candidate_pairs(n, "window", args.window)
    for tag, c in codes.items():
        search = find_duplicates(c, gt.files, pairing="all")
        pipeline = verification_candidates(search, c, args.margin, args.k)
        runs += [Run(f"{tag} --candidates codes (T={search.threshold}+{args.margin}, "
                     f"kNN {args.k})", *pipeline),
                 Run(f"{tag} same ∪ window {args.window}", *union(pipeline, win))]
        ordered = find_duplicates(c, gt.files, pairing="window", window=args.window)
        runs.append(Run(f"{tag} window {args.window}, Otsu T={ordered.threshold}, no "
                        "verification", ordered.i, ordered.j, duplicate=ordered.duplicate,
                        verified=False))
    runs.append(Run(f"window {args.window}", *win))

    encoder = FeatureEncoder(n_features=args.n_features)
    start = time.perf_counter()
    features = FeatureStore.from_encoding(
        encoder.encode(paths, workers=args.workers, progress=False), paths, encoder)
    feature_s = time.perf_counter() - start
    # The default candidates of --pairing all --verify: keypoint retrieval, from scratch.
    state = SurveyState.open(None, "benchmark")
    ids, new = state.assign_ids([file_key(p) for p in paths])
    retrieved = feature_candidates(features, ids, new, state, RetrievalSettings(),
                                   workers=args.workers)
    runs.append(Run("keypoint retrieval (--pairing all --verify)", *retrieved[:2]))

    # Reference: every pair that touches, plus a sample of those that do not.
    touching = np.array(sorted(gt.overlaps), dtype=np.int64).reshape(-1, 2)
    rng = np.random.default_rng(args.seed)
    all_i, all_j = np.triu_indices(n, 1)
    is_touching = np.zeros((n, n), bool)
    is_touching[touching[:, 0], touching[:, 1]] = True
    apart = np.flatnonzero(~is_touching[all_i, all_j])
    size = apart.size if args.sample <= 0 else min(args.sample, apart.size)
    sample = rng.choice(apart, size=size, replace=False)
    ref_i = np.r_[touching[:, 0], all_i[sample]]
    ref_j = np.r_[touching[:, 1], all_j[sample]]

    needed = union((ref_i, ref_j), *[(r.i, r.j) for r in runs if r.verified])
    print(f"features in {feature_s:.1f} s; verifying {needed[0].size} distinct pairs",
          file=sys.stderr)
    start = time.perf_counter()
    found = verify_pairs(features, *needed, workers=args.workers, progress=False)
    overlap, status = found.overlap, found.status
    per_pair_s = (time.perf_counter() - start) / max(1, needed[0].size)
    verified = {(a, b): k for k, (a, b) in enumerate(zip(needed[0].tolist(), needed[1].tolist()))}

    def lookup(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return np.array([verified[(a, b)] for a, b in zip(i.tolist(), j.tolist())], dtype=np.int64)

    grid = CoverageGrid.around(gt.footprints)
    total_area = grid.union_area(gt.footprints)

    def score(run: Run) -> dict:
        if run.verified:
            rows = lookup(run.i, run.j)
            run.duplicate = overlap[rows] >= args.min_overlap
        found = {(a, b) for a, b, d in zip(run.i.tolist(), run.j.tolist(), run.duplicate) if d}
        tp = len(found & truth_pairs)
        fp = len(found) - tp
        fn = len(truth_pairs) - tp
        keep = pairwise_keep(n, run.i, run.j, run.duplicate)
        cand = {(a, b) for a, b in zip(run.i.tolist(), run.j.tolist())}
        n_verified = int(run.i.size) if run.verified else 0
        return {
            "pairs": n_verified,
            "fraction": n_verified / n_all,
            "candidate_recall": len(cand & truth_pairs) / len(truth_pairs),
            "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / len(truth_pairs),
            "f1": 2 * tp / (2 * tp + fp + fn),
            "removed": int(n - keep.sum()),
            "coverage": grid.union_area([gt.footprints[k] for k in np.flatnonzero(keep)]) / total_area,
            "verify_s": run.i.size * per_pair_s if run.verified else 0.0,
            **run.extra,
        }

    results = {run.name: score(run) for run in runs}

    # Reference: exact on touching pairs, extrapolated on the rest.
    rows = lookup(ref_i, ref_j)
    dup = overlap[rows] >= args.min_overlap
    n_touch = len(touching)
    tp = int(sum(1 for (a, b), d in zip(touching.tolist(), dup[:n_touch]) if d and (a, b) in truth_pairs))
    fp_touch = int(dup[:n_touch].sum()) - tp
    fp_sample = int(dup[n_touch:].sum())
    fp_est = fp_sample * apart.size / max(1, sample.size)
    if sample.size == apart.size:
        fp_upper = float(fp_sample)
    else:
        # One-sided 95 % Clopper-Pearson bound on the false-positive rate of the sample.
        fp_upper = beta.ppf(0.95, fp_sample + 1, sample.size - fp_sample) * apart.size
    sample_rows = rows[n_touch:]
    fn = len(truth_pairs) - tp
    keep = pairwise_keep(n, ref_i, ref_j, dup)
    results["all pairs (reference)"] = {
        "pairs": n_all, "fraction": 1.0, "candidate_recall": 1.0,
        "tp": tp, "fp": fp_touch + fp_est, "fn": fn,
        "precision": tp / (tp + fp_touch + fp_est) if tp else 0.0,
        "recall": tp / len(truth_pairs),
        "f1": 2 * tp / (2 * tp + fp_touch + fp_est + fn),
        "f1_lower_95": 2 * tp / (2 * tp + fp_touch + fp_upper + fn),
        "removed": int(n - keep.sum()),
        "coverage": grid.union_area([gt.footprints[k] for k in np.flatnonzero(keep)]) / total_area,
        "verify_s": n_all * per_pair_s,
        "sample": int(sample.size), "sample_fp": fp_sample, "apart_pairs": int(apart.size),
        "sample_status": {st: int((status[sample_rows] == st).sum()) for st in np.unique(status)},
        "sample_max_overlap": float(np.nan_to_num(overlap[sample_rows]).max(initial=0.0)),
    }
    gt_i, gt_j = np.array(sorted(truth_pairs)).T
    keep = pairwise_keep(n, gt_i, gt_j, np.ones(gt_i.size, bool))
    results["ground truth (ideal)"] = {
        "pairs": 0, "fraction": 0.0, "candidate_recall": 1.0, "tp": len(truth_pairs), "fp": 0,
        "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0, "removed": int(n - keep.sum()),
        "coverage": grid.union_area([gt.footprints[k] for k in np.flatnonzero(keep)]) / total_area,
        "verify_s": 0.0,
    }

    ok = status == "ok"
    errors = np.abs(overlap[ok] - np.array([gt.overlaps.get(p, 0.0) for p in
                                            zip(needed[0][ok].tolist(), needed[1][ok].tolist())]))
    meta = {
        "n_shots": n, "n_pairs": n_all, "n_true": len(truth_pairs), "feature_s": feature_s,
        "ms_per_pair": per_pair_s * 1e3, "n_verified_distinct": int(needed[0].size),
        "status_counts": {s: int((status == s).sum()) for s in np.unique(status)},
        "overlap_error_ok": {"median": float(np.median(errors)), "p99": float(np.percentile(errors, 99)),
                             "max": float(errors.max())},
        "unreadable": int(len(paths) - features.present.sum()),
    }
    (args.out / "results.json").write_text(json.dumps({"meta": meta, "runs": results}, indent=1))
    print(format_table(results, meta, args))
    return 0


def format_table(results: dict, meta: dict, args: argparse.Namespace) -> str:
    """Markdown table of the runs plus a line of run-wide numbers."""
    lines = [
        f"N = {meta['n_shots']} shots ({meta['n_pairs']} pairs, {meta['n_true']} true duplicate "
        f"pairs at overlap >= {args.min_overlap}); ORB {args.n_features} features: "
        f"{meta['feature_s']:.1f} s for all shots, {meta['ms_per_pair']:.2f} ms per verified pair "
        f"({args.workers} threads); |overlap error| on verified pairs with a model: "
        f"median {meta['overlap_error_ok']['median']:.3f}, p99 {meta['overlap_error_ok']['p99']:.3f}, "
        f"max {meta['overlap_error_ok']['max']:.3f}.",
        "",
        "| candidates | pairs verified | of all pairs | cand. recall | precision | recall | F1 "
        "| removed | coverage | verify s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['pairs']} | {r['fraction']:.4f} | {r['candidate_recall']:.3f} "
            f"| {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['removed']} "
            f"| {r['coverage']:.4f} | {r['verify_s']:.1f} |")
    ref = results["all pairs (reference)"]
    statuses = ", ".join(f"{v} {k}" for k, v in ref["sample_status"].items())
    lines += ["", f"Reference: all {ref['pairs'] - ref['apart_pairs']} pairs whose footprints "
                  f"touch, plus {ref['sample']} of the {ref['apart_pairs']} zero-overlap pairs "
                  f"({statuses}; largest overlap {ref['sample_max_overlap']:.3f}; "
                  f"{ref['sample_fp']} false duplicates): F1 >= {ref['f1_lower_95']:.4f} at 95 % "
                  f"confidence. Its 'verify s' is the projected cost of verifying all pairs."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
