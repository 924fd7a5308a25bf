"""Learned codes of issue 12 on shuffled two-pass surveys: candidates, pair-F1, AUC, distractors, speed.

What it does:

1. Simulates shuffled two-pass surveys (``coarse`` then ``dense`` pass, file names shuffled,
   ``--distractors`` unrelated photos: scikit-image's samples first) over three walls: the
   RIGHT (evaluation) half of the real photo and two procedural walls whose seeds
   (``2 * seed``, ``2 * seed + 1``) are disjoint from the training walls (1000-1003 of
   ``tools/make_training_data.py``). One survey per ``--surveys`` seed.
2. Encodes every survey with every ``--model``: global models (HashCLR, SimCLR) give
   32/64/96/128-bit codes, a spatial model (SwinFpnSpatialHash) one code per cell.
3. Per code (tag), over all pairs of the survey, a pair being a true duplicate iff its
   footprint overlap is >= 0.5 (distractors never are):

   - candidate recall at k: the share of true pairs among the candidates when every image
     keeps its k best partners (a pair stays if either image keeps it, as in
     ``dedup.retrieval.select_candidates``); at k = 10 also over the true pairs of shots
     from different passes alone (flown at different scales). Global codes: the k
     nearest codes (Hamming, ties by file order). Spatial codes: :func:`mmselfsup_ext.dedup.spatial.spatial_candidates`
     (faiss index of the cell codes, closest by cell disagreement). ``cand/img`` is the
     mean number of candidate pairs an image ends up in;
   - hash-only pair-F1 (precision, recall and F1 over *all* true pairs; ``F1 listed`` is
     the scorer's F1 over the pairs of ``pairs.csv`` only, which for ``--pairing all``
     omits far pairs, the figure issue 12 quotes) and distractors removed, all through
     the deduplication pipeline with ``--pairing all`` and the ``cover`` keep rule:
     global codes with Otsu; spatial codes by cell agreement
     (:mod:`mmselfsup_ext.dedup.spatial`: a pair is a duplicate iff at most ``T`` percent
     of the cells it shares under its best alignment disagree, over the shifts, and the
     alignments at the ``--scales`` (default 1.1 and 1.2, both ways), whose footprint
     overlap is >= 50 %, and the overlap of that alignment refined below a cell is too). The match ``radius`` and ``T`` are fixed on a survey of the TRAINING
     surfaces (the photo's left half, walls 1000 and 1001, with 8 OTHER unrelated photos:
     scikit-image's ``CALIBRATION_SAMPLES``) before any evaluation survey is looked at:
     the best pair-F1 there among the rules that flag no pair with an unrelated photo
     (:func:`calibrate_spatial`). The row ``oracle`` ranks
     partners by their true overlap: the most any ranking can recall at k (images with
     more than k true partners cap it);
   - ROC-AUC over all pairs (score: minus the distance; spatial: the best agreement,
     before the overlap check);
   - ``dup_distr``: distractors in any predicted duplicate pair (stricter than removed);
   - images per second of the encoding (decode + forward pass; this machine's 2 shared
     cores, so compare within one run only) and the pipeline's search time per image
     (``summary.json``'s ``search_s``: candidates and distances, after encoding).

4. Prints the Markdown table (means over surveys; distractor counts summed), a second one
   with the true overlap of every tag's false and missed duplicates (where its errors
   lie: near the 0.5 boundary, or far from it), and writes ``OUT/results.json``.

Example (``benchmarks/README_learned.md``)::

    python benchmarks/learned.py --out work_dirs/learned \
        --model shipped=mmselfsup_ext/model_zoo/hashclr-overlap_swin_nano_fpn_concrete.pth \
        --model spatial=work_dirs/spatialhash_swin_nano_fpn_1xb8_coslr_6e_concrete/epoch_6.pth

A model is ``LABEL=CHECKPOINT`` or ``LABEL=CONFIG,CHECKPOINT``.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _common import DEFAULT_PHOTO, PrecomputedEncoder, parse_model_spec

from mmselfsup_ext.apis import DeepHashEncoder, SpatialHashEncoder, SpatialVoteRule, init_model, spatial_candidates
from mmselfsup_ext.dedup import EncodeResult, deduplicate_folder
from mmselfsup_ext.dedup.spatial import MAX_DISTANCE, SpatialCodes
from mmselfsup_ext.evaluation import (load_ground_truth, load_photo, procedural_concrete, roc_auc,
                                      score_dedup, simulate_survey, survey_walls)
from mmselfsup_ext.evaluation.survey import CALIBRATION_SAMPLES
from mmselfsup_ext.fileio import discover_images
from mmselfsup_ext.hashing import CellGrid, all_pairs_agreement, check_scales, unpack_cell_codes
from mmselfsup_ext.models.algorithms.swin_fpn_spatial_hash import SwinFpnSpatialHash

KS = (5, 10)
#: Training walls of tools/make_training_data.py used for the calibration survey.
TRAINING_WALL_SEEDS = (1000, 1001)
CALIBRATION_SEED = 100
#: Relative scales spatial rules align besides shifts: the passes of a survey differ by 1.2x.
DEFAULT_SCALES = (1.1, 1.2)


@dataclass
class Survey:
    """A survey's images in discovery order and its pairwise truth."""

    folder: Path
    paths: list[Path]
    overlap: np.ndarray       # (N, N) ground-truth overlap, 0 for distractors
    distractor: np.ndarray    # (N,) bool
    passes: np.ndarray        # (N,) pass of each shot, -1 for distractors

    @property
    def truth(self) -> np.ndarray:
        return self.overlap >= 0.5

    @property
    def cross_pass_truth(self) -> np.ndarray:
        """True pairs whose shots come from different passes (flown at different scales)."""
        return self.truth & (self.passes[:, None] != self.passes[None, :])


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="working folder (surveys, runs, results)")
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO, help="the real photo (default: the shared one)")
    parser.add_argument("--surveys", type=int, nargs="+", default=[0, 1], help="survey seeds (default 0 1)")
    parser.add_argument("--distractors", type=int, default=8, help="unrelated photos per survey (default 8)")
    parser.add_argument("--model", type=parse_model_spec, action="append", required=True,
                        metavar="LABEL=[CONFIG,]CKPT", help="model to evaluate (repeatable)")
    parser.add_argument("--scales", type=float, nargs="*", default=list(DEFAULT_SCALES), metavar="R",
                        help="relative scales a spatial rule also aligns (default: "
                             f"{' '.join(map(str, DEFAULT_SCALES))}; none: shifts only)")
    parser.add_argument("--batch-size", type=int, default=16, help="batch size (default 16)")
    parser.add_argument("--device", default="cpu", help="device (default cpu)")
    return parser


