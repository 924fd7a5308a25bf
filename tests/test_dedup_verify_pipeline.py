"""``--verify``: hash candidates judged by geometric overlap, on a small simulated flight."""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mmselfsup_ext.dedup import deduplicate_folder
from mmselfsup_ext.dedup.verify import features as feature_module
from mmselfsup_ext.dedup.encoders import ClassicalEncoder
from mmselfsup_ext.dedup import find_duplicates
from mmselfsup_ext.dedup.sources import verification_candidates
from mmselfsup_ext.dedup.report import write_report
from mmselfsup_ext.dedup.writers import PAIRS_COLUMNS, VERIFY_COLUMNS
from mmselfsup_ext.evaluation import procedural_concrete, simulate_flight
from mmselfsup_ext.evaluation.scoring import score_dedup

SCRIPT = Path(__file__).resolve().parents[1] / "image_processing_deduplication.py"


# Ends only a hung subprocess, loudly (TimeoutExpired). Not a speed limit: on 2
# shared cores under load the slowest run here took a fraction of it.
_HANG_GUARD_S = 900


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    """Three strips of eight 256x205 shots at 70 % forward overlap (chained duplicates)."""
    out = tmp_path_factory.mktemp("verify") / "flight"
    return simulate_flight(procedural_concrete(900, 600, seed=7), out, strips=3,
                           shots_per_strip=8, shot_size=(256, 205), seed=1)


@pytest.fixture(scope="module")
def verified(flight, tmp_path_factory):
    """The pairwise keep rule (``cover``): coverage selection has tests of its own."""
    out = tmp_path_factory.mktemp("verify") / "out"
    run = deduplicate_folder(flight.images_dir, ClassicalEncoder(["phash"], 8), out,
                             pairing="window", window=3, verify=True, keep_mode="pairwise",
                             progress=False, html_report=False)
    return run, out


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def test_verified_window_run_matches_ground_truth(verified, flight):
    _, out = verified
    score = score_dedup(out, flight.ground_truth_path)["phash64"]
    assert score["n_true_pairs"] > 10
    assert score["f1"] >= 0.95
    assert score["coverage"] >= score["ideal_coverage"]
    # The hash stage alone, on the same candidates, is far from that (why verify exists).
    hash_out = out.parent / "hash_only"
    deduplicate_folder(flight.images_dir, ClassicalEncoder(["phash"], 8), hash_out,
                       pairing="window", window=3, progress=False, html_report=False)
    assert score_dedup(hash_out, flight.ground_truth_path)["phash64"]["f1"] < score["f1"]


def test_pairs_csv_gains_verification_columns(verified):
    run, out = verified
    header, rows = _rows(out / "phash64" / "pairs.csv")
    assert header == list(PAIRS_COLUMNS + VERIFY_COLUMNS)
    # Window pairing verifies every candidate: N * 3 - 6 pairs for 24 images.
    assert len(rows) == 24 * 3 - 6
    for row in rows:
        if row["verify_status"] == "unverifiable":
            assert row["overlap"] == "" and row["duplicate"] == "0"
        else:
            overlap = float(row["overlap"])
            assert len(row["overlap"].split(".")[1]) == 4
            assert row["duplicate"] == ("1" if overlap >= 0.5 else "0")
        assert int(row["inliers"]) >= 0


def test_summary_records_the_verification(verified):
    run, out = verified
    summary = json.loads((out / "phash64" / "summary.json").read_text())
    _, rows = _rows(out / "phash64" / "pairs.csv")
    assert summary["verified"] is True
    assert summary["n_verified"] == len(rows)
    assert summary["min_overlap"] == 0.5
    assert summary["n_unverifiable"] == sum(r["verify_status"] == "unverifiable" for r in rows)
    assert summary["verify_s"] >= 0 and summary["keep_mode"] == "pairwise"
    assert summary["n_duplicate_pairs"] == sum(r["duplicate"] == "1" for r in rows)


def test_every_removed_image_is_covered_by_a_kept_one(verified):
    _, out = verified
    keep = set((out / "phash64" / "keep.txt").read_text().split())
    remove = (out / "phash64" / "remove.txt").read_text().split()
    assert remove
    _, rows = _rows(out / "phash64" / "pairs.csv")
    for name in remove:
        partners = {r["path_b"] if r["path_a"] == name else r["path_a"] for r in rows
                    if r["duplicate"] == "1" and name in (r["path_a"], r["path_b"])}
        assert partners & keep, f"{name} removed without a kept duplicate"


