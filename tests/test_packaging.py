"""A wheel built from the repository, installed outside it, runs both commands.

The wheel is built from a copy of the sources (the checkout is never written) and
installed into a fresh virtual environment that sees this environment's
dependencies through a ``.pth`` line but not its editable install, so the commands
can only work if the package, its console scripts and the default model's package
data are all in the wheel.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from mmselfsup_ext.evaluation import procedural_concrete, simulate_flight

REPO = Path(__file__).resolve().parents[1]


def _run(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """``bin/`` of a new virtual environment with the repository's wheel installed."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    shutil.copy2(REPO / "setup.py", source / "setup.py")
    shutil.copytree(REPO / "mmselfsup_ext", source / "mmselfsup_ext",
                    ignore=shutil.ignore_patterns("__pycache__"))
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                 "-q", "-w", work / "dist", source)
    assert built.returncode == 0, built.stderr
    wheel = next((work / "dist").glob("mmselfsup_ext-*.whl"))
    env = work / "venv"
    made = _run(sys.executable, "-m", "venv", env)
    assert made.returncode == 0, made.stderr
    site = next((env / "lib").glob("python3*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = _run(env / "bin" / "python", "-m", "pip", "install", "--no-deps", "-q", wheel)
    assert pip.returncode == 0, pip.stderr
    return env / "bin"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("survey")
    simulate_flight(procedural_concrete(900, 700, seed=1), out, strips=2, shots_per_strip=4,
                    shot_size=(160, 128), seed=0)
    return out / "images"


def test_installed_package_is_not_the_checkout(installed, tmp_path):
    where = _run(installed / "python", "-c",
                 "import mmselfsup_ext; print(mmselfsup_ext.__file__)", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert not Path(where.stdout.strip()).is_relative_to(REPO)


@pytest.mark.parametrize("command, extra, tag", [
    ("image-processing-deduplication", ["--methods", "phash"], "phash64"),
    ("swinfpn-hashclr-deduplication", ["--model", "hashclr", "--bits", "64"], "hashclr64"),
    ("swinfpn-hashclr-deduplication", [], "spatialhash64x8x8"),
])
def test_console_commands_run_from_any_folder(installed, folder, tmp_path, command, extra, tag):
    proc = _run(installed / command, folder, *extra, "--out", "result", "--no-progress",
                "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "result" / tag / "summary.json").is_file()
    kept = (tmp_path / "result" / tag / "keep.txt").read_text().split()
    removed = (tmp_path / "result" / tag / "remove.txt").read_text().split()
    assert sorted(kept + removed) == sorted(p.name for p in folder.iterdir())
