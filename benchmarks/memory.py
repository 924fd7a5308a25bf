"""Where a deduplication run's memory goes, stage by stage, and what it costs per image.

Runs ``--methods phash --pairing all --verify`` (as ``benchmarks/retrieval.py`` and the
command line do, with the encodings cache in ``OUT/.cache``) on each ``--survey``
folder in a fresh process, while a thread samples the process's resident memory
(``VmRSS``) every 20 ms and files each sample under the stage running then. Prints,
per survey, the highest resident memory seen in each stage; with two or more
surveys, the growth per image of each stage's peak between the smallest and the
largest (the part that a larger survey pays again per image).

Example (the README's breakdown)::

    python benchmarks/memory.py --out work_dirs/memory \\
        --survey work_dirs/retrieval/survey_2000_shuffled work_dirs/retrieval/survey_10000_shuffled
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from _common import rss_mb

#: "start" runs until the first stage (imports, discovery); "other" is every moment
#: between two stages (the pipeline's own work: unions of proposals, summaries).
STAGES = ("start", "hash codes", "features", "retrieval", "verify", "select", "write",
          "save state", "other")


def profile(images: Path, out: Path, workers: int) -> dict:
    """One run in this process: ``{"n_images", "peak_mb": {stage: MB}}``."""
    from mmselfsup_ext.dedup import ClassicalEncoder, deduplicate_folder, pipeline, state
    from mmselfsup_ext.dedup.sources import keypoints

    current = ["start"]
    peaks = dict.fromkeys(STAGES, 0.0)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            stage = current[0]
            peaks[stage] = max(peaks[stage], rss_mb())
            time.sleep(0.02)

    def staged(name: str, function):
        def wrapper(*args, **kwargs):
            current[0] = name
            try:
                return function(*args, **kwargs)
            finally:
                peaks[name] = max(peaks[name], rss_mb())
                # The outputs are written right after the selection.
                current[0] = "write" if name == "select" else "other"
        return wrapper

    pipeline._prepare_verification = staged("features", pipeline._prepare_verification)
    keypoints.feature_candidates = staged("retrieval", keypoints.feature_candidates)
    pipeline.verify_search = staged("verify", pipeline.verify_search)
    pipeline.keep_images = staged("select", pipeline.keep_images)
    state.SurveyState.save = staged("save state", state.SurveyState.save)
    encoder = ClassicalEncoder(["phash"], 8)
    encoder.encode = staged("hash codes", encoder.encode)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    run = deduplicate_folder(images, encoder, out, pairing="all", verify=True,
                             workers=workers, cache_dir=out / ".cache", progress=False,
                             html_report=False)
    done.set()
    sampler.join()
    return {"n_images": run.n_images, "peak_mb": peaks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--survey", type=Path, nargs="+", required=True,
                        help="survey folders (each with images/) or image folders")
    parser.add_argument("--out", type=Path, required=True, help="working folder")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    results = []
    for survey in args.survey:
        images = survey / "images" if (survey / "images").is_dir() else survey
        out = args.out / survey.name
        proc = subprocess.run([sys.executable, __file__, "--_profile", str(images), str(out),
                               str(args.workers)], capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    names = [f"N={r['n_images']}" for r in results]
    print("| stage | " + " | ".join(f"peak MB {n}" for n in names)
          + (" | KB per image |" if len(results) > 1 else " |"))
    print("|---|" + "---:|" * (len(results) + (len(results) > 1)))
    small, large = results[0], results[-1]
    for stage in STAGES:
        cells = [f"{r['peak_mb'][stage]:.0f}" for r in results]
        if len(results) > 1:
            growth = ((large["peak_mb"][stage] - small["peak_mb"][stage]) * 1024
                      / (large["n_images"] - small["n_images"]))
            cells.append(f"{growth:.1f}")
        print(f"| {stage} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--_profile":
        print(json.dumps(profile(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))))
        sys.exit(0)
    sys.exit(main())
