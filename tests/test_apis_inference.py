"""mmselfsup_ext.apis: init_model, encode_images and DeepHashEncoder on the CPU.

Expectations are independent of the code under test: codes are recomputed from the
model's projection with numpy (sign, the authors' interleaved layout written out by
hand, np.packbits), unreadable reasons are compared with the classical encoder's.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmselfsup_ext.apis import (CheckpointError, ConfigError, DeepHashEncoder, code_tags,
                                default_model_files, encode_images, init_model, resolve_device,
                                weights_digest)
from mmselfsup_ext.dedup import ClassicalEncoder

REPO = Path(__file__).resolve().parents[1]
MIM_CONFIG = REPO / "configs/selfsup/simmim/simmim_swin_nano_fpn_1xb8-coslr-1e_concrete.py"
SIMCLR_CONFIG = REPO / "configs/selfsup/simclr/simclr_swin_nano_fpn_1xb8_coslr_1e_concrete.py"


@pytest.fixture(scope="module")
def model():
    """The shipped global model (the default model is the spatial one: tests/test_apis_spatial.py)."""
    return init_model(*default_model_files("hashclr"), device="cpu")


@pytest.fixture(scope="module")
def images(tmp_path_factory, distinct_crops) -> list[Path]:
    folder = tmp_path_factory.mktemp("apis")
    paths = []
    for n in range(5):
        path = folder / f"img{n}.jpg"
        # 64 px crops upscaled to a shot-like 160 x 128 so resizing does real work.
        distinct_crops[n].resize((160, 128), Image.Resampling.BICUBIC).save(path, quality=92)
        paths.append(path)
    return paths


def _expected_bits(model, path: Path, size: int) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Bits from the projection, with the layout written out by hand (docs/design.md §4).

    Returns the bits and, per length, which of them are decided (|z| > 1e-4): float
    round-off between this computation and the batched one may flip a bit at z ~ 0.
    """
    from torchvision.transforms.v2 import functional as F

    from mmselfsup_ext.fileio.loading import load_image

    img = F.resize(F.pil_to_tensor(load_image(path, min_size=size)), [size, size], antialias=True)
    # The default model standardises each image by its own mean and std (eps 1 on 0-255).
    arr = img.numpy().astype(np.float64)
    arr = (arr - arr.mean()) / (arr.std(ddof=1) + 1.0)
    with torch.no_grad():
        z = model.project(torch.from_numpy(arr).float()[None])[0].numpy().reshape(32, 10)
    slices = {32: slice(0, 1), 64: slice(1, 3), 96: slice(3, 6), 128: slice(6, 10)}
    bits = {b: (z[:, s] > 0).reshape(-1) for b, s in slices.items()}
    decided = {b: (np.abs(z[:, s]) > 1e-4).reshape(-1) for b, s in slices.items()}
    return bits, decided


def test_shipped_global_model_loads_on_cpu_and_codes_match_the_projection(model, images):
    config, checkpoint = default_model_files("hashclr")
    assert checkpoint.stat().st_size <= 20 * 2**20
    assert next(model.parameters()).device.type == "cpu" and not model.training
    result = encode_images(model, images, batch_size=2, progress=False)
    assert list(result.codes) == ["hashclr32", "hashclr64", "hashclr96", "hashclr128"]
    assert result.ok_paths == images and result.unreadable == []
    size = model.cfg.inference_img_size
    for row, path in enumerate(images):
        expected, decided = _expected_bits(model, path, size)
        for bits, want in expected.items():
            got = np.unpackbits(result.codes[f"hashclr{bits}"][row])
            assert decided[bits].mean() > 0.95
            np.testing.assert_array_equal(got[decided[bits]], want[decided[bits]])


def test_same_image_gives_the_same_code(model, images):
    twice = [images[0], images[1], images[0]]
    first = encode_images(model, twice, batch_size=3, progress=False)
    again = encode_images(model, twice, batch_size=3, progress=False)
    for tag, codes in first.codes.items():
        np.testing.assert_array_equal(codes[0], codes[2])
        np.testing.assert_array_equal(codes, again.codes[tag])


def test_codes_do_not_depend_on_the_batch_size(model, images):
    one = encode_images(model, images, batch_size=1, progress=False)
    four = encode_images(model, images, batch_size=4, progress=False)
    for tag in one.codes:
        np.testing.assert_array_equal(one.codes[tag], four.codes[tag])


def test_unreadable_files_are_reported_like_the_classical_path(model, images, tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(images[0].read_bytes()[:200])
    paths = [images[0], empty, text, images[1], truncated, tmp_path / "missing.jpg"]
    deep = encode_images(model, paths, batch_size=4, progress=False)
    classical = ClassicalEncoder(["phash"]).encode(paths, workers=1, progress=False)
    assert deep.ok_paths == classical.ok_paths == [images[0], images[1]]
    assert deep.unreadable == classical.unreadable
    assert deep.codes["hashclr64"].shape == (2, 8)


def test_encoder_protocol_tags_and_identity(model, images):
    enc = DeepHashEncoder(model, bits=[64, 128], batch_size=2)
    assert enc.tags == {"hashclr64": 64, "hashclr128": 128}
    assert weights_digest(model)[:16] in enc.identity
    result = enc.encode(images[:3], workers=1, progress=False)
    assert set(result.codes) == {"hashclr64", "hashclr128"}
    assert result.codes["hashclr128"].shape == (3, 16)
    assert DeepHashEncoder(model, img_size=256).identity != enc.identity
    with pytest.raises(ValueError, match="not produced"):
        DeepHashEncoder(model, bits=[48])
    with pytest.raises(ValueError, match="multiple of 32"):
        DeepHashEncoder(model, img_size=100)


def test_weights_digest_tracks_the_values(model):
    copy = init_model(*default_model_files("hashclr"), device="cpu")
    assert weights_digest(copy) == weights_digest(model)
    with torch.no_grad():
        next(copy.parameters()).view(-1)[0] += 1e-3
    assert weights_digest(copy) != weights_digest(model)


def test_simclr_config_gives_simclr_tags():
    with pytest.warns(RuntimeWarning, match="random weights"):
        simclr = init_model(SIMCLR_CONFIG, device="cpu")
    assert code_tags(simclr) == {"simclr32": 32, "simclr64": 64, "simclr96": 96, "simclr128": 128}


def test_wrong_or_corrupt_checkpoint_is_a_one_line_error(tmp_path):
    config, checkpoint = default_model_files("hashclr")
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(checkpoint.read_bytes()[:1000])
    with pytest.raises(CheckpointError) as info:
        init_model(config, corrupt, device="cpu")
    assert "\n" not in str(info.value)
    # A state dict with one tensor removed is the checkpoint of another model.
    state = torch.load(checkpoint, weights_only=True)
    state["state_dict"].pop(next(iter(state["state_dict"])))
    partial = tmp_path / "partial.pth"
    torch.save(state, partial)
    with pytest.raises(CheckpointError, match="missing") as info:
        init_model(config, partial, device="cpu")
    assert "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="does not exist"):
        init_model(config, tmp_path / "nope.pth", device="cpu")


def test_a_config_without_codes_is_rejected():
    with pytest.raises(ConfigError, match="SwinFpnMIM"):
        init_model(MIM_CONFIG, device="cpu")


def test_devices(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:0")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu")
