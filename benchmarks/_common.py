"""What the benchmark scripts share: the evaluation surface, the flight maker, reused codes,
survey deduplication runs in fresh processes and their scores against ground truth.

Run the scripts from anywhere (``python benchmarks/<name>.py``): Python puts this folder
on ``sys.path``, so they ``import _common``.
"""
from __future__ import annotations

import argparse
import csv
import json
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmselfsup_ext.dedup import ClassicalEncoder, EncodeResult, deduplicate_folder
from mmselfsup_ext.dedup.verify import FeatureEncoder, FeatureStore, verify_pairs
from mmselfsup_ext.evaluation import (Surface, load_ground_truth, load_photo,
                                      procedural_concrete, score_dedup, shared_photo,
                                      simulate_flight)
from mmselfsup_ext.fileio import discover_images

#: The real photo where this machine has it (``--photo`` default of every benchmark).
DEFAULT_PHOTO = shared_photo()


def evaluation_surface(photo: Path | None) -> Surface:
    """The right (evaluation) half of ``photo``, or a procedural wall without a photo."""
    if photo is None:
        return procedural_concrete(2592, 2048, seed=7)
    return load_photo(photo, region="eval")


def flight_folder(out: Path, flight: Path | None, photo: Path | None, **flight_options: object
                  ) -> Path:
    """``flight`` if given, else ``out/flight``, simulated over the evaluation surface once.

    A folder already holding a ``ground_truth.json`` is reused, so a benchmark rerun
    with the same ``--out`` measures the same shots.
    """
    if flight is not None:
        return flight
    folder = out / "flight"
    if not (folder / "ground_truth.json").is_file():
        simulate_flight(evaluation_surface(photo), folder, **flight_options)
    return folder


@dataclass
class PrecomputedEncoder:
    """An encoder that returns codes computed once (the same files, several pipeline runs)."""

    tags: dict[str, int]
    identity: str
    result: EncodeResult
    #: Cell codes: their layout and rule (``mmselfsup_ext.dedup.spatial.SpatialCodes``).
    spatial: object = None

    def encode(self, paths: Sequence[Path], workers: int = 1, progress: bool = True
               ) -> EncodeResult:
        """The stored result, after checking it is for exactly these files."""
        known = self.result.ok_paths + [p for p, _ in self.result.unreadable]
        if sorted(map(Path, paths)) != sorted(known):
            raise ValueError("the precomputed codes are for other files")
        return self.result


def parse_model_spec(text: str) -> tuple[str, str | None, str]:
    """``--model LABEL=CHECKPOINT`` or ``LABEL=CONFIG,CHECKPOINT`` as ``(label, config, checkpoint)``.

    The label prefixes the output tags (``LABEL64``), so it must not end in a digit.
    """
    label, sep, files = text.partition("=")
    if not sep or not label or not files:
        raise argparse.ArgumentTypeError(
            f"expected LABEL=CHECKPOINT or LABEL=CONFIG,CHECKPOINT, got {text!r}")
    if not label.replace("-", "").replace("_", "").isalnum() or label[-1].isdigit():
        raise argparse.ArgumentTypeError(
            f"LABEL must be letters/digits/-/_ not ending in a digit, got {label!r}")
    config, comma, checkpoint = files.partition(",")
    return (label, config, checkpoint) if comma else (label, None, files)


def run_pipeline(images: Path, out: Path, candidates: str, workers: int) -> dict:
    """One ``--methods phash --pairing all --verify`` run in this process, with the encodings
    cache in ``out/.cache`` as the command line has it; time, peak memory."""
    start = time.perf_counter()
    deduplicate_folder(images, ClassicalEncoder(["phash"], 8), out, pairing="all",
                       verify=True, candidates=candidates, workers=workers,
                       cache_dir=out / ".cache", progress=False, html_report=False)
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
    proc = subprocess.run([sys.executable, __file__, str(images), str(out), candidates,
                           str(workers)], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    resources = json.loads(proc.stdout.strip().splitlines()[-1])
    record.write_text(json.dumps(resources))
    return resources


def candidate_pairs(out: Path, tag: str = "phash64") -> set[frozenset[str]]:
    """Every candidate pair a run verified (``<tag>/pairs.csv``), as pairs of file names."""
    with (out / tag / "pairs.csv").open(encoding="utf-8", newline="") as fh:
        return {frozenset((Path(r["path_a"]).name, Path(r["path_b"]).name))
                for r in csv.DictReader(fh)}


def score(survey: Path, out: Path, n_shots: int, resources: dict) -> dict:
    """Ground-truth scores, candidate recall and per-stage seconds per image."""
    gt = load_ground_truth(survey / "ground_truth.json")
    row = score_dedup(out, survey / "ground_truth.json")["phash64"]
    summary = json.loads((out / "phash64" / "summary.json").read_text())
    truth = {frozenset((gt.files[a], gt.files[b])) for (a, b), ov in gt.overlaps.items()
             if ov >= 0.5}
    candidates = candidate_pairs(out)
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


if __name__ == "__main__":  # the fresh process of :func:`measure`
    print(json.dumps(run_pipeline(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3],
                                  int(sys.argv[4]))))


def rss_mb() -> float:
    """This process's resident memory now (``VmRSS``), in MB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_model() -> str:
    """The CPU's model name (Linux), else the machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()