# --- surveys -------------------------------------------------------------------------------------

def _simulate(folder: Path, walls: list, seed: int, distractors: int) -> Path:
    if not (folder / "ground_truth.json").is_file():
        simulate_survey(walls, folder, passes=("coarse", "dense"), distractors=distractors,
                        shuffle_names=True, seed=seed)
    return folder


def evaluation_survey(out: Path, photo: Path, seed: int, distractors: int) -> Path:
    """Photo's evaluation half + procedural walls ``2 seed``, ``2 seed + 1`` (reused if present)."""
    return _simulate(out / f"survey{seed}", survey_walls(3, first_seed=2 * seed, photo=photo), seed, distractors)


def calibration_survey(out: Path, photo: Path) -> Path:
    """The same kind of survey over TRAINING surfaces (photo's left half, walls 1000-1001).

    Its unrelated photos are scikit-image's :data:`CALIBRATION_SAMPLES`, none of the
    evaluation surveys' (:data:`DISTRACTOR_SAMPLES`).
    """
    walls = [load_photo(photo, region="train")] + [procedural_concrete(1296, 2048, seed=s)
                                                    for s in TRAINING_WALL_SEEDS]
    folder = out / "calibration"
    if not (folder / "ground_truth.json").is_file():
        simulate_survey(walls, folder, passes=("coarse", "dense"), distractors=len(CALIBRATION_SAMPLES),
                        distractor_samples=CALIBRATION_SAMPLES, shuffle_names=True, seed=CALIBRATION_SEED)
    return folder


