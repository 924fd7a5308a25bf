"""The simulated camera: a shot rendered from its exact footprint, then the capture chain.

:func:`render_shot` inverse-warps the surface through the homography that maps the output
rectangle onto the footprint (so the footprint is exact ground truth);
:func:`capture_jpeg` applies blur, exposure gain, sensor noise and gamma in a linear
12-bit space and encodes a JPEG.
"""
from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageFilter

if TYPE_CHECKING:  # the flight module defines the jitter and imports this one
    from .flight import ShotJitter

__all__ = ["capture_jpeg", "render_shot"]

# Linear sensor range: gain and noise act before gamma, as in a raw pipeline.
_LINEAR_MAX = 4095


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """8 coefficients of the projective map ``src -> dst`` (PIL PERSPECTIVE order)."""
    rows, rhs = [], []
    for (u, v), (x, y) in zip(src, dst):
        rows.append([u, v, 1, 0, 0, 0, -u * x, -v * x])
        rows.append([0, 0, 0, u, v, 1, -u * y, -v * y])
        rhs.extend([x, y])
    return np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))


def render_shot(surface: np.ndarray, footprint: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """Render the view of a footprint as an image of ``size = (width, height)``.

    The output rectangle's corners map to the footprint's corners (top-left, top-right,
    bottom-right, bottom-left); pixels are sampled bilinearly through the homography,
    after an anti-aliasing downscale of the source when the footprint is larger than the
    output.

    Parameters
    ----------
    surface : numpy.ndarray
        ``(H, W, 3)`` uint8 surface.
    footprint : numpy.ndarray
        ``(4, 2)`` surface corners, inside the surface.
    size : (int, int)
        Output width and height.

    Returns
    -------
    PIL.Image.Image
        RGB image.
    """
    out_w, out_h = size
    height, width = surface.shape[:2]
    x0 = max(0, int(math.floor(footprint[:, 0].min())) - 2)
    y0 = max(0, int(math.floor(footprint[:, 1].min())) - 2)
    x1 = min(width, int(math.ceil(footprint[:, 0].max())) + 2)
    y1 = min(height, int(math.ceil(footprint[:, 1].max())) + 2)
    crop = Image.fromarray(surface[y0:y1, x0:x1])
    local = footprint - np.array([x0, y0], dtype=np.float64)
    # Edge lengths of the footprint vs the output: > 1 means the view is downscaled.
    ratio = min(np.linalg.norm(local[1] - local[0]) / out_w,
                np.linalg.norm(local[3] - local[0]) / out_h)
    resample = Image.Resampling.BICUBIC
    if ratio > 1.0:
        new_size = (max(1, round(crop.width / ratio)), max(1, round(crop.height / ratio)))
        local = local * np.array([new_size[0] / crop.width, new_size[1] / crop.height])
        crop = crop.resize(new_size, Image.Resampling.LANCZOS)
        resample = Image.Resampling.BILINEAR
    src = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float64)
    coeffs = _homography(src, local)
    return crop.transform((out_w, out_h), Image.Transform.PERSPECTIVE, tuple(coeffs),
                          resample=resample)


def capture_jpeg(img: Image.Image, rng: np.random.Generator,
                 jit: ShotJitter) -> tuple[bytes, dict[str, float]]:
    """Apply the camera chain (blur -> gain -> noise -> gamma -> JPEG) and encode.

    Parameters
    ----------
    img : PIL.Image.Image
        RGB view of the scene.
    rng : numpy.random.Generator
        Source of the capture jitter (five draws, plus the noise field if any).
    jit : ShotJitter
        Ranges of gain, gamma, blur, noise and JPEG quality.

    Returns
    -------
    data : bytes
        The JPEG file.
    params : dict
        The drawn ``gain``, ``gamma``, ``blur_sigma``, ``noise_sigma``, ``jpeg_quality``.
    """
    u = rng.uniform(-1.0, 1.0, size=2)
    params = {
        "gain": 1.0 + u[0] * jit.gain,
        "gamma": 1.0 + u[1] * jit.gamma,
        "blur_sigma": float(rng.uniform(0.0, jit.blur_sigma)),
        "noise_sigma": float(rng.uniform(0.0, jit.noise_sigma)),
        "jpeg_quality": int(rng.integers(jit.jpeg_quality[0], jit.jpeg_quality[1] + 1)),
    }
    if params["blur_sigma"] > 0.05:
        img = img.filter(ImageFilter.GaussianBlur(params["blur_sigma"]))
    # Linear sensor values on a 12-bit scale; the gamma tone curve is then a lookup table
    # (much faster than a per-pixel power on multi-megapixel shots, and without the
    # banding an 8-bit intermediate would add).
    arr = np.asarray(img, dtype=np.float32) * (params["gain"] * _LINEAR_MAX / 255.0)
    if params["noise_sigma"] > 0:
        noise = rng.standard_normal(arr.shape, dtype=np.float32)
        arr += noise * (params["noise_sigma"] * _LINEAR_MAX / 255.0)
    np.clip(arr, 0.0, _LINEAR_MAX, out=arr)
    arr += 0.5
    levels = np.arange(_LINEAR_MAX + 1, dtype=np.float64) / _LINEAR_MAX
    lut = (255.0 * levels ** params["gamma"] + 0.5).astype(np.uint8)
    out = Image.fromarray(lut[arr.astype(np.uint16)])
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=params["jpeg_quality"])
    return buf.getvalue(), {k: round(float(v), 4) for k, v in params.items()}
