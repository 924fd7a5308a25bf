"""tools/simulate_flight.py: what it writes, its defaults and its one-line errors."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "simulate_flight.py"


# Ends only a hung subprocess, loudly (TimeoutExpired). Not a speed limit: on 2
# shared cores under load the slowest run here took a fraction of it.
_HANG_GUARD_S = 900


def load_tool():
    spec = importlib.util.spec_from_file_location("simulate_flight_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True,
                          text=True, timeout=_HANG_GUARD_S)


def test_small_procedural_flight(tmp_path):
    proc = run("--out", tmp_path, "--surface", "procedural", "--surface-size", 300, 240,
               "--strips", 2, "--shots-per-strip", 3, "--shot-size", 48, 40,
               "--reshot-rate", 0, "--seed", 1)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 1 and "wrote 6 shots" in proc.stdout
    gt = json.loads((tmp_path / "ground_truth.json").read_text())
    assert gt["surface"] == {"kind": "procedural", "seed": 1, "width": 300, "height": 240}
    assert len(list((tmp_path / "images").glob("shot_h*_*.jpg"))) == 6


def test_photo_train_region(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (200, 400, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "wall.png")
    proc = run("--out", tmp_path / "f", "--surface", tmp_path / "wall.png", "--region", "train",
               "--strips", 2, "--shots-per-strip", 2, "--shot-size", 32, 32)
    assert proc.returncode == 0, proc.stderr
    surface = json.loads((tmp_path / "f" / "ground_truth.json").read_text())["surface"]
    assert (surface["region"], surface["x_offset"], surface["width"]) == ("train", 0, 200)


def test_defaults_fly_the_eval_half_of_the_real_photo(tmp_path, real_photo):
    proc = run("--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    gt = json.loads((tmp_path / "ground_truth.json").read_text())
    assert gt["surface"]["region"] == "eval" and gt["surface"]["x_offset"] == 1296
    assert 60 <= len(gt["shots"]) <= 100
    assert gt["flight"]["n_reshots"] >= 1


@pytest.mark.parametrize("args", [
    ["--strips", "0"],
    ["--forward-overlap", "1.5"],
    ["--shot-size", "64"],
    ["--region", "left"],
    ["--surface", "/definitely/not/here.jpg"],
    ["--forward-overlap", "1.0"],
])
def test_bad_arguments_give_one_line(tmp_path, capsys, args):
    # In-process (fast); the subprocess test below checks the real exit path once.
    with pytest.raises(SystemExit) as exc:
        load_tool().main(["--out", str(tmp_path), *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error:" in err


def test_bad_arguments_in_a_subprocess_have_no_traceback(tmp_path):
    proc = run("--out", tmp_path, "--surface", tmp_path / "missing.jpg")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_out_is_an_error(capsys):
    with pytest.raises(SystemExit) as exc:
        load_tool().main([])
    assert exc.value.code == 2 and "--out" in capsys.readouterr().err


def test_evaluation_never_imports_torch():
    code = ("import sys, mmselfsup_ext.evaluation, mmselfsup_ext.evaluation.scoring, "
            "mmselfsup_ext.evaluation.perturbations; print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=_HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
