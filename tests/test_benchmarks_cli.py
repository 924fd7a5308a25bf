"""Every benchmark script starts: its imports resolve and ``--help`` exits 0.

Benchmarks are not run by the suite (they take minutes to hours); this catches the
breakage a refactor leaves in them (a renamed import, a removed class) before a user
runs the README's command.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


def test_every_benchmark_is_listed():
    assert {"encode.py", "hamming.py", "quality.py", "retrieval.py", "verify.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_help_runs(script):
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), "--help"],
                          capture_output=True, text=True, cwd=BENCHMARKS.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout
