"""The shipped models' configs are generated from their checkpoints, and build their models."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import torch

from mmselfsup_ext.apis import init_model
from mmselfsup_ext.engine.config import config_from_literal_text, load_config
from mmselfsup_ext.zoo import ZOO_MODELS, default_model_files

ROOT = Path(__file__).resolve().parents[1]


def _publish_module():
    spec = importlib.util.spec_from_file_location("publish_model", ROOT / "tools" / "publish_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(ZOO_MODELS))
def test_publishing_a_shipped_checkpoint_again_writes_its_config(name, tmp_path):
    config, checkpoint = default_model_files(name)
    copy = tmp_path / checkpoint.name
    shutil.copyfile(checkpoint, copy)
    _, written, _ = _publish_module().publish(copy, tmp_path / "again")
    assert written.read_text() == config.read_text()


@pytest.mark.parametrize("name", sorted(ZOO_MODELS))
def test_shipped_config_builds_the_model_its_training_config_builds(name):
    config, checkpoint = default_model_files(name)
    embedded = config_from_literal_text(torch.load(checkpoint, map_location="cpu", weights_only=True)["meta"]["cfg"])
    shipped = load_config(config)
    assert set(shipped) <= {"model", "inference_img_size", "spatial_vote_rule"}
    for key in ("inference_img_size", "spatial_vote_rule"):
        assert shipped.get(key) == embedded.get(key)
    from_shipped = init_model(config, checkpoint, device="cpu")
    from_embedded = init_model(None, checkpoint, device="cpu")
    # Same modules (their repr lists every layer and its sizes) and the same weights.
    assert repr(from_shipped) == repr(from_embedded)
    assert from_shipped.weights_sha256 == from_embedded.weights_sha256
