"""SwinFpnHashCLR_deduplication.py as a user runs it (subprocesses, the shipped models)."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from mmselfsup_ext.zoo import default_model_files
from mmselfsup_ext.evaluation import procedural_concrete, simulate_flight, simulate_survey

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "SwinFpnHashCLR_deduplication.py"
HASHCLR_CONFIG, HASHCLR_CHECKPOINT = default_model_files("hashclr")


# Ends only a hung subprocess, loudly (TimeoutExpired). Not a speed limit: on 2
# shared cores under load the slowest run here took a fraction of it.
_HANG_GUARD_S = 900


def _cli(*args: object) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=_HANG_GUARD_S, env=env, cwd=REPO)


def _one_line_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert fragment in lines[0]


@pytest.fixture(scope="module")
def flight(tmp_path_factory) -> Path:
    """Two strips of five shots over a procedural wall, about half of them re-shot while hovering."""
    out = tmp_path_factory.mktemp("deep") / "flight"
    simulate_flight(procedural_concrete(900, 600, seed=7), out, strips=2, shots_per_strip=5,
                    shot_size=(160, 128), reshot_rate=0.5, seed=3)
    return out


@pytest.fixture(scope="module")
def run(flight, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("deep_out") / "dedup"
    proc = _cli(HASHCLR_CONFIG, "--checkpoint", HASHCLR_CHECKPOINT, flight / "images",
                "--pairing", "window", "--window", "3", "--out", out, "--no-progress",
                "--no-report", "--device", "cpu", "--workers", "1")
    return proc, out


def test_finds_the_planted_reshots(run, flight):
    proc, out = run
    assert proc.returncode == 0, proc.stderr
    truth = json.loads((flight / "ground_truth.json").read_text())
    reshots = {(s["reshot_of"], s["file"]) for s in truth["shots"] if s["reshot_of"]}
    overlap = {(p["a"], p["b"]): p["overlap"] for p in truth["pairs"]}
    assert len(reshots) >= 2
    for bits in (32, 64, 96, 128):
        tag = f"hashclr{bits}"
        assert tag in proc.stdout
        with open(out / tag / "pairs.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        flagged = {(r["path_a"], r["path_b"]) for r in rows if r["duplicate"] in ("1", "true", "True")}
        assert reshots <= flagged, f"{tag} missed re-shots {sorted(reshots - flagged)}"
        # Not everything is a duplicate: every flagged pair overlaps on the surface.
        assert all(overlap.get(pair, 0.0) > 0.0 for pair in flagged), tag
        summary = json.loads((out / tag / "summary.json").read_text())
        assert summary["method"] == "hashclr" and summary["bits"] == bits


def test_shipped_global_model_by_name_gives_the_same_codes(run, flight, tmp_path):
    _, out = run
    proc = _cli(flight / "images", "--model", "hashclr", "--bits", "64", "--out", tmp_path / "d", "--no-progress",
                "--no-report", "--device", "cpu", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "d" / "hashclr64" / "codes.csv").read_text() == (out / "hashclr64" / "codes.csv").read_text()
    assert not (tmp_path / "d" / "hashclr32").exists()


def test_wrong_checkpoint_is_a_one_line_error(flight, tmp_path):
    bogus = tmp_path / "bogus.pth"
    bogus.write_bytes(b"this is not a checkpoint")
    _one_line_error(_cli(HASHCLR_CONFIG, "--checkpoint", bogus, flight / "images", "--out", tmp_path / "o"),
                    "not a readable PyTorch checkpoint")


def test_usage_errors_are_one_line(flight, tmp_path):
    _one_line_error(_cli(HASHCLR_CONFIG, flight / "images"), "needs its --checkpoint")
    _one_line_error(_cli("a", "b", "c"), "expected [CONFIG] IMAGE_DIR")
    _one_line_error(_cli(flight / "images", "--bits", "48"), "--bits")
    _one_line_error(_cli(flight / "images", "--model", "resnet"), "--model")
    _one_line_error(_cli(HASHCLR_CONFIG, "--checkpoint", HASHCLR_CHECKPOINT, flight / "images",
                         "--model", "hashclr"), "--model")
    # The default model has one code per cell: code lengths belong to the global model.
    _one_line_error(_cli(flight / "images", "--bits", "64", "--out", tmp_path / "o", "--device", "cpu"),
                    "--model hashclr")


def _flagged(tag_dir: Path) -> set[tuple[str, str]]:
    with open(tag_dir / "pairs.csv", newline="") as fh:
        return {(r["path_a"], r["path_b"]) for r in csv.DictReader(fh) if r["duplicate"] == "1"}


def test_default_spatial_model_finds_the_reshots_in_any_order(flight, tmp_path):
    proc = _cli(flight / "images", "--pairing", "all", "--out", tmp_path / "s", "--no-progress",
                "--device", "cpu", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    truth = json.loads((flight / "ground_truth.json").read_text())
    reshots = {(s["reshot_of"], s["file"]) for s in truth["shots"] if s["reshot_of"]}
    overlap = {(p["a"], p["b"]): p["overlap"] for p in truth["pairs"]}
    tag = tmp_path / "s" / "spatialhash64x8x8"
    flagged = _flagged(tag)
    assert reshots <= flagged, f"missed re-shots {sorted(reshots - flagged)}"
    assert all(overlap.get(pair, 0.0) > 0.0 for pair in flagged)
    summary = json.loads((tag / "summary.json").read_text())
    assert summary["method"] == "spatialhash" and summary["histogram_source"] == "cell_disagreement"
    assert (tmp_path / "s" / "report.html").is_file()


@pytest.fixture(scope="module")
def mixed_survey(tmp_path_factory) -> tuple[Path, set[str], set[tuple[str, str]]]:
    """A two-pass survey of one wall with scikit-image's 8 sample photos mixed in, names shuffled."""
    survey = tmp_path_factory.mktemp("mixed") / "survey"
    simulate_survey([procedural_concrete(700, 900, seed=11)], survey, distractors=8, shuffle_names=True, seed=2)
    truth = json.loads((survey / "ground_truth.json").read_text())
    duplicates = {tuple(sorted((p["a"], p["b"]))) for p in truth["pairs"] if p["overlap"] >= 0.5}
    assert len(truth["distractors"]) == 8 and len(duplicates) >= 100
    return survey, set(truth["distractors"]), duplicates


