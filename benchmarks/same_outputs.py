"""Digest of every output a matrix of deduplication runs writes, to show a change alters none.

A refactoring must leave what users get byte for byte as it was. This script runs both
commands as a user would (their ``main``, in this process) over the demo's flight and
survey and over one survey of every real photo in the shared data folder, with every
pairing, every candidate source, the spatial codes, keep policies and an incremental
rerun. It prints one sha256 per output file: ``codes.csv``, ``pairs.csv``, ``keep.txt``,
``remove.txt`` as written, ``summary.json`` and ``summary.csv`` without their timings
(wall-clock seconds differ run to run) and with the former names of keep modes and of
shipped model files mapped to their new ones. ``report.html`` and the encodings cache are left out: the report embeds
the timings and the cache's bytes depend on SQLite's pages.

Run it on two checkouts and compare (the revision under test first on ``PYTHONPATH``)::

    python benchmarks/same_outputs.py --work work_dirs/same --json before.json
    git stash; python benchmarks/same_outputs.py --work work_dirs/same --json after.json
    python benchmarks/same_outputs.py --compare before.json after.json

The surveys are simulated once per ``--work`` folder and reused; the runs are redone
every time (each into a fresh folder).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from mmselfsup_ext.commands import classical_dedup, deep_dedup
from mmselfsup_ext.evaluation import (photo_label, scaled_walls, shared_photos,
                                      simulate_survey)

ROOT = Path(__file__).resolve().parents[1]
#: Outputs compared as written.
VERBATIM = ("codes.csv", "pairs.csv", "keep.txt", "remove.txt")
#: Keep modes renamed on purpose (``dedup.keep_policies.LEGACY_KEEP_MODES``): a
#: ``summary.json`` of either name digests the same.
RENAMED_KEEP_MODES = {"coverage": "surface", "cover": "pairwise"}
#: Shipped model files renamed on purpose (``swin_small-cpu`` -> ``swin_nano``): the
#: ``encoder`` identity in ``summary.json`` names the config file.
RENAMED_MODEL_FILES = {"swin_small-cpu": "swin_nano"}


def _make_surveys(work: Path) -> dict[str, Path]:
    """The image folders: the demo's flight and survey, and one survey per real photo."""
    folders = {"flight": work / "flight", "survey": work / "survey"}
    if not (folders["flight"] / "ground_truth.json").is_file():
        subprocess.run([sys.executable, str(ROOT / "tools" / "simulate_flight.py"),
                        "--out", str(folders["flight"]), "--seed", "0"], check=True)
    if not (folders["survey"] / "ground_truth.json").is_file():
        subprocess.run([sys.executable, str(ROOT / "tools" / "simulate_survey.py"),
                        "--out", str(folders["survey"]), "--walls", "2", "--distractors", "4",
                        "--shuffle-names", "--seed", "0"], check=True)
    for photo in shared_photos():
        name = "real_" + photo_label(photo).replace("/", "_")
        folder = work / name
        if not (folder / "ground_truth.json").is_file():
            surfaces, shot = scaled_walls(photo, 2.0, max_walls=1)
            simulate_survey(surfaces, folder, passes=("coarse", "dense"), distractors=8,
                            shuffle_names=True, shot_size=shot, seed=0)
        folders[name] = folder
    return {key: folder / "images" for key, folder in folders.items()}


def _runs(surveys: dict[str, Path]) -> list[tuple[str, Callable[[list[str]], int], str, list[str]]]:
    """(name, command main, survey, flags) of every run, in order."""
    phash = ["--methods", "phash"]
    runs = [
        ("flight_classical_window", classical_dedup.main, "flight", ["--pairing", "window"]),
        ("flight_phash_adjacent", classical_dedup.main, "flight", phash + ["--pairing", "adjacent"]),
        ("flight_phash_all_pairs", classical_dedup.main, "flight",
         phash + ["--pairing", "all", "--otsu-on", "pairs", "--keep", "sharpest"]),
        ("flight_phash_window_verify", classical_dedup.main, "flight",
         phash + ["--pairing", "window", "--verify"]),
        ("flight_deep_window", deep_dedup.main, "flight", ["--pairing", "window"]),
        ("survey_phash_window_verify", classical_dedup.main, "survey",
         phash + ["--pairing", "window", "--verify"]),
        ("survey_phash_all_verify", classical_dedup.main, "survey",
         phash + ["--pairing", "all", "--verify"]),
        ("survey_phash_all_verify_codes", classical_dedup.main, "survey",
         phash + ["--pairing", "all", "--verify", "--candidates", "codes"]),
        ("survey_phash_all_verify_both_cover", classical_dedup.main, "survey",
         phash + ["--pairing", "all", "--verify", "--candidates", "both", "--keep-mode",
                  "cover", "--keep", "largest"]),
        ("survey_deep_all", deep_dedup.main, "survey", ["--pairing", "all"]),
        ("survey_deep_all_verify", deep_dedup.main, "survey", ["--pairing", "all", "--verify"]),
        ("survey_dhash_component", classical_dedup.main, "survey",
         ["--methods", "dhash", "--pairing", "window", "--keep-mode", "component"]),
    ]
    for name in sorted(key for key in surveys if key.startswith("real_")):
        runs.append((f"{name}_phash_all_verify", classical_dedup.main, name,
                     phash + ["--pairing", "all", "--verify"]))
        runs.append((f"{name}_phash_window_verify", classical_dedup.main, name,
                     phash + ["--pairing", "window", "--verify"]))
    return runs


