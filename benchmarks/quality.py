"""Deduplication quality of learned and classical codes on a flight over the evaluation half.

What it does (docs/design.md §6, issue 4 item 5):

1. Simulates an inspection flight over the RIGHT (evaluation) half of the real photo
   (``--flight DIR`` reuses one), with ground-truth footprints and overlaps.
2. Encodes every shot once per method: the four classical hashes (64 bits) and every
   ``--model`` (a global model: 32/64/96/128 bits from one pass; a spatial model: one code
   per cell, searched by cell agreement with the rule of its config, distances in percent
   of disagreeing cells), then runs the deduplication pipeline with
   ``--pairing all`` and with ``--pairing window --window 3`` at the Otsu threshold and
   scores both runs with :func:`mmselfsup_ext.evaluation.score_dedup`: pair precision,
   recall and F1 over *all* true pairs (overlap >= 0.5), ROC-AUC, and both axes of the
   selection: images removed (against the ideal coverage-preserving choice computed from
   the ground-truth footprints) and coverage retained. One verified reference per pairing
   (keypoint candidates, verified overlap, coverage-preserving keep) runs beside them.
3. Robustness: re-shoots every shot under each perturbation of
   :data:`mmselfsup_ext.evaluation.PERTURBATIONS` (brightness, contrast, gamma, blur,
   noise, JPEG 50, rotation 5 deg, scale 0.9, perspective) and reports the fraction of
   (original, perturbed) pairs whose Hamming distance is within the method's threshold
   from the ``--pairing all`` run.
4. Prints the tables (Markdown), writes ``results.json`` and a PNG plot.

Example (the README's numbers; the two shipped models)::

    python benchmarks/quality.py --out work_dirs/quality

A model is ``LABEL=CHECKPOINT`` or ``LABEL=CONFIG,CHECKPOINT``; its tags become
``LABEL<bits>`` (spatial: ``LABEL<bits>x<h>x<w>``). Without ``--model`` both shipped models
run (labels ``spatialhash`` and ``hashclr``).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from _common import DEFAULT_PHOTO, PrecomputedEncoder, parse_model_spec, flight_folder

from mmselfsup_ext.dedup import ClassicalEncoder, EncodeResult, deduplicate_folder
from mmselfsup_ext.dedup.spatial import MAX_DISTANCE, SpatialCodes, spatial_distances
from mmselfsup_ext.evaluation import PERTURBATIONS, load_ground_truth, roc_auc, score_dedup
from mmselfsup_ext.fileio import discover_images, load_image
from mmselfsup_ext.hashing import CLASSICAL_METHODS, pair_distances

PAIRINGS = {"all": dict(pairing="all"), "window3": dict(pairing="window", window=3)}
# The verified reference: keypoint retrieval + verification + coverage selection. Its
# pairs do not depend on the codes, so it runs once (with pHash), not per method.
VERIFIED = {"all + verify": dict(pairing="all", verify=True),
            "window3 + verify": dict(pairing="window", window=3, verify=True)}


def _relabel(result: EncodeResult, tags: dict[str, int], label: str) -> tuple[EncodeResult, dict[str, int]]:
    """Rename deep tags ``hashclr64`` -> ``<label>64`` (``spatialhash64x8x8`` -> ``<label>64x8x8``)."""
    names = {tag: label + re.sub(r"^[A-Za-z_-]+", "", tag) for tag in tags}
    return (EncodeResult({names[t]: c for t, c in result.codes.items()}, result.ok_paths, result.unreadable,
                         {names[t]: v for t, v in result.timings.items()}),
            {names[t]: bits for t, bits in tags.items()})


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="working folder (flight, runs, results)")
    parser.add_argument("--flight", type=Path, default=None,
                        help="existing flight folder (images/ + ground_truth.json); default: simulate "
                             "one over the evaluation half of --photo")
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO,
                        help="real photo, right half used (default: the shared photo, else a "
                             "procedural wall)")
    parser.add_argument("--seed", type=int, default=0, help="flight and perturbation seed (default 0)")
    parser.add_argument("--model", type=parse_model_spec, action="append", default=None, metavar="LABEL=[CONFIG,]CKPT",
                        help="deep model to evaluate (repeatable); default: both shipped models, as "
                             "'spatialhash' and 'hashclr'")
    parser.add_argument("--img-size", type=int, default=None, help="deep inference size (default: the config's)")
    parser.add_argument("--batch-size", type=int, default=16, help="deep batch size (default 16)")
    parser.add_argument("--device", default="auto", help="deep device (default auto)")
    parser.add_argument("--workers", type=int, default=1, help="decoding/hashing processes (default 1)")
    parser.add_argument("--plot", type=Path, default=None, help="PNG path (default OUT/quality.png)")
    return parser


def encoders(args: argparse.Namespace) -> list[tuple[str, object]]:
    """(label, encoder) for the classical hashes and every deep model."""
    from mmselfsup_ext.apis import DeepHashEncoder, SpatialHashEncoder, default_model_files, init_model
    from mmselfsup_ext.models.algorithms.swin_fpn_spatial_hash import SwinFpnSpatialHash

    found: list[tuple[str, object]] = [("classical", ClassicalEncoder(CLASSICAL_METHODS, 8))]
    models = args.model or [(name, *default_model_files(name)) for name in ("spatialhash", "hashclr")]
    for label, config, checkpoint in models:
        model = init_model(config, checkpoint, device=args.device)
        kind = SpatialHashEncoder if isinstance(model, SwinFpnSpatialHash) else DeepHashEncoder
        found.append((label, kind(model, batch_size=args.batch_size, img_size=args.img_size)))
    return found


def tag_distances(codes: np.ndarray, i: np.ndarray, j: np.ndarray, spatial: SpatialCodes | None) -> np.ndarray:
    """Distances of the pairs ``(i, j)``: Hamming, or cell disagreement in percent for spatial codes."""
    if spatial is None:
        return pair_distances(codes, i, j)
    return spatial_distances(codes, spatial.grid, i, j, spatial.rule.radius, scales=spatial.rule.scales)


def perturb_flight(images: list[Path], out: Path, seed: int) -> dict[str, list[Path]]:
    """Write every perturbation of every shot as PNG (lossless, so only the perturbation acts)."""
    written: dict[str, list[Path]] = {}
    for k, (name, perturb) in enumerate(PERTURBATIONS.items()):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng([seed, k])
        paths = []
        for path in images:
            target = folder / (path.stem + ".png")
            image = perturb(load_image(path), rng)
            if not target.is_file():
                image.save(target)
            paths.append(target)
        written[name] = paths
    return written


def robustness(encoded: EncodeResult, perturbed: dict[str, EncodeResult], tags: dict[str, int],
               thresholds: dict[str, int], spatial: SpatialCodes | None) -> dict[str, dict[str, float]]:
    """Fraction of (original, perturbed) pairs within each tag's threshold, per perturbation."""
    table: dict[str, dict[str, float]] = {}
    for tag in tags:
        row = {}
        for name, result in perturbed.items():
            if len(result.ok_paths) != len(encoded.ok_paths):
                raise ValueError(f"{name}: {len(encoded.ok_paths) - len(result.ok_paths)} perturbed images unreadable")
            both = np.concatenate([encoded.codes[tag], result.codes[tag]])
            n = len(encoded.ok_paths)
            idx = np.arange(n, dtype=np.int64)
            d = tag_distances(both, idx, idx + n, spatial)
            row[name] = float(np.mean(d <= thresholds[tag]))
        table[tag] = row
    return table


