"""Surfaces that simulated flights photograph: a procedural concrete wall or a real photo.

The real inspection photo's right half is reserved for evaluation (CONTRACT): loading it
with ``region="train"`` crops to the left half *before* any pixel is returned, so nothing
built from a training surface can see the reserved pixels.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

REGIONS = ("train", "eval", "full")
#: Environment variable naming the real inspection photo, overriding the checkout's copy.
PHOTO_ENV = "CONCRETE_PHOTO"


def shared_data_dir() -> Path | None:
    """The project's shared data folder (``shared/data`` beside the checkout), if present."""
    # <checkout>/mmselfsup_ext/evaluation/surfaces.py -> <checkout>/../shared/data
    candidate = Path(__file__).resolve().parents[3] / "shared" / "data"
    return candidate if candidate.is_dir() else None


def shared_photo() -> Path | None:
    """The real concrete inspection photo, if this machine has it; else ``None``.

    ``$CONCRETE_PHOTO`` when set, otherwise ``concrete_h0_l2.jpg`` in
    :func:`shared_data_dir`. Benchmarks, tools and tests fall back to procedural walls
    when it is absent, so a fresh clone runs.
    """
    override = os.environ.get(PHOTO_ENV)
    if override:
        return Path(override) if Path(override).is_file() else None
    folder = shared_data_dir()
    candidate = folder / "concrete_h0_l2.jpg" if folder is not None else None
    return candidate if candidate is not None and candidate.is_file() else None


@dataclass(frozen=True)
class Surface:
    """An RGB surface in pixel coordinates plus a JSON-able description.

    Attributes
    ----------
    pixels : numpy.ndarray
        ``(H, W, 3)`` uint8 image.
    info : dict
        Provenance written to ``ground_truth.json`` (kind, path, region, offset, size...).
    """

    pixels: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> int:
        """Surface width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Surface height in pixels."""
        return int(self.pixels.shape[0])


def region_bounds(width: int, region: str) -> tuple[int, int]:
    """Column range ``[x0, x1)`` of a region of an image ``width`` pixels wide.

    ``"train"`` is ``x < width // 2``; ``"eval"`` is the rest. For an odd width the middle
    column goes to ``"eval"``, so training never touches a column that is partly in the
    reserved right half.

    Parameters
    ----------
    width : int
        Image width in pixels (>= 2).
    region : {"train", "eval", "full"}
        Which part of the image.

    Returns
    -------
    (int, int)
        Inclusive start and exclusive end column.

    Examples
    --------
    >>> region_bounds(2592, "train"), region_bounds(2592, "eval")
    ((0, 1296), (1296, 2592))
    """
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    if width < 2:
        raise ValueError(f"image must be at least 2 pixels wide, got {width}")
    half = width // 2
    return {"train": (0, half), "eval": (half, width), "full": (0, width)}[region]


def load_photo(path: str | Path, region: str = "full") -> Surface:
    """Load a photo as a surface, optionally restricted to its train or eval half.

    Parameters
    ----------
    path : str or pathlib.Path
        Any image PIL can read; converted to RGB.
    region : {"train", "eval", "full"}
        ``"train"``: columns ``x < width // 2``; ``"eval"``: the right half; ``"full"``.

    Returns
    -------
    Surface
        The (cropped) pixels; ``info["x_offset"]`` maps surface x back to photo x.

    Raises
    ------
    ValueError
        If the region is unknown or the file cannot be read as an image.
    """
    path = Path(path)
    try:
        with Image.open(path) as img:
            x0, x1 = region_bounds(img.width, region)
            # Crop before converting so the reserved half is never decoded into our array.
            rgb = img.crop((x0, 0, x1, img.height)).convert("RGB")
            photo_size = (img.width, img.height)
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read surface photo {path}: {exc}") from exc
    pixels = np.asarray(rgb, dtype=np.uint8).copy()
    info = {
        "kind": "photo",
        "path": str(path),
        "region": region,
        "x_offset": x0,
        "photo_width": photo_size[0],
        "photo_height": photo_size[1],
        "width": int(pixels.shape[1]),
        "height": int(pixels.shape[0]),
    }
    return Surface(pixels=pixels, info=info)


