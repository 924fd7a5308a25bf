"""Robustness perturbations: pure, size-preserving, border-free, at the stated strength."""
import math

import numpy as np
import pytest
from PIL import Image

from mmselfsup_ext.evaluation.perturbations import (PERTURBATIONS, adjust_brightness,
                                                    adjust_contrast, adjust_gamma, gaussian_blur,
                                                    gaussian_noise, jpeg_recompress, perspective,
                                                    rotate, scale)

EXPECTED = {"brightness", "contrast", "gamma", "blur", "noise", "jpeg50", "rotate5", "scale0.9",
            "perspective"}


@pytest.fixture(scope="module")
def texture():
    rng = np.random.default_rng(0)
    small = rng.integers(40, 220, (24, 32, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((128, 96), Image.Resampling.BICUBIC)


def test_protocol_names():
    assert set(PERTURBATIONS) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_perturbation_is_pure_sized_and_seeded(texture, name):
    before = texture.tobytes()
    fn = PERTURBATIONS[name]
    a = fn(texture, np.random.default_rng(7))
    b = fn(texture, np.random.default_rng(7))
    assert texture.tobytes() == before                     # input untouched
    assert a.size == texture.size and a.mode == texture.mode
    assert a.tobytes() == b.tobytes()                      # same rng -> same output
    assert a.tobytes() != before                           # it does something
    gray = fn(texture.convert("L"), np.random.default_rng(7))
    assert gray.mode == "L" and gray.size == texture.size


def test_brightness_contrast_gamma_values():
    img = Image.new("L", (4, 4), 100)
    assert adjust_brightness(img, 1.3).getpixel((0, 0)) == 130
    assert adjust_brightness(img, 0.7).getpixel((0, 0)) == 70
    two = Image.fromarray(np.array([[50, 150]], dtype=np.uint8))
    # PIL contrast pivots on the mean grey (100): deviations scale by the factor.
    assert np.asarray(adjust_contrast(two, 1.3)).ravel().tolist() == [35, 165]
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = np.asarray(adjust_gamma(Image.fromarray(levels), 1.5)).astype(float)
    np.testing.assert_allclose(out, np.round(255 * (levels / 255.0) ** 1.5), atol=0.5)


def test_noise_has_the_requested_sigma():
    img = Image.new("L", (200, 200), 128)
    out = np.asarray(gaussian_noise(img, 10.0, np.random.default_rng(0))).astype(float)
    assert out.std() == pytest.approx(10.0, rel=0.05)
    assert abs(out.mean() - 128) < 0.5


def test_blur_and_jpeg(texture):
    rough = np.asarray(texture).astype(float)
    smooth = np.asarray(gaussian_blur(texture, 2.0)).astype(float)
    assert np.abs(np.diff(smooth, axis=1)).mean() < 0.5 * np.abs(np.diff(rough, axis=1)).mean()
    recompressed = np.asarray(jpeg_recompress(texture, 50)).astype(float)
    psnr = 10 * math.log10(255 ** 2 / np.mean((recompressed - rough) ** 2))
    # Lossy but recognisable (colour noise at q50 with chroma subsampling: ~24 dB).
    assert 20 < psnr < 45


def test_geometric_perturbations_show_no_border():
    flat = Image.new("RGB", (120, 90), (200, 200, 200))
    for out in (rotate(flat, 5), rotate(flat, -5), scale(flat, 0.9),
                perspective(flat, 0.05, np.random.default_rng(0))):
        arr = np.asarray(out)
        assert arr.min() >= 195, "black/filled border pixels leaked into the output"


def test_rotation_turns_a_line_by_the_angle():
    img = np.zeros((120, 200), dtype=np.uint8)
    img[59:61, :] = 255
    out = np.asarray(rotate(Image.fromarray(img), 5.0)).astype(float)
    cols = np.arange(40, 160)
    rows = np.array([np.sum(np.arange(120) * out[:, c]) / out[:, c].sum() for c in cols])
    slope = np.polyfit(cols, rows, 1)[0]
    # Counter-clockwise on screen: the line rises (row decreases) to the right.
    assert slope == pytest.approx(-math.tan(math.radians(5)), abs=0.005)


def test_scale_zooms_about_the_centre():
    ramp = np.tile(np.linspace(0, 250, 200), (50, 1)).astype(np.uint8)
    out = np.asarray(scale(Image.fromarray(ramp), 0.9)).astype(float)
    slope = np.polyfit(np.arange(50, 150), out[25, 50:150], 1)[0]
    original = np.polyfit(np.arange(50, 150), ramp[25, 50:150].astype(float), 1)[0]
    assert slope == pytest.approx(original * 0.9, rel=0.02)
    assert out[25, 100] == pytest.approx(ramp[25, 100], abs=2)


def test_perspective_zero_strength_is_identity(texture):
    out = np.asarray(perspective(texture, 0.0, np.random.default_rng(0))).astype(float)
    assert np.abs(out - np.asarray(texture)).mean() < 1.0


@pytest.mark.parametrize("call", [
    lambda im: adjust_brightness(im, 0),
    lambda im: adjust_gamma(im, -1),
    lambda im: gaussian_blur(im, -1),
    lambda im: jpeg_recompress(im, 0),
    lambda im: rotate(im, 50),
    lambda im: scale(im, 1.2),
    lambda im: perspective(im, 0.5, np.random.default_rng(0)),
    lambda im: adjust_brightness(np.zeros((4, 4)), 1.0),
    lambda im: adjust_brightness(im.convert("RGBA"), 1.0),
])
def test_invalid_arguments(call, texture):
    with pytest.raises(ValueError):
        call(texture)