def load_survey(folder: Path) -> Survey:
    """Images in the pipeline's discovery order and the (N, N) overlap matrix."""
    gt = load_ground_truth(folder / "ground_truth.json")
    paths = discover_images(folder / "images")
    index = gt.image_index()
    rows = np.array([index[p.name] for p in paths])
    n_shots = len(gt.files)
    full = np.zeros((len(index), len(index)))
    for (a, b), ov in gt.overlaps.items():
        full[a, b] = full[b, a] = ov
    shot_pass = {shot["file"]: shot.get("pass", 0)
                 for shot in json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))["shots"]}
    passes = np.array([shot_pass.get(p.name, -1) for p in paths])
    return Survey(folder, paths, full[np.ix_(rows, rows)], rows >= n_shots, passes)


# --- metrics ---------------------------------------------------------------------------------------

def _upper(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.triu_indices(len(matrix), 1)]


def knn_recall(score: np.ndarray, truth: np.ndarray, k: int) -> tuple[float, float]:
    """Recall of true pairs when each image keeps its ``k`` best-scored partners, and candidates per image."""
    n = len(score)
    s = score.astype(np.float64).copy()
    np.fill_diagonal(s, -np.inf)
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]  # ties: lower index first
    keep = np.zeros((n, n), bool)
    keep[np.repeat(np.arange(n), order.shape[1]), order.ravel()] = True
    covered = keep | keep.T
    return float(_upper(covered)[_upper(truth)].mean()), float(covered.sum(axis=1).mean())