def _resize(field_: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of a float32 field to ``size = (width, height)`` (PIL, fast)."""
    img = Image.fromarray(np.ascontiguousarray(field_, dtype=np.float32))
    return np.array(img.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)


def fractal_noise(rng: np.random.Generator, height: int, width: int, coarsest: int,
                  finest: int = 1, persistence: float = 0.6) -> np.ndarray:
    """Multi-octave value noise, unit standard deviation.

    Built as a pyramid: start from a random grid of cell size ``coarsest``, repeatedly
    upsample by two and add a new random layer, so the cost is about that of one
    full-resolution resize.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    height, width : int
        Output size.
    coarsest, finest : int
        Largest and smallest feature size in pixels (powers of two are used between).
    persistence : float
        Amplitude ratio between successive (finer) octaves.

    Returns
    -------
    numpy.ndarray
        ``(height, width)`` float32 field with zero mean and unit standard deviation.
    """
    levels = max(0, int(np.floor(np.log2(max(coarsest, 1) / max(finest, 1)))))
    cell = finest * 2 ** levels
    grid = rng.standard_normal((height // cell + 3, width // cell + 3), dtype=np.float32)
    amp = 1.0
    for _ in range(levels):
        amp *= persistence
        grid = _resize(grid, (grid.shape[1] * 2, grid.shape[0] * 2))
        grid += amp * rng.standard_normal(grid.shape, dtype=np.float32)
    # The finest grid has cell size ``finest``: one last resize to pixels.
    out = _resize(grid, (grid.shape[1] * finest, grid.shape[0] * finest))[:height, :width]
    out -= float(out[::5, ::5].mean())
    return _unit_std(out)


def _add_ramp(tone: np.ndarray, field_: np.ndarray, lo: float, hi: float, amount: float) -> None:
    """``tone += amount * smoothstep(field_, lo, hi)`` in place, touching only ``field_ > lo``.

    The features drawn this way (specks, pores, stains) cover a small fraction of the
    surface, so working on that subset is several times faster than a dense smoothstep.
    """
    mask = field_ > lo
    t = np.clip((field_[mask] - lo) / (hi - lo), 0.0, 1.0)
    tone[mask] += amount * (t * t * (3.0 - 2.0 * t))


def _unit_std(field_: np.ndarray) -> np.ndarray:
    """Scale a zero-mean field to unit standard deviation (estimated on a subsample)."""
    field_ /= float(field_[::5, ::5].std()) + 1e-8
    return field_


def _blob_field(rng: np.random.Generator, height: int, width: int, size: int) -> np.ndarray:
    """White noise smoothed to blobs about ``size`` pixels across (unit std)."""
    small = rng.standard_normal((height // size + 2, width // size + 2), dtype=np.float32)
    out = _resize(small, (small.shape[1] * size, small.shape[0] * size))
    return _unit_std(out[:height, :width])


def _crack_mask(rng: np.random.Generator, height: int, width: int, count: int) -> np.ndarray:
    """Meandering, tapering, occasionally branching dark lines (float mask in [0, 1])."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    step = max(3.0, min(width, height) / 300.0)
    todo = [(rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0, 2 * np.pi),
             rng.uniform(0.15, 0.5) * min(width, height), float(rng.integers(2, 4)))
            for _ in range(count)]
    while todo:
        x, y, angle, length, thick = todo.pop()
        pts = [(x, y)]
        for k in range(int(length / step)):
            angle += rng.normal(0.0, 0.25)
            x += step * np.cos(angle)
            y += step * np.sin(angle)
            pts.append((x, y))
            if thick > 1.5 and rng.random() < 0.01:
                todo.append((x, y, angle + rng.choice([-1, 1]) * rng.uniform(0.5, 1.2),
                             length * rng.uniform(0.2, 0.4), thick - 1.0))
            if k % 40 == 39 and len(pts) > 1:
                # Taper: thinner segments towards the tip.
                draw.line(pts, fill=255, width=max(1, int(round(thick))))
                pts = [pts[-1]]
                thick = max(1.0, thick - 0.5)
        if len(pts) > 1:
            draw.line(pts, fill=255, width=max(1, int(round(thick))))
    return np.asarray(mask, dtype=np.float32) / 255.0