def _mixed_run(survey: Path, out: Path, *options: str) -> tuple[set[tuple[str, str]], set[str]]:
    proc = _cli(survey / "images", "--pairing", "all", "--out", out, "--no-progress", "--no-report",
                "--device", "cpu", "--workers", "1", *options)
    assert proc.returncode == 0, proc.stderr
    tag = out / "spatialhash64x8x8"
    return {tuple(sorted(pair)) for pair in _flagged(tag)}, set((tag / "remove.txt").read_text().split())


def test_spatial_candidates_with_verification_never_merge_unrelated_photos(mixed_survey, tmp_path, tree_digest):
    survey, distractors, duplicates = mixed_survey
    before = tree_digest(survey / "images")
    flagged, removed = _mixed_run(survey, tmp_path / "out", "--verify", "--candidates", "codes")
    assert not {name for pair in flagged for name in pair} & distractors
    assert not removed & distractors
    # The learned candidates hold the overlapping shots: 0.989 of the true pairs verified here.
    assert len(flagged & duplicates) >= 0.95 * len(duplicates), (len(flagged & duplicates), len(duplicates))
    assert tree_digest(survey / "images") == before


def test_codes_alone_never_merge_unrelated_photos(mixed_survey, tmp_path):
    survey, distractors, duplicates = mixed_survey
    flagged, removed = _mixed_run(survey, tmp_path / "out")
    # The shipped model finds 0.898 of the true pairs here (237 of the 248 pairs it flags).
    assert len(flagged & duplicates) >= 0.85 * len(duplicates), (len(flagged & duplicates), len(duplicates))
    assert not {name for pair in flagged for name in pair} & distractors


def test_spatial_config_without_a_rule_is_a_one_line_error(flight, tmp_path):
    config, checkpoint = default_model_files("spatialhash")
    settings = Config.fromfile(config).to_dict()
    assert settings.pop("spatial_vote_rule")
    bare = tmp_path / "spatial_without_rule.py"
    Config(settings).dump(str(bare))
    _one_line_error(_cli(bare, "--checkpoint", checkpoint, flight / "images", "--out", tmp_path / "o",
                         "--device", "cpu"), "has no spatial_vote_rule")
