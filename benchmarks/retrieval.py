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
import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from mmselfsup_ext.dedup import ClassicalEncoder, deduplicate_folder
from mmselfsup_ext.dedup.verify import FeatureEncoder, FeatureStore, verify_pairs
from mmselfsup_ext.evaluation import load_ground_truth, score_dedup, simulate_survey, survey_walls
from mmselfsup_ext.fileio import discover_images

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
    parser.add_argument("--run", nargs=3, metavar=("IMAGES", "OUT", "CANDIDATES"),
                        help=argparse.SUPPRESS)
    return parser


def make_survey(folder: Path, n: int, shuffle: bool) -> Path:
    """The survey of about ``n`` shots (reused when already written)."""
    if not (folder / "ground_truth.json").is_file():
        walls = survey_walls(max(1, round(n / SHOTS_PER_WALL)), first_seed=100)
        simulate_survey(walls, folder, passes=("coarse", "dense"), distractors=DISTRACTORS,
                        shuffle_names=shuffle, seed=n)
    return folder


def run_pipeline(images: Path, out: Path, candidates: str, workers: int) -> dict:
    """One deduplication in this process; its wall time and peak memory."""
    start = time.perf_counter()
    deduplicate_folder(images, ClassicalEncoder(["phash"], 8), out, pairing="all",
                       verify=True, candidates=candidates, workers=workers, progress=False,
                       html_report=False)
    return {"wall_s": time.perf_counter() - start,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(images: Path, out: Path, candidates: str, workers: int) -> dict:
    """:func:`run_pipeline` in a fresh process, so each peak memory is its own.

    The measurement is kept in ``out/resources.json``; a rerun with the same ``--out``
    scores the existing outputs again instead of repeating the run.
    """
    record = out / "resources.json"
    if record.is_file():
        return json.loads(record.read_text())
    proc = subprocess.run([sys.executable, __file__, "--out", str(out), "--workers",
                           str(workers), "--run", str(images), str(out), candidates],
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    resources = json.loads(proc.stdout.strip().splitlines()[-1])
    record.write_text(json.dumps(resources))
    return resources


def score(survey: Path, out: Path, n_shots: int, resources: dict) -> dict:
    """Ground-truth scores, candidate recall and per-stage seconds per image."""
    gt = load_ground_truth(survey / "ground_truth.json")
    row = score_dedup(out, survey / "ground_truth.json")["phash64"]
    summary = json.loads((out / "phash64" / "summary.json").read_text())
    truth = {frozenset((gt.files[a], gt.files[b])) for (a, b), ov in gt.overlaps.items()
             if ov >= 0.5}
    with (out / "phash64" / "pairs.csv").open(encoding="utf-8", newline="") as fh:
        candidates = {frozenset((r["path_a"], r["path_b"])) for r in csv.DictReader(fh)}
    n_images = summary["n_images"]
    stages = {"features": summary.get("features_s", 0.0), "retrieval": summary.get(
        "retrieval_s", 0.0), "verify": summary["verify_s"], "phash": summary["timings"][
        "encode_s"]}
    return {
        "n_images": n_images, "n_shots": n_shots, "n_true": len(truth),
        "candidate_recall": len(truth & candidates) / len(truth),
        "pairs_per_image": summary["n_verified"] / n_images,
        "fraction_verified": summary["n_verified"] / (n_images * (n_images - 1) / 2),
        "precision": row["precision"], "recall": row["recall_all"], "f1": row["f1_all"],
        "distractors_removed": row["n_distractors_removed"],
        "removed": row["n_removed"], "ideal_removed": row["ideal_coverage_removed"],
        "removed_vs_ideal": row["removed_vs_ideal"], "coverage": row["coverage"],
        "ms_per_image": {k: 1000 * v / n_images for k, v in stages.items()},
        "total_ms_per_image": 1000 * resources["wall_s"] / n_images, **resources,
    }


def exhaustive(survey: Path, workers: int) -> dict:
    """Every pair verified with the pipeline's features and verifier: the reference."""
    gt = load_ground_truth(survey / "ground_truth.json")
    paths = discover_images(survey / "images")
    encoder = FeatureEncoder()
    start = time.perf_counter()
    store = FeatureStore.from_encoding(encoder.encode(paths, workers=workers, progress=False),
                                       paths, encoder)
    i, j = np.triu_indices(len(paths), 1)
    found = verify_pairs(store, i, j, workers=workers, progress=False)
    seconds = time.perf_counter() - start
    index = gt.image_index()
    truth = {(min(a, b), max(a, b)) for (a, b), ov in gt.overlaps.items() if ov >= 0.5}
    shot = np.array([index.get(p.name, -1) for p in paths])
    dup = {(min(shot[a], shot[b]), max(shot[a], shot[b]))
           for a, b in zip(i[found.overlap >= 0.5], j[found.overlap >= 0.5])}
    tp = len(dup & truth)
    return {"pairs": int(i.size), "precision": tp / max(1, len(dup)),
            "recall": tp / len(truth), "f1": 2 * tp / (len(dup) + len(truth)),
            "ms_per_image": 1000 * seconds / len(paths)}


def table(results: dict) -> str:
    """Markdown table of every run."""
    lines = ["| survey | shots+photos | true pairs | candidates | cand. recall | pairs/image "
             "| of all pairs | precision | recall | F1 | removed / ideal cov. | coverage "
             "| photos removed | ms/image: features + retrieval + verify + pHash "
             "| total ms/image | peak MB |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for name, r in results.items():
        if "exhaustive" in name:
            lines.append(f"| {name} | | | all pairs | 1.000 | | 1.0000 | {r['precision']:.4f} "
                         f"| {r['recall']:.4f} | {r['f1']:.4f} | | | | | "
                         f"{r['ms_per_image']:.0f} | |")
            continue
        ms = r["ms_per_image"]
        lines.append(
            f"| {name} | {r['n_images']} | {r['n_true']} | {r['candidates']} "
            f"| {r['candidate_recall']:.4f} | {r['pairs_per_image']:.1f} "
            f"| {r['fraction_verified']:.4f} | {r['precision']:.4f} | {r['recall']:.4f} "
            f"| {r['f1']:.4f} | {r['removed']}/{r['ideal_removed']} = "
            f"{r['removed_vs_ideal']:.3f} | {100 * r['coverage']:.2f}% "
            f"| {r['distractors_removed']} | {ms['features']:.1f} + "
            f"{ms['retrieval']:.1f} + {ms['verify']:.1f} + {ms['phash']:.1f} "
            f"| {r['total_ms_per_image']:.1f} | {r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.run:
        images, out, candidates = args.run
        print(json.dumps(run_pipeline(Path(images), Path(out), candidates, args.workers)))
        return 0
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