def _formwork(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Panel tone offsets and joint/tie-hole darkening of cast-in-place formwork."""
    n_cols = max(1, int(round(width / 1500)))
    n_rows = max(1, int(round(height / 750)))
    xs = np.linspace(0, width, n_cols + 1)
    ys = np.linspace(0, height, n_rows + 1)
    panel_tone = rng.normal(0.0, 0.02, (n_rows, n_cols)).astype(np.float32)
    col_idx = np.clip(np.searchsorted(xs, np.arange(width), side="right") - 1, 0, n_cols - 1)
    row_idx = np.clip(np.searchsorted(ys, np.arange(height), side="right") - 1, 0, n_rows - 1)
    tone = panel_tone[row_idx][:, col_idx]
    lines = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(lines)
    joint = max(1, int(round(min(width, height) / 1500)))
    for x in xs[1:-1]:
        wobble = x + rng.normal(0, 1.0, 8).cumsum()
        draw.line(list(zip(wobble, np.linspace(0, height, 8))), fill=160, width=joint)
    for y in ys[1:-1]:
        wobble = y + rng.normal(0, 1.0, 8).cumsum()
        draw.line(list(zip(np.linspace(0, width, 8), wobble)), fill=160, width=joint)
    radius = max(2.0, min(width, height) / 400.0)
    for r in range(n_rows):
        for c in range(n_cols):
            for fx in (0.25, 0.75):
                for fy in (0.25, 0.75):
                    cx = xs[c] + fx * (xs[c + 1] - xs[c])
                    cy = ys[r] + fy * (ys[r + 1] - ys[r])
                    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
    return tone, np.asarray(lines, dtype=np.float32) / 255.0


def procedural_concrete(width: int = 6000, height: int = 4000, seed: int = 0) -> Surface:
    """Generate a grey concrete wall: texture, aggregate, pores, stains, cracks, formwork.

    Layers (all vectorised; a 6000x4000 wall takes a few seconds on one core):
    multi-octave tone noise; fine sand grain; light and dark aggregate specks from
    thresholded blob fields; pores/air voids (dark round blobs, rare larger bug holes);
    blotchy and vertically streaked water stains; a few meandering branching cracks; and
    formwork panels (slight tone steps, joint lines, tie holes).

    Parameters
    ----------
    width, height : int
        Size in pixels (each >= 64).
    seed : int
        Seed; the same seed gives the same pixels.

    Returns
    -------
    Surface
        ``info`` records kind, seed and size.

    Examples
    --------
    >>> wall = procedural_concrete(256, 128, seed=1)
    >>> wall.pixels.shape, wall.pixels.dtype
    ((128, 256, 3), dtype('uint8'))
    """
    if width < 64 or height < 64:
        raise ValueError(f"procedural surface must be at least 64x64, got {width}x{height}")
    rng = np.random.default_rng(seed)
    big = max(width, height)
    # Broad cloudiness plus a stronger mid-frequency mottle, as in real cast surfaces.
    tone = 0.06 * fractal_noise(rng, height, width, coarsest=min(512, big // 2), finest=32)
    tone += 0.05 * fractal_noise(rng, height, width, coarsest=32, finest=2, persistence=0.8)
    tone += 0.50
    tone += 0.035 * rng.standard_normal((height, width), dtype=np.float32)

    sand = _blob_field(rng, height, width, 3)
    _add_ramp(tone, sand, 1.6, 2.4, 0.10)
    _add_ramp(tone, np.negative(sand, out=sand), 1.8, 2.6, -0.08)
    _add_ramp(tone, _blob_field(rng, height, width, 9), 2.3, 2.8, 0.09)
    # Pores / air voids, and rarer larger bug holes.
    _add_ramp(tone, _blob_field(rng, height, width, 5), 2.7, 3.3, -0.30)
    _add_ramp(tone, _blob_field(rng, height, width, 14), 3.0, 3.5, -0.35)

    blotches = fractal_noise(rng, height, width, coarsest=min(256, big // 4), finest=8)
    _add_ramp(tone, blotches, 1.0, 1.8, -0.16)
    # Run-down streaks: noise stretched vertically.
    streak = _resize(rng.standard_normal((6, width // 24 + 2), dtype=np.float32),
                     (width // 24 * 24 + 48, height))[:, :width]
    _add_ramp(tone, _unit_std(streak), 1.2, 2.4, -0.04)

    panel_tone, joints = _formwork(rng, height, width)
    tone += panel_tone
    tone -= 0.25 * joints

    n_cracks = max(1, int(round(width * height / 4e6)))
    tone -= 0.30 * _crack_mask(rng, height, width, n_cracks)

    np.clip(tone, 0.0, 1.0, out=tone)
    # Concrete is a slightly warm grey; a small fixed tint keeps the channels distinct.
    tint = np.array([1.02, 1.0, 0.95], dtype=np.float32)
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    for ch in range(3):
        pixels[..., ch] = np.clip(tone * (255.0 * tint[ch]) + 0.5, 0, 255).astype(np.uint8)
    info = {"kind": "procedural", "seed": int(seed), "width": int(width), "height": int(height)}
    return Surface(pixels=pixels, info=info)