def ranking(encoded: EncodeResult, tags: dict[str, int], gt_path: Path, root: Path,
            spatial: SpatialCodes | None) -> dict[str, dict]:
    """Per tag, over ALL pairs of the flight: ROC-AUC of -distance and the best pair F1 of any threshold.

    The best F1 is an oracle (the threshold is chosen with the ground truth): it bounds what
    a perfect threshold rule could get from these codes, separating code quality from Otsu.
    The flight is small, so every pair is enumerated (index arrays, no N x N matrix).
    """
    gt = load_ground_truth(gt_path)
    index = gt.index()
    rows = np.array([index[p.relative_to(root).as_posix()] for p in encoded.ok_paths])
    n = len(rows)
    i, j = np.triu_indices(n, 1)
    a, b = np.minimum(rows[i], rows[j]), np.maximum(rows[i], rows[j])
    truth = np.array([gt.overlaps.get((x, y), 0.0) >= gt.overlap_threshold
                      for x, y in zip(a.tolist(), b.tolist())])
    out = {}
    for tag, bits in tags.items():
        d = tag_distances(encoded.codes[tag], i.astype(np.int64), j.astype(np.int64), spatial)
        best = (0.0, -1)
        for t in range((MAX_DISTANCE if spatial else bits) + 1):
            pred = d <= t
            tp = int(np.sum(pred & truth))
            f1 = 2 * tp / (pred.sum() + truth.sum()) if tp else 0.0
            best = max(best, (f1, t))
        out[tag] = {"auc_all_pairs": roc_auc(-d.astype(np.float64), truth), "best_f1": best[0],
                    "best_f1_threshold": best[1]}
    return out


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown_tables(scores: dict[str, dict[str, dict]], robust: dict[str, dict[str, float]],
                    ranks: dict[str, dict]) -> str:
    """The README tables: pair metrics per pairing, code ranking quality, then robustness."""
    lines = []
    for pairing, by_tag in scores.items():
        if pairing in VERIFIED:
            continue
        by_tag = {tag: by_tag[tag] for tag in robust}
        lines += [f"### pairing `{pairing}` (Otsu threshold, spatial codes: their model's T; P/R/F1 over all "
                  "true pairs, overlap >= 0.5)", "",
                  "Both axes of a selection: images removed, against what the ideal "
                  "coverage-preserving choice removes from the ground-truth footprints "
                  "(`ideal cov.`), and surface kept.", "",
                  "| tag | T | precision | recall | F1 | AUC listed | removed | ideal cov. | "
                  "removed / ideal | coverage |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for tag, m in by_tag.items():
            lines.append(f"| {tag} | {m['hash_threshold']} | {_fmt(m['precision'])} | {_fmt(m['recall_all'])} | "
                         f"{_fmt(m['f1_all'])} | {_fmt(m['auc'])} | {m['n_removed']} | "
                         f"{m['ideal_coverage_removed']} | {_fmt(m['removed_vs_ideal'])} | "
                         f"{100 * m['coverage']:.2f}% |")
        lines.append("")
    lines += ["### verified selection (keypoint retrieval or window candidates, verified overlap, "
              "coverage-preserving keep)", "",
              "| run | precision | recall | F1 | removed | ideal cov. | removed / ideal | "
              "coverage |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in VERIFIED:
        m = scores[name]["phash64"]
        lines.append(f"| {name} | {_fmt(m['precision'])} | {_fmt(m['recall_all'])} | "
                     f"{_fmt(m['f1_all'])} | {m['n_removed']} | {m['ideal_coverage_removed']} | "
                     f"{_fmt(m['removed_vs_ideal'])} | {100 * m['coverage']:.2f}% |")
    lines.append("")
    lines += ["### code quality over all pairs (threshold-free AUC; best F1 of any threshold, an oracle)", "",
              "| tag | AUC | best F1 | at T |", "|---|---:|---:|---:|"]
    for tag, r in ranks.items():
        lines.append(f"| {tag} | {_fmt(r['auc_all_pairs'])} | {_fmt(r['best_f1'])} | {r['best_f1_threshold']} |")
    lines.append("")
    names = list(next(iter(robust.values())).keys()) if robust else []
    lines += ["### robustness (fraction of original/perturbed pairs flagged at the `all` threshold)", "",
              "| tag | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for tag, row in robust.items():
        lines.append(f"| {tag} | " + " | ".join(_fmt(row[n], 2) for n in names) + " |")
    return "\n".join(lines)


def plot(scores: dict[str, dict[str, dict]], robust: dict[str, dict[str, float]], path: Path) -> None:
    """F1 per tag for both pairings, and the robustness heat map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tags = list(robust)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 0.35 * len(tags) + 2.5),
                                   gridspec_kw=dict(width_ratios=[1, 1.4]))
    y = np.arange(len(tags))
    for k, (pairing, by_tag) in enumerate((p, b) for p, b in scores.items() if p in PAIRINGS):
        ax1.barh(y + 0.4 * k - 0.2, [by_tag[t]["f1_all"] or 0.0 for t in tags], height=0.4, label=pairing)
    ax1.set_yticks(y, tags)
    ax1.invert_yaxis()
    ax1.set_xlim(0, 1)
    ax1.axvline(0.9, color="grey", ls="--", lw=1)
    ax1.set_xlabel("pair F1 (all true pairs, Otsu threshold)")
    ax1.legend(loc="lower right")
    names = list(robust[tags[0]]) if tags else []
    grid = np.array([[robust[t][n] for n in names] for t in tags])
    im = ax2.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax2.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax2.set_yticks(y, tags)
    for (i, j), v in np.ndenumerate(grid):
        ax2.text(j, i, f"{v:.2f}", ha="center", va="center", color="w" if v < 0.6 else "k", fontsize=7)
    ax2.set_title("robustness: perturbed copy flagged as duplicate")
    fig.colorbar(im, ax=ax2, fraction=0.03)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the tables."""
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    flight = flight_folder(args.out, args.flight, args.photo, seed=args.seed)
    images_dir, gt = flight / "images", flight / "ground_truth.json"
    images = discover_images(images_dir)
    perturbed_paths = perturb_flight(images, args.out / "perturbed", args.seed)

    scores: dict[str, dict[str, dict]] = {name: {} for name in PAIRINGS}
    robust: dict[str, dict[str, float]] = {}
    ranks: dict[str, dict] = {}
    encode_s: dict[str, float] = {}
    for label, encoder in encoders(args):
        t0 = time.perf_counter()
        encoded = encoder.encode(images, workers=args.workers, progress=False)
        encode_s[label] = time.perf_counter() - t0
        perturbed = {name: encoder.encode(paths, workers=args.workers, progress=False)
                     for name, paths in perturbed_paths.items()}
        tags = dict(encoder.tags)
        if label != "classical":
            encoded, tags = _relabel(encoded, encoder.tags, label)
            perturbed = {n: _relabel(r, encoder.tags, label)[0] for n, r in perturbed.items()}
        spatial = getattr(encoder, "spatial", None)
        cached = PrecomputedEncoder(tags, encoder.identity, encoded, spatial=spatial)
        thresholds = {}
        for name, options in PAIRINGS.items():
            out = args.out / "runs" / name / label
            deduplicate_folder(images_dir, cached, out, progress=False, html_report=False, **options)
            scores[name].update(score_dedup(out, gt))
            if name == "all":
                thresholds = {t: json.loads((out / t / "summary.json").read_text())["threshold"] for t in tags}
        robust.update(robustness(encoded, perturbed, tags, thresholds, spatial))
        ranks.update(ranking(encoded, tags, gt, images_dir, spatial))

    for name, options in VERIFIED.items():
        out = args.out / "runs" / name.replace(" + ", "_")
        deduplicate_folder(images_dir, ClassicalEncoder(["phash"], 8), out, progress=False,
                           html_report=False, workers=args.workers, **options)
        scores[name] = score_dedup(out, gt)
    tables = markdown_tables(scores, robust, ranks)
    plot_path = args.plot or args.out / "quality.png"
    plot(scores, robust, plot_path)
    (args.out / "results.json").write_text(json.dumps(
        {"flight": str(flight), "scores": scores, "ranking": ranks, "robustness": robust,
         "encode_s": encode_s},
        indent=1) + "\n", encoding="utf-8")
    n_true = next(iter(scores["all"].values()))["n_true_pairs"]
    print(f"flight: {flight} ({len(images)} shots, {n_true} true pairs with overlap >= 0.5)")
    print(tables)
    print("\nencode seconds (flight only): " + ", ".join(f"{k} {v:.1f}" for k, v in encode_s.items()))
    print(f"plot: {plot_path}; results: {args.out / 'results.json'}; total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