def pairs_recall(i: np.ndarray, j: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Recall of true pairs among candidate pairs ``(i, j)``, and candidates per image."""
    covered = np.zeros_like(truth)
    covered[i, j] = covered[j, i] = True
    return float(_upper(covered)[_upper(truth)].mean()), float(covered.sum(axis=1).mean())


def hamming_matrix(codes: np.ndarray) -> np.ndarray:
    """(N, N) Hamming distances of packed codes."""
    signs = np.unpackbits(codes, axis=1).astype(np.float32) * 2 - 1
    return np.rint((signs.shape[1] - signs @ signs.T) / 2).astype(np.int64)


def best_f1(score: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Best pair-F1 of ``score >= t`` over thresholds ``t``, and that ``t`` (smallest on ties)."""
    order = np.argsort(-score, kind="stable")
    s, t = score[order], truth[order]
    tp = np.cumsum(t)
    last = np.r_[s[1:] != s[:-1], True]  # a threshold admits every pair of equal score
    f1 = 2 * tp / (np.arange(1, len(s) + 1) + t.sum())
    k = int(np.argmax(np.where(last & (s > 0), f1, -1)))
    return float(f1[k]), float(s[k])


def spatial_distance_matrix(cells: np.ndarray, radius: int, grid: CellGrid, scales: tuple[float, ...]
                            ) -> np.ndarray:
    """(N, N) cell disagreement in percent (``dedup.spatial``'s distance), from the best agreement."""
    agreement, overlap = all_pairs_agreement(cells, radius, grid, min_share=0.5, scales=scales)
    # ceil(100 (1 - a)); the tolerance absorbs float error where 100 (n - m) / n is whole.
    distance = np.ceil(MAX_DISTANCE * (1.0 - agreement) - 1e-9).astype(np.int64)
    return np.where(overlap >= 0.5 - 1e-9, distance, MAX_DISTANCE)


def calibrate_spatial(survey: Survey, cells: np.ndarray, grid: CellGrid, max_radius: int,
                      scales: tuple[float, ...] = ()) -> dict:
    """Radius and threshold ``T`` (duplicate iff distance <= T) of a training survey, at ``scales``.

    The best pair-F1 among the rules that pair no unrelated photo with a survey shot: ``T``
    stays below the closest distance between a distractor and a shot, because removing an
    unrelated photo loses data while a missed duplicate only costs space.
    """
    truth = _upper(survey.truth)
    best = None
    for radius in range(0, max_radius + 1, 2):
        distance = spatial_distance_matrix(cells, radius, grid, scales)
        np.fill_diagonal(distance, MAX_DISTANCE + 1)
        closest = (int(distance[np.ix_(survey.distractor, ~survey.distractor)].min()) if survey.distractor.any()
                   else MAX_DISTANCE + 1)
        closeness = (MAX_DISTANCE + 1 - _upper(distance)).astype(np.float64)
        # Pairs a rule with T < closest may flag: closeness > MAX_DISTANCE + 1 - closest.
        allowed = np.where(closeness > MAX_DISTANCE + 1 - closest, closeness, 0.0)
        f1, threshold = best_f1(allowed, truth)
        if best is None or f1 > best["f1"]:
            best = {"radius": radius, "threshold": int(round(MAX_DISTANCE + 1 - threshold)), "f1": f1,
                    "closest_distractor": closest}
    return best


# --- runs --------------------------------------------------------------------------------------------

def encode(encoder, survey: Survey) -> tuple[EncodeResult, float]:
    """Codes of a survey and the images per second of encoding them."""
    start = time.perf_counter()
    result = encoder.encode(survey.paths, progress=False)
    speed = len(survey.paths) / (time.perf_counter() - start)
    if result.unreadable:
        raise ValueError(f"unreadable survey images: {result.unreadable[:3]}")
    return result, speed


def _relabel(result: EncodeResult, tags: dict[str, int], label: str) -> tuple[EncodeResult, dict[str, int]]:
    """Rename tags ``hashclr64`` -> ``<label>64`` so several models share a run folder."""
    names = {tag: f"{label}{bits}" for tag, bits in tags.items()}
    return (EncodeResult({names[t]: c for t, c in result.codes.items()}, result.ok_paths, result.unreadable,
                         {names[t]: s for t, s in result.timings.items()}),
            {names[t]: b for t, b in tags.items()})


def global_rows(label: str, encoder: DeepHashEncoder, survey: Survey, run: Path) -> dict[str, dict]:
    """Metrics of every code length of a global model on one survey."""
    result, speed = encode(encoder, survey)
    result, tags = _relabel(result, encoder.tags, label)
    deduplicate_folder(survey.folder / "images", PrecomputedEncoder(tags, encoder.identity, result), run,
                       pairing="all", html_report=False, progress=False)
    rows = {}
    for tag in tags:
        distance = hamming_matrix(result.codes[tag])
        row = {"bits_per_image": tags[tag], "images_per_s": speed,
               "auc": roc_auc(-_upper(distance).astype(np.float64), _upper(survey.truth))}
        for k in KS:
            row[f"recall@{k}"], row[f"cand@{k}"] = knn_recall(-distance, survey.truth, k)
        row["recall@10_cross"] = knn_recall(-distance, survey.cross_pass_truth, 10)[0]
        rows[tag] = row
    return rows


def spatial_rows(label: str, encoder: SpatialHashEncoder, survey: Survey, run: Path,
                 rule: SpatialVoteRule) -> dict[str, dict]:
    """Metrics of a spatial model on one survey, with the calibrated rule, through the pipeline."""
    result, speed = encode(encoder, survey)
    tag = f"{label}{encoder.grid.bits}x{encoder.grid.height}x{encoder.grid.width}"
    rows_codes = result.codes[encoder.tag]
    precomputed = PrecomputedEncoder({tag: encoder.grid.total_bits}, encoder.identity,
                                     EncodeResult({tag: rows_codes}, result.ok_paths, result.unreadable,
                                                  {tag: result.timings[encoder.tag]}),
                                     spatial=SpatialCodes(encoder.grid, rule))
    deduplicate_folder(survey.folder / "images", precomputed, run, pairing="all", html_report=False,
                       progress=False)
    cells = unpack_cell_codes(rows_codes, encoder.grid)
    agreement = all_pairs_agreement(cells, rule.radius, encoder.grid, scales=rule.scales)[0]
    row = {"bits_per_image": encoder.grid.total_bits, "images_per_s": speed,
           "auc": roc_auc(_upper(agreement), _upper(survey.truth))}
    for k in KS:
        i, j, _ = spatial_candidates(rows_codes, encoder.grid, rule, per_image=k)
        row[f"recall@{k}"], row[f"cand@{k}"] = pairs_recall(i, j, survey.truth)
        if k == 10:
            row["recall@10_cross"] = pairs_recall(i, j, survey.cross_pass_truth)[0]
    return {tag: row}


def search_ms_per_image(tag_dir: Path) -> float:
    """The pipeline's search time (candidates and distances, after encoding) per image, in ms."""
    summary = json.loads((tag_dir / "summary.json").read_text(encoding="utf-8"))
    return 1000.0 * summary["timings"]["search_s"] / summary["n_images"]


def dup_distractors(tag_dir: Path, survey: Survey) -> int:
    """Distractors that are in any predicted duplicate pair of ``pairs.csv``."""
    names = {p.name for p, d in zip(survey.paths, survey.distractor) if d}
    found = set()
    with (tag_dir / "pairs.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["duplicate"].strip().lower() in ("1", "true"):
                found |= {Path(row[k]).name for k in ("path_a", "path_b")} & names
    return len(found)


#: Bins of true overlap for the wrong decisions: false duplicates lie below 0.5, missed ones above.
FALSE_BINS = (0.0, 0.01, 0.3, 0.4, 0.5)
MISSED_BINS = (0.5, 0.6, 0.7, 1.0 + 1e-9)


def error_overlaps(tag_dir: Path, survey: Survey) -> dict[str, list[int]]:
    """True overlaps of the pipeline's false and missed duplicates, counted in bins."""
    index = {p.name: k for k, p in enumerate(survey.paths)}
    predicted = np.zeros(survey.overlap.shape, bool)
    with (tag_dir / "pairs.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["duplicate"].strip().lower() in ("1", "true"):
                a, b = index[Path(row["path_a"]).name], index[Path(row["path_b"]).name]
                predicted[a, b] = predicted[b, a] = True
    overlap, truth, flagged = _upper(survey.overlap), _upper(survey.truth), _upper(predicted)
    return {"false": np.histogram(overlap[flagged & ~truth], FALSE_BINS)[0].tolist(),
            "missed": np.histogram(overlap[truth & ~flagged], MISSED_BINS)[0].tolist()}


def evaluate(args: argparse.Namespace) -> dict:
    """Surveys, calibration, every model on every survey; the per-survey rows."""
    surveys = [load_survey(evaluation_survey(args.out, args.photo, s, args.distractors)) for s in args.surveys]
    calibration = None
    results: dict = {"surveys": {}, "calibration": {}, "oracle": {}}
    for seed, survey in zip(args.surveys, surveys):
        results["oracle"][str(seed)] = {f"recall@{k}": knn_recall(survey.overlap, survey.truth, k)[0] for k in KS}
        results["oracle"][str(seed)]["recall@10_cross"] = knn_recall(survey.overlap, survey.cross_pass_truth, 10)[0]
    for label, config, checkpoint in args.model:
        model = init_model(config, checkpoint, device=args.device)
        spatial = isinstance(model, SwinFpnSpatialHash)
        encoder = (SpatialHashEncoder(model, batch_size=args.batch_size) if spatial
                   else DeepHashEncoder(model, batch_size=args.batch_size))
        rule = None
        if spatial:
            calibration = calibration or load_survey(calibration_survey(args.out, args.photo))
            train_codes, _ = encode(encoder, calibration)
            cells = unpack_cell_codes(train_codes.codes[encoder.tag], encoder.grid)
            scales = check_scales(args.scales)
            fitted = calibrate_spatial(calibration, cells, encoder.grid, max_radius=encoder.grid.bits // 4,
                                       scales=scales)
            results["calibration"][label] = {**fitted, "scales": list(scales)}
            rule = SpatialVoteRule(fitted["radius"], fitted["threshold"], scales)
            print(f"{label}: rule from the training survey: spatial_vote_rule = dict(radius={rule.radius}, "
                  f"threshold={rule.threshold}, scales={rule.scales}) (pair-F1 there {fitted['f1']:.3f})",
                  file=sys.stderr)
        for seed, survey in zip(args.surveys, surveys):
            run = args.out / f"runs{seed}"
            rows = (spatial_rows(label, encoder, survey, run, rule) if spatial
                    else global_rows(label, encoder, survey, run))
            scores = score_dedup(run, survey.folder / "ground_truth.json")
            for tag, row in rows.items():
                s = scores[tag]
                row.update({"precision": s["precision"], "recall_all": s["recall_all"], "f1_all": s["f1_all"],
                            "f1_listed": s["f1"],
                            "threshold": s["hash_threshold"], "distr_removed": s["n_distractors_removed"],
                            "distr_in_dup": dup_distractors(run / tag, survey), "n_true_pairs": s["n_true_pairs"],
                            "n_distractors": s["n_distractors"], "search_ms": search_ms_per_image(run / tag),
                            "errors": error_overlaps(run / tag, survey)})
                results["surveys"].setdefault(tag, {})[str(seed)] = row
    return results


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown_table(results: dict) -> str:
    """One row per tag: means over surveys, distractor counts summed."""
    lines = ["| tag | bits/img | R@5 | R@10 | R@10 cross-pass | cand/img@10 | precision | recall | pair-F1 | F1 listed | "
             "AUC | distr. removed | distr. in dup pairs | img/s | search ms/img |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    oracle = list(results["oracle"].values())
    lines.append(f"| oracle (true overlap) | | {_fmt(_mean([o['recall@5'] for o in oracle]))} | "
                 f"{_fmt(_mean([o['recall@10'] for o in oracle]))} | "
                 f"{_fmt(_mean([o['recall@10_cross'] for o in oracle]))} |" + " |" * 10)
    for tag, by_seed in results["surveys"].items():
        rows = list(by_seed.values())
        m = {key: _mean([r[key] for r in rows]) for key in rows[0] if key not in ("threshold", "errors")}
        removed = sum(r["distr_removed"] for r in rows)
        in_dup = sum(r["distr_in_dup"] for r in rows)
        total = sum(r["n_distractors"] for r in rows)
        lines.append(f"| {tag} | {rows[0]['bits_per_image']} | {_fmt(m['recall@5'])} | {_fmt(m['recall@10'])} | "
                     f"{_fmt(m['recall@10_cross'])} | {_fmt(m['cand@10'], 1)} | {_fmt(m['precision'])} | {_fmt(m['recall_all'])} | "
                     f"{_fmt(m['f1_all'])} | {_fmt(m['f1_listed'])} | {_fmt(m['auc'])} | {removed}/{total} | "
                     f"{in_dup}/{total} | "
                     f"{_fmt(m['images_per_s'], 1)} | {_fmt(m['search_ms'], 1)} |")
    return "\n".join(lines)


def error_table(results: dict) -> str:
    """True overlap of the wrong decisions per tag, summed over surveys."""
    def span(bins: tuple, k: int) -> str:
        return f"{bins[k]:g}-{min(bins[k + 1], 1.0):.2g}"
    heads = [f"false {span(FALSE_BINS, k)}" for k in range(len(FALSE_BINS) - 1)]
    heads += [f"missed {span(MISSED_BINS, k)}" for k in range(len(MISSED_BINS) - 1)]
    lines = ["| tag | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
    for tag, by_seed in results["surveys"].items():
        false = np.sum([r["errors"]["false"] for r in by_seed.values()], axis=0)
        missed = np.sum([r["errors"]["missed"] for r in by_seed.values()], axis=0)
        lines.append(f"| {tag} | " + " | ".join(str(int(v)) for v in [*false, *missed]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write results.json."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_scales(args.scales)
    except ValueError as exc:
        parser.error(str(exc))
    if args.photo is None:
        raise SystemExit("the real photo is needed (its right half is the evaluation wall); pass --photo")
    args.out.mkdir(parents=True, exist_ok=True)
    results = evaluate(args)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(markdown_table(results))
    print("\nTrue overlap of the false duplicates (< 0.5) and of the missed ones (>= 0.5), pairs summed "
          "over the surveys:\n")
    print(error_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