def _without_timings(value: object) -> object:
    """A JSON value with every timing (``timings`` and keys ending in ``_s``) removed."""
    if isinstance(value, dict):
        value = {key: _without_timings(item) for key, item in value.items()
                 if key != "timings" and not key.endswith("_s")}
        if "keep_mode" in value:
            value["keep_mode"] = RENAMED_KEEP_MODES.get(value["keep_mode"], value["keep_mode"])
        if isinstance(value.get("encoder"), str):
            for old, new in RENAMED_MODEL_FILES.items():
                value["encoder"] = value["encoder"].replace(old, new)
        return value
    if isinstance(value, list):
        return [_without_timings(item) for item in value]
    return value


def _csv_without_timings(text: str) -> str:
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        return text
    keep = [key for key in rows[0] if not key.endswith("_s")]
    out = io.StringIO()
    writer = csv.DictWriter(out, keep, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def digest_outputs(out: Path) -> dict[str, str]:
    """sha256 of each compared output file under ``out``, keyed by its relative path."""
    digests = {}
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out).as_posix()
        if not path.is_file() or relative.startswith(".cache"):
            continue
        if path.name in VERBATIM:
            data = path.read_bytes()
        elif path.name == "summary.json":
            data = json.dumps(_without_timings(json.loads(path.read_text())),
                              sort_keys=True).encode()
        elif path.name == "summary.csv":
            data = _csv_without_timings(path.read_text()).encode()
        else:
            continue
        digests[relative] = hashlib.sha256(data).hexdigest()
    return digests


def run_matrix(work: Path) -> dict[str, dict[str, str]]:
    """Every run of :func:`_runs`, plus a rerun of one on its own output (the cache path)."""
    surveys = _make_surveys(work)
    results: dict[str, dict[str, str]] = {}
    runs_dir = work / "runs"
    shutil.rmtree(runs_dir, ignore_errors=True)
    for name, main, survey, flags in _runs(surveys):
        out = runs_dir / name
        argv = [str(surveys[survey]), "--out", str(out), "--no-progress", "--workers", "2",
                *flags]
        rc = main(argv)
        if rc != 0:
            raise SystemExit(f"{name}: exit status {rc}")
        results[name] = digest_outputs(out)
        if name == "survey_phash_all_verify":
            # The incremental path: the same folder again, every encoding and pair cached.
            rc = main(argv)
            results[name + "_rerun"] = digest_outputs(out)
        print(f"{name}: {len(results[name])} files", file=sys.stderr)
    return results


def compare(before: dict, after: dict) -> int:
    """Print every run and file that differs; 0 when none does."""
    differ = 0
    for run in sorted(set(before) | set(after)):
        a, b = before.get(run, {}), after.get(run, {})
        files = sorted(name for name in set(a) | set(b) if a.get(name) != b.get(name))
        differ += len(files)
        print(f"{run:48s} {len(b):3d} files  {'identical' if not files else 'DIFFER: ' + ' '.join(files)}")
    print(f"{differ} differing files in {len(set(before) | set(after))} runs")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, help="working folder (surveys and runs)")
    parser.add_argument("--json", type=Path, help="write the digests here")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"),
                        help="compare two digest files instead of running")
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        return compare(before, after)
    if args.work is None or args.json is None:
        parser.error("--work and --json are required unless --compare is given")
    results = run_matrix(args.work)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, sort_keys=True))
    print(f"{sum(map(len, results.values()))} files in {len(results)} runs -> {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