def test_hash_only_output_keeps_the_contract_columns(flight, tmp_path):
    deduplicate_folder(flight.images_dir, ClassicalEncoder(["phash"], 8), tmp_path,
                       progress=False, html_report=False)
    header, _ = _rows(tmp_path / "phash64" / "pairs.csv")
    summary = json.loads((tmp_path / "phash64" / "summary.json").read_text())
    assert header == list(PAIRS_COLUMNS)
    assert summary["verified"] is False and "n_verified" not in summary
    assert summary["keep_mode"] == "pairwise"


def test_features_are_computed_once_per_image_across_tags(flight, tmp_path, monkeypatch):
    calls: Counter = Counter()
    original = feature_module.load_image

    def counting(path, min_size=None):
        calls[Path(path).name] += 1
        return original(path, min_size=min_size)

    monkeypatch.setattr(feature_module, "load_image", counting)
    run = deduplicate_folder(flight.images_dir, ClassicalEncoder(["phash", "dhash"], 8),
                             tmp_path, verify=True, workers=1, progress=False,
                             html_report=False)
    assert set(run.outcomes) == {"phash64", "dhash64"}
    assert calls and max(calls.values()) == 1
    assert len(calls) == 24


def test_all_pairing_candidates_include_radius_and_nearest_codes():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, size=(30, 2), dtype=np.uint8)
    names = [str(k) for k in range(30)]
    search = find_duplicates(codes, names, pairing="all", threshold=3, report_radius=0)
    margin, k = 2, 3
    i, j = verification_candidates(search, codes, margin, k)
    pairs = set(zip(i.tolist(), j.tolist()))
    assert len(pairs) == i.size and all(a < b for a, b in pairs)
    bits = np.unpackbits(codes, axis=1)
    dist = (bits[:, None, :] != bits[None, :, :]).sum(axis=2)
    np.fill_diagonal(dist, 10**6)
    # Every pair within T + margin.
    want = {(a, b) for a in range(30) for b in range(a + 1, 30) if dist[a, b] <= 3 + margin}
    assert want <= pairs
    # Each image's k nearest: all strictly closer than its k-th distance, and k in all.
    for x in range(30):
        kth = np.sort(dist[x])[k - 1]
        partners = {b if a == x else a for a, b in pairs if x in (a, b)}
        assert {y for y in range(30) if dist[x, y] < kth} <= partners
        assert sum(dist[x, y] <= kth for y in partners) >= k


def test_verify_rejects_component_mode(flight, tmp_path):
    with pytest.raises(ValueError, match="keep_mode=.pairwise."):
        deduplicate_folder(flight.images_dir, ClassicalEncoder(["phash"], 8), tmp_path,
                           verify=True, keep_mode="component", progress=False)


def _cli(*args: object) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=_HANG_GUARD_S, env=env)


def test_cli_verify_runs_and_prints_the_table(flight, tmp_path):
    proc = _cli(flight.images_dir, "--verify", "--methods", "phash", "--out", tmp_path / "o",
                "--no-progress", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[0].split()
    assert header[0] == "tag" and "verified" in header
    assert any(line.startswith("phash64") for line in proc.stdout.splitlines())
    summary = json.loads((tmp_path / "o" / "phash64" / "summary.json").read_text())
    assert summary["verified"] is True and summary["keep_mode"] == "surface"


@pytest.mark.parametrize("args, fragment", [
    (["--verify", "--keep-mode", "component"], "--keep-mode surface"),
    (["--min-overlap", "0.7"], "only with --verify"),
    (["--verify", "--min-overlap", "1.5"], "(0, 1]"),
    (["--verify", "--verify-knn", "2"], "--pairing all"),
])
def test_cli_usage_errors_are_one_line(flight, tmp_path, args, fragment):
    proc = _cli(flight.images_dir, "--methods", "phash", "--out", tmp_path / "o", *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert not (tmp_path / "o").exists()


def test_report_marks_every_kept_image_of_a_group(verified):
    run, out = verified
    html = write_report(run, out / "report.html").read_text(encoding="utf-8")
    keep = set((out / "phash64" / "keep.txt").read_text().split())
    labels = re.findall(r"<figcaption>(<b>kept</b> |removed )([^<]+)</figcaption>", html)
    assert labels
    for label, name in labels:
        assert (name in keep) == label.startswith("<b>kept"), name
    # Cover mode keeps several images of a chained group; each is marked kept.
    n_groups = html.count('<div class="group">')
    assert sum(label.startswith("<b>kept") for label, _ in labels) > n_groups
    assert "verified overlap" in html
