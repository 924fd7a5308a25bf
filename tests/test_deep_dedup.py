"""SwinFpnHashCLR_deduplication.py as a user runs it (subprocesses, shipped default model)."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmselfsup_ext.apis.defaults import default_model_files
from mmselfsup_ext.evaluation import procedural_concrete, simulate_flight

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "SwinFpnHashCLR_deduplication.py"
DEFAULT_CONFIG, DEFAULT_CHECKPOINT = default_model_files()


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
    proc = _cli(DEFAULT_CONFIG, "--checkpoint", DEFAULT_CHECKPOINT, flight / "images",
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


def test_default_model_without_config_gives_the_same_codes(run, flight, tmp_path):
    _, out = run
    proc = _cli(flight / "images", "--bits", "64", "--out", tmp_path / "d", "--no-progress",
                "--no-report", "--device", "cpu", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "d" / "hashclr64" / "codes.csv").read_text() == (out / "hashclr64" / "codes.csv").read_text()
    assert not (tmp_path / "d" / "hashclr32").exists()


def test_wrong_checkpoint_is_a_one_line_error(flight, tmp_path):
    bogus = tmp_path / "bogus.pth"
    bogus.write_bytes(b"this is not a checkpoint")
    _one_line_error(_cli(DEFAULT_CONFIG, "--checkpoint", bogus, flight / "images", "--out", tmp_path / "o"),
                    "not a readable PyTorch checkpoint")


def test_usage_errors_are_one_line(flight):
    _one_line_error(_cli(DEFAULT_CONFIG, flight / "images"), "needs its --checkpoint")
    _one_line_error(_cli("a", "b", "c"), "expected [CONFIG] IMAGE_DIR")
    _one_line_error(_cli(flight / "images", "--bits", "48"), "--bits")
