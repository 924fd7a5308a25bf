"""Photometric and geometric perturbations for the robustness protocol (docs/design.md §6).

Each function is pure: it returns a new image of the same size and mode and never
modifies its input. :data:`PERTURBATIONS` maps a protocol name to
``callable(image, rng) -> image`` at the protocol strength; ``rng`` (a
:class:`numpy.random.Generator`) picks the direction (brighter or darker, which corners
move) and the noise, so a seeded run is reproducible.

Geometric perturbations never show borders: rotation crops the largest centred
rectangle of the original aspect ratio that fits inside the rotated image and resizes it
back; scale crops the centre and resizes back (a zoom); perspective maps the output onto
a quadrilateral whose corners all move inwards. All three therefore also zoom slightly.

Protocol strengths: ``brightness`` and ``contrast`` factor 1.3 or 0.7; ``gamma`` 1.5 or
1/1.5; ``blur`` sigma 2 px; ``noise`` sigma 10 grey levels; ``jpeg50`` quality 50;
``rotate5`` +-5 degrees; ``scale0.9`` the centre 90 % of each side; ``perspective`` each
corner up to 5 % of a side inwards.
"""
from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

Perturbation = Callable[[Image.Image, np.random.Generator], Image.Image]


def _check_image(image: Image.Image) -> None:
    if not isinstance(image, Image.Image):
        raise ValueError(f"expected a PIL image, got {type(image).__name__}")
    if image.mode not in ("RGB", "L"):
        raise ValueError(f"expected an RGB or L image, got mode {image.mode!r}")


def adjust_brightness(image: Image.Image, factor: float) -> Image.Image:
    """Multiply intensities by ``factor`` (> 0), clipping at white.

    Examples
    --------
    >>> img = Image.new("L", (4, 4), 100)
    >>> adjust_brightness(img, 1.5).getpixel((0, 0))
    150
    """
    _check_image(image)
    if factor <= 0:
        raise ValueError(f"brightness factor must be > 0, got {factor}")
    return ImageEnhance.Brightness(image).enhance(factor)


def adjust_contrast(image: Image.Image, factor: float) -> Image.Image:
    """Scale deviations from the mean grey level by ``factor`` (> 0) (PIL semantics)."""
    _check_image(image)
    if factor <= 0:
        raise ValueError(f"contrast factor must be > 0, got {factor}")
    return ImageEnhance.Contrast(image).enhance(factor)


def adjust_gamma(image: Image.Image, gamma: float) -> Image.Image:
    """Apply ``out = 255 * (in / 255) ** gamma`` (``gamma > 0``) through a lookup table.

    Examples
    --------
    >>> adjust_gamma(Image.new("L", (2, 2), 64), 0.5).getpixel((0, 0))
    128
    """
    _check_image(image)
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    lut = [min(255, int(255.0 * (v / 255.0) ** gamma + 0.5)) for v in range(256)]
    return image.point(lut * len(image.getbands()))


def gaussian_blur(image: Image.Image, sigma: float) -> Image.Image:
    """Gaussian blur with standard deviation ``sigma`` pixels (>= 0)."""
    _check_image(image)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    return image.filter(ImageFilter.GaussianBlur(sigma))


def gaussian_noise(image: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    """Add i.i.d. Gaussian noise of standard deviation ``sigma`` grey levels, clipped."""
    _check_image(image)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    arr = np.asarray(image, dtype=np.float32)
    arr = arr + rng.standard_normal(arr.shape, dtype=np.float32) * sigma
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))


def jpeg_recompress(image: Image.Image, quality: int) -> Image.Image:
    """Encode as JPEG at ``quality`` (1-100) and decode again."""
    _check_image(image)
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in [1, 100], got {quality}")
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as decoded:
        return decoded.convert(image.mode)


def _largest_rotated_crop(width: int, height: int, angle: float) -> tuple[float, float]:
    """Largest ``(w, h)`` with ``w / h = width / height`` inside the rotated frame.

    The rotated ``width x height`` rectangle contains a centred axis-aligned rectangle
    ``s * (width, height)`` iff both of its half extents, rotated back, stay inside:
    ``s * (W cos + H sin) <= W`` and ``s * (W sin + H cos) <= H``.
    """
    c, s = abs(math.cos(angle)), abs(math.sin(angle))
    k = min(width / (width * c + height * s), height / (width * s + height * c))
    return width * k, height * k


