"""Surfaces: procedural concrete and photo regions (the right half is reserved)."""

import numpy as np
import pytest
from PIL import Image

from mmselfsup_ext.evaluation import load_photo, procedural_concrete, region_bounds, simulate_flight



@pytest.fixture
def photo(tmp_path):
    """A random 65x20 RGB PNG (odd width) and its pixels."""
    pixels = np.random.default_rng(0).integers(0, 256, (20, 65, 3), dtype=np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


def test_region_bounds():
    assert region_bounds(2592, "train") == (0, 1296)
    assert region_bounds(2592, "eval") == (1296, 2592)
    assert region_bounds(2592, "full") == (0, 2592)
    # Odd width: the middle column is not training material.
    assert region_bounds(65, "train") == (0, 32)
    assert region_bounds(65, "eval") == (32, 65)
    with pytest.raises(ValueError, match="region"):
        region_bounds(100, "left")


def test_photo_regions_are_exact_halves(photo):
    path, pixels = photo
    train, evals, full = (load_photo(path, r) for r in ("train", "eval", "full"))
    np.testing.assert_array_equal(train.pixels, pixels[:, :32])
    np.testing.assert_array_equal(evals.pixels, pixels[:, 32:])
    np.testing.assert_array_equal(full.pixels, pixels)
    assert train.info["x_offset"] == 0 and evals.info["x_offset"] == 32
    assert train.width == 32 and evals.width == 33


def test_training_flight_only_sees_left_half(tmp_path):
    # Left half mid-grey texture, right half pure white: any read of the right half
    # would put 255s into a shot of a dark-ish left half.
    rng = np.random.default_rng(1)
    pixels = np.full((240, 600, 3), 255, dtype=np.uint8)
    pixels[:, :300] = rng.integers(40, 120, (240, 300, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "p.png")
    surface = load_photo(tmp_path / "p.png", "train")
    result = simulate_flight(surface, tmp_path / "f", strips=2, shots_per_strip=3,
                             shot_size=(48, 40), seed=0)
    gt = result.ground_truth
    assert gt["surface"]["region"] == "train" and gt["surface"]["width"] == 300
    for shot in gt["shots"]:
        assert max(x for x, _ in shot["footprint"]) <= 300
        img = np.asarray(Image.open(result.images_dir / shot["file"]))
        # Gain/gamma/noise jitter can lift values, but never to the white of the right half.
        assert img.mean() < 160


def test_real_photo_train_region_is_left_half(real_photo):
    train = load_photo(real_photo, "train")
    assert (train.width, train.height) == (1296, 2048)
    with Image.open(real_photo) as img:
        left = np.asarray(img.convert("RGB"))[:, :1296]
    np.testing.assert_array_equal(train.pixels, left)


def test_unreadable_photo_is_a_value_error(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match="cannot read"):
        load_photo(bad)
    with pytest.raises(ValueError, match="cannot read"):
        load_photo(tmp_path / "missing.jpg")


def test_procedural_concrete_is_seeded_and_grey():
    a = procedural_concrete(320, 200, seed=3)
    b = procedural_concrete(320, 200, seed=3)
    c = procedural_concrete(320, 200, seed=4)
    assert a.pixels.shape == (200, 320, 3) and a.pixels.dtype == np.uint8
    np.testing.assert_array_equal(a.pixels, b.pixels)
    assert not np.array_equal(a.pixels, c.pixels)
    means = a.pixels.reshape(-1, 3).mean(axis=0)
    # Mid grey, nearly neutral, textured (not flat, not saturated).
    assert 80 < means.mean() < 180
    assert means.max() - means.min() < 15
    assert 8 < a.pixels[..., 1].std() < 60
    assert a.info == {"kind": "procedural", "seed": 3, "width": 320, "height": 200}


def test_procedural_concrete_has_dark_pores_and_fine_texture():
    wall = procedural_concrete(512, 512, seed=0).pixels[..., 1].astype(float)
    median = np.median(wall)
    # Pores/cracks: a small but non-zero share of clearly dark pixels.
    dark = np.mean(wall < median - 60)
    assert 0.0005 < dark < 0.1
    # Fine-scale texture: neighbouring pixels differ (not a smooth gradient).
    assert np.abs(np.diff(wall, axis=1)).mean() > 2.0


def test_procedural_concrete_rejects_tiny_sizes():
    with pytest.raises(ValueError, match="at least 64x64"):
        procedural_concrete(32, 200)
