"""A checkpoint's embedded config is read as data, never run (issue 24, case 1)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmselfsup_ext.engine.config import ConfigError, config_from_literal_text

ROOT = Path(__file__).resolve().parents[1]
ZOO = sorted((ROOT / "mmselfsup_ext" / "model_zoo").glob("*.pth"))


@pytest.mark.parametrize("checkpoint", ZOO, ids=lambda p: p.stem)
def test_shipped_embedded_configs_read_as_mmengine_reads_them(checkpoint):
    # Independent expectation: mmengine's own (executing) reader of the same text.
    text = torch.load(checkpoint, map_location="cpu", weights_only=True)["meta"]["cfg"]
    assert config_from_literal_text(text).to_dict() == Config.fromstring(text, ".py").to_dict()


@pytest.mark.parametrize("text", [
    "x = __import__('os').system('touch PWNED')\nmodel = dict(type='Nothing')\n",
    "import os\nmodel = dict(type='X')\n",
    "model = dict(type=str(1))\n",
    "model = dict(**other)\n",
    "model = {**other}\n",
    "model = dict(depth=2 + 2)\n",
    "model = dict(type=name)\n",
    "model = [x for x in range(3)]\n",
    "a, b = 1, 2\n",
    "model = dict(\n",
    "model = " + "[" * 5000 + "]" * 5000 + "\n",
    # Found by benchmarks/fuzz_readers.py: the parser ran out of memory (MemoryError).
    "model = " + "-" * 100_000 + "1\n",
])
def test_anything_but_plain_data_is_refused(text):
    with pytest.raises(ConfigError, match="not a plain-data config"):
        config_from_literal_text(text)


def test_plain_data_values_survive():
    cfg = config_from_literal_text(
        "a = dict(b=[1, -2.5, (True, None)], c={'k': 'v', 3: +4})\nd = 'text'\n")
    assert cfg.to_dict() == {"a": {"b": [1, -2.5, (True, None)], "c": {"k": "v", 3: 4}},
                             "d": "text"}


def test_evil_checkpoint_runs_nothing_and_fails_in_one_line(tmp_path):
    evil = tmp_path / "evil.pth"
    torch.save({"meta": {"cfg": "x = __import__('os').system('touch PWNED')\n"
                                "model = dict(type='Nothing')\n"},
                "state_dict": {"w": torch.zeros(1)}}, evil)
    folder = tmp_path / "images"
    folder.mkdir()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "SwinFpnHashCLR_deduplication.py"), "--checkpoint", str(evil),
         str(folder), "--pairing", "all", "--out", str(tmp_path / "out")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert not (tmp_path / "PWNED").exists()
    assert "Traceback" not in proc.stderr
    assert "not a plain-data config" in proc.stderr