def rotate(image: Image.Image, degrees: float) -> Image.Image:
    """Rotate by ``degrees`` (counter-clockwise), crop the border-free centre, resize back.

    Parameters
    ----------
    image : PIL.Image.Image
        RGB or L image.
    degrees : float
        Rotation angle, ``|degrees| < 45``.

    Returns
    -------
    PIL.Image.Image
        Same size and mode, no black corners (the crop zooms by about
        ``cos + (long/short side) * sin`` of the angle).
    """
    _check_image(image)
    if not abs(degrees) < 45:
        raise ValueError(f"rotation must be within (-45, 45) degrees, got {degrees}")
    rotated = image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False)
    cw, ch = _largest_rotated_crop(image.width, image.height, math.radians(degrees))
    left, top = (image.width - cw) / 2, (image.height - ch) / 2
    # A hair inside the analytic box so bicubic taps never reach the filled corners.
    box = tuple(float(v) for v in (left + 1, top + 1, left + cw - 1, top + ch - 1))
    return rotated.resize(image.size, Image.Resampling.BICUBIC, box=box)


def scale(image: Image.Image, factor: float) -> Image.Image:
    """Zoom in: crop the centre ``factor`` of each side (0 < factor <= 1), resize back."""
    _check_image(image)
    if not 0 < factor <= 1:
        raise ValueError(f"scale factor must be in (0, 1], got {factor}")
    cw, ch = image.width * factor, image.height * factor
    left, top = (image.width - cw) / 2, (image.height - ch) / 2
    return image.resize(image.size, Image.Resampling.BICUBIC,
                        box=(left, top, left + cw, top + ch))


def perspective(image: Image.Image, strength: float, rng: np.random.Generator) -> Image.Image:
    """Keystone-like warp: each source corner moves inwards by up to ``strength`` of a side.

    Parameters
    ----------
    image : PIL.Image.Image
        RGB or L image.
    strength : float
        Maximum inward corner displacement as a fraction of the side, in [0, 0.25].
    rng : numpy.random.Generator
        Draws the displacement of each corner in ``[0, strength]``.

    Returns
    -------
    PIL.Image.Image
        Same size and mode; the view of an inner quadrilateral, so no border appears.
    """
    _check_image(image)
    if not 0 <= strength <= 0.25:
        raise ValueError(f"perspective strength must be in [0, 0.25], got {strength}")
    w, h = image.size
    inward = rng.uniform(0.0, strength, size=(4, 2)) * np.array([w, h])
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    quad = corners + signs * inward
    rows, rhs = [], []
    for (u, v), (x, y) in zip(corners, quad):
        rows.append([u, v, 1, 0, 0, 0, -u * x, -v * x])
        rows.append([0, 0, 0, u, v, 1, -u * y, -v * y])
        rhs.extend([x, y])
    coeffs = np.linalg.solve(np.array(rows), np.array(rhs))
    return image.transform(image.size, Image.Transform.PERSPECTIVE, tuple(coeffs),
                           resample=Image.Resampling.BICUBIC)


def _signed(rng: np.random.Generator, magnitude: float) -> float:
    return magnitude if rng.random() < 0.5 else -magnitude


# Named module-level functions (not lambdas) so the table pickles for process pools.
def _brightness(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return adjust_brightness(image, 1.0 + _signed(rng, 0.3))


def _contrast(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return adjust_contrast(image, 1.0 + _signed(rng, 0.3))


def _gamma(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return adjust_gamma(image, 1.5 if rng.random() < 0.5 else 1.0 / 1.5)


def _blur(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return gaussian_blur(image, 2.0)


def _noise(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return gaussian_noise(image, 10.0, rng)


def _jpeg50(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return jpeg_recompress(image, 50)


def _rotate5(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return rotate(image, _signed(rng, 5.0))


def _scale09(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return scale(image, 0.9)


def _perspective(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return perspective(image, 0.05, rng)


#: Protocol perturbations at their reported strengths (module docstring; issue 4, item 5).
PERTURBATIONS: dict[str, Perturbation] = {
    "brightness": _brightness,
    "contrast": _contrast,
    "gamma": _gamma,
    "blur": _blur,
    "noise": _noise,
    "jpeg50": _jpeg50,
    "rotate5": _rotate5,
    "scale0.9": _scale09,
    "perspective": _perspective,
}
