"""tools/simulate_survey.py: what it writes, its help and its one-line errors."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "simulate_survey.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("simulate_survey_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_a_small_survey(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(TOOL), "--out", str(tmp_path), "--no-photo", "--walls", "2",
         "--wall-size", "300x220", "--wall-seed", "5", "--shot-size", "48x40",
         "--passes", "coarse:strips=2:shots_per_strip=2:reshot_rate=0,detail:reshot_rate=0",
         "--distractors", "1", "--shuffle-names", "--seed", "2"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 1
    assert "wrote 32 shots (0 re-shots) over 2 walls in 2 passes and 1 distractors" in proc.stdout
    gt = json.loads((tmp_path / "ground_truth.json").read_text())
    assert [w["surface"]["seed"] for w in gt["walls"]] == [5, 6]
    assert gt["survey"]["shuffle_names"] and gt["survey"]["shot_size"] == [48, 40]
    assert len(list((tmp_path / "images").glob("IMG_*.jpg"))) == 33


@pytest.mark.parametrize("args", [
    ["--walls", "0"],
    ["--passes", "coarse,nope"],
    ["--passes", "dense:strips=x"],
    ["--shot-size", "320"],
    ["--wall-size", "32x32"],
    ["--distractors", "-2"],
    ["--photo", "/definitely/not/here.jpg"],
    ["--photo", "a.jpg", "--no-photo"],
])
def test_cli_bad_arguments_give_one_line(tmp_path, capsys, args):
    with pytest.raises(SystemExit) as exc:
        load_tool().main(["--out", str(tmp_path), *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error:" in err


def test_cli_help_explains_the_options(capsys):
    with pytest.raises(SystemExit):
        load_tool().main(["--help"])
    out = capsys.readouterr().out
    for word in ("--walls", "--passes", "coarse", "dense", "footprint_scale", "--distractors",
                 "--shuffle-names", "IMG_", "--shot-size", "--photo", "evaluation"):
        assert word in out
