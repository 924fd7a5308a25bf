"""Simulated inspection flights with known footprints (docs/design.md §6).

A camera flies a serpentine path over a surface: horizontal strips, left to right on even
strips and right to left on odd ones, with set forward (along-strip) and side
(between-strip) overlap. Every shot gets small random pose jitter (position, rotation,
scale, perspective) and capture jitter (exposure gain and gamma, blur, sensor noise, JPEG
quality); optional hovering re-shots repeat the previous pose almost exactly. Each image
is rendered by inverse-warping the surface through the homography that maps the output
rectangle onto the shot's footprint, so the footprint is exact ground truth.
"""
from __future__ import annotations

import io
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from .geometry import pairwise_overlaps
from .surfaces import Surface

SHOT_PATTERN = re.compile(r"shot_h\d+_\d+\.jpg")
_SHOT_NAME = "shot_h{strip:02d}_{index:04d}.jpg"
_LINEAR_MAX = 4095


@dataclass(frozen=True)
class ShotJitter:
    """Ranges of per-shot random variation; every value is drawn uniformly.

    Attributes
    ----------
    position : float
        Max shift of the footprint centre, as a fraction of the footprint side.
    rotation_deg : float
        Max in-plane rotation in degrees (either sign).
    scale : float
        Max relative change of the footprint size (stand-off distance).
    perspective : float
        Max displacement of each footprint corner, as a fraction of the footprint side.
    gain : float
        Exposure gain drawn from ``[1 - gain, 1 + gain]``.
    gamma : float
        Tone gamma drawn from ``[1 - gamma, 1 + gamma]``.
    blur_sigma : float
        Max Gaussian blur standard deviation in output pixels (focus/motion).
    noise_sigma : float
        Max standard deviation of Gaussian sensor noise in 8-bit levels.
    jpeg_quality : (int, int)
        Inclusive range of the JPEG quality.
    """

    position: float = 0.03
    rotation_deg: float = 3.0
    scale: float = 0.03
    perspective: float = 0.02
    gain: float = 0.15
    gamma: float = 0.15
    blur_sigma: float = 1.0
    noise_sigma: float = 4.0
    jpeg_quality: tuple[int, int] = (75, 95)

    def __post_init__(self) -> None:
        bounded = {"position": 0.25, "scale": 0.5, "perspective": 0.1, "gain": 0.9,
                   "gamma": 0.9}
        for name, hi in bounded.items():
            value = getattr(self, name)
            if not 0.0 <= value <= hi:
                raise ValueError(f"jitter {name} must be in [0, {hi}], got {value}")
        for name in ("blur_sigma", "noise_sigma"):
            if getattr(self, name) < 0:
                raise ValueError(f"jitter {name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.rotation_deg <= 45.0:
            raise ValueError(f"jitter rotation_deg must be in [0, 45], got {self.rotation_deg}")
        lo, hi = self.jpeg_quality
        if not 1 <= lo <= hi <= 100:
            raise ValueError(f"jpeg_quality must satisfy 1 <= lo <= hi <= 100, got {(lo, hi)}")

    @classmethod
    def none(cls, jpeg_quality: int = 95) -> ShotJitter:
        """No variation at all (exact nominal grid, fixed JPEG quality)."""
        return cls(position=0.0, rotation_deg=0.0, scale=0.0, perspective=0.0, gain=0.0,
                   gamma=0.0, blur_sigma=0.0, noise_sigma=0.0,
                   jpeg_quality=(jpeg_quality, jpeg_quality))


#: Extra pose jitter of a hovering re-shot relative to the shot it repeats.
RESHOT_POSE = ShotJitter(position=0.01, rotation_deg=0.5, scale=0.01, perspective=0.005)


@dataclass
class FlightResult:
    """What :func:`simulate_flight` wrote.

    Attributes
    ----------
    images_dir : pathlib.Path
        Folder of the shots, in capture order by natural sort.
    ground_truth_path : pathlib.Path
        ``ground_truth.json`` beside ``images_dir``.
    ground_truth : dict
        The same content as the JSON file.
    """

    images_dir: Path
    ground_truth_path: Path
    ground_truth: dict[str, Any] = field(repr=False)


@dataclass
class _Pose:
    cx: float
    cy: float
    angle: float  # radians
    scale: float
    corners: np.ndarray  # (4, 2) offsets in units of the footprint side


def _footprint(pose: _Pose, w: float, h: float) -> np.ndarray:
    """Surface corners of a pose: top-left, top-right, bottom-right, bottom-left."""
    base = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) + pose.corners
    local = base * np.array([w, h]) * pose.scale
    c, s = math.cos(pose.angle), math.sin(pose.angle)
    rot = np.array([[c, -s], [s, c]])
    return local @ rot.T + np.array([pose.cx, pose.cy])


def _jitter_pose(rng: np.random.Generator, base: _Pose, jit: ShotJitter, w: float,
                 h: float) -> _Pose:
    """``base`` plus one draw of pose jitter (a fixed number of draws, for determinism)."""
    u = rng.uniform(-1.0, 1.0, size=12)
    return _Pose(
        cx=base.cx + u[0] * jit.position * w,
        cy=base.cy + u[1] * jit.position * h,
        angle=base.angle + math.radians(u[2] * jit.rotation_deg),
        scale=base.scale * (1.0 + u[3] * jit.scale),
        corners=base.corners + u[4:].reshape(4, 2) * jit.perspective,
    )


def _keep_inside(fp: np.ndarray, width: int, height: int) -> np.ndarray:
    """Translate a footprint minimally so it lies inside ``[0, width] x [0, height]``."""
    lo, hi = fp.min(axis=0), fp.max(axis=0)
    size = np.array([width, height], dtype=np.float64)
    if np.any(hi - lo > size):
        raise ValueError("a jittered footprint is larger than the surface; reduce the jitter")
    shift = np.maximum(0.0, -lo) - np.maximum(0.0, hi - size)
    return fp + shift


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


def _capture(img: Image.Image, rng: np.random.Generator, jit: ShotJitter) -> tuple[bytes, dict]:
    """Apply the camera chain (blur -> gain -> noise -> gamma -> JPEG) and encode."""
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


def _prepare_images_dir(out_dir: Path) -> Path:
    """Create ``out_dir/images``; remove earlier shots, refuse foreign files."""
    images = out_dir / "images"
    if images.exists():
        if not images.is_dir():
            raise ValueError(f"{images} exists and is not a folder")
        foreign = [p.name for p in images.iterdir() if not SHOT_PATTERN.fullmatch(p.name)]
        if foreign:
            raise ValueError(f"{images} holds files that are not flight shots "
                             f"(e.g. {foreign[0]!r}); choose an empty or new --out folder")
        for p in images.iterdir():
            p.unlink()
    images.mkdir(parents=True, exist_ok=True)
    return images


def _grid_geometry(surface: Surface, strips: int, shots_per_strip: int, forward: float,
                   side: float, aspect: float,
                   jit: ShotJitter) -> tuple[float, float, float, float]:
    """Footprint size and grid origin that fit the flight plus worst-case jitter."""
    span_x = 1.0 + (shots_per_strip - 1) * (1.0 - forward)
    span_y = 1.0 + (strips - 1) * (1.0 - side)
    theta = math.radians(jit.rotation_deg)
    smax = 1.0 + jit.scale
    half = 0.5 + jit.perspective
    # Worst-case half extents (in units of w) of a jittered footprint of width w, height w/a.
    ext_x = smax * (half * math.cos(theta) + half / aspect * math.sin(theta))
    ext_y = smax * (half * math.sin(theta) + half / aspect * math.cos(theta))
    margin_x = ext_x - 0.5 + jit.position
    margin_y = ext_y - 0.5 / aspect + jit.position / aspect
    w = min(surface.width / (span_x + 2 * margin_x),
            surface.height / (span_y / aspect + 2 * margin_y))
    h = w / aspect
    x_start = (surface.width - w * span_x) / 2 + w / 2
    y_start = (surface.height - h * span_y) / 2 + h / 2
    return w, h, x_start, y_start


def simulate_flight(
    surface: Surface | np.ndarray,
    out_dir: str | Path,
    *,
    strips: int = 10,
    shots_per_strip: int = 8,
    forward_overlap: float = 0.7,
    side_overlap: float = 0.4,
    shot_size: tuple[int, int] = (512, 410),
    reshot_rate: float = 0.05,
    jitter: ShotJitter | None = None,
    overlap_threshold: float = 0.5,
    seed: int = 0,
) -> FlightResult:
    """Fly a serpentine path over ``surface`` and write shots plus ``ground_truth.json``.

    The footprint is the largest rectangle with the shot's aspect ratio such that the
    whole grid, plus the worst-case jitter, fits the surface; step sizes follow from the
    overlaps (``step = side * (1 - overlap)``). Shots are translated back inside the
    surface if jitter pushes them out.

    Parameters
    ----------
    surface : Surface or numpy.ndarray
        The surface to photograph (``(H, W, 3)`` uint8 if an array).
    out_dir : str or pathlib.Path
        Receives ``images/shot_hSS_IIII.jpg`` (strip, capture index) and
        ``ground_truth.json``. Earlier shots in ``images/`` are replaced; any other file
        there is an error.
    strips, shots_per_strip : int
        Grid size (>= 1 each).
    forward_overlap, side_overlap : float
        Nominal overlap between consecutive shots in a strip / adjacent strips, in [0, 1).
    shot_size : (int, int)
        Output image width and height in pixels (>= 16 each).
    reshot_rate : float
        Probability in [0, 1] that a shot is followed by a hovering re-shot.
    jitter : ShotJitter, optional
        Per-shot variation; defaults to ``ShotJitter()``.
    overlap_threshold : float
        Recorded in the ground truth: pairs at or above it are duplicates.
    seed : int
        Seed; the same arguments give byte-identical output.

    Returns
    -------
    FlightResult
        Paths written and the ground-truth dictionary.

    Examples
    --------
    >>> from mmselfsup_ext.evaluation import procedural_concrete
    >>> import tempfile
    >>> wall = procedural_concrete(400, 300, seed=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = simulate_flight(wall, tmp, strips=2, shots_per_strip=3, shot_size=(64, 48))
    ...     len(result.ground_truth["shots"]) >= 6
    True
    """
    if not isinstance(surface, Surface):
        surface = Surface(np.asarray(surface), {"kind": "array"})
    pixels = surface.pixels
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"surface must be (H, W, 3) uint8, got {pixels.shape} {pixels.dtype}")
    if strips < 1 or shots_per_strip < 1:
        raise ValueError("strips and shots_per_strip must be >= 1, "
                         f"got {strips}, {shots_per_strip}")
    for name, value in (("forward_overlap", forward_overlap), ("side_overlap", side_overlap)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if not 0.0 <= reshot_rate <= 1.0:
        raise ValueError(f"reshot_rate must be in [0, 1], got {reshot_rate}")
    if not 0.0 < overlap_threshold <= 1.0:
        raise ValueError(f"overlap_threshold must be in (0, 1], got {overlap_threshold}")
    out_w, out_h = (int(v) for v in shot_size)
    if out_w < 16 or out_h < 16:
        raise ValueError(f"shot_size must be at least 16x16, got {shot_size}")
    jit = jitter if jitter is not None else ShotJitter()

    w, h, x_start, y_start = _grid_geometry(surface, strips, shots_per_strip, forward_overlap,
                                            side_overlap, out_w / out_h, jit)
    if w < 8 or h < 8:
        raise ValueError(f"surface {surface.width}x{surface.height} is too small for "
                         f"{strips} strips x {shots_per_strip} shots (footprint {w:.1f}x{h:.1f})")
    out_dir = Path(out_dir)
    images = _prepare_images_dir(out_dir)
    rng = np.random.default_rng(seed)
    shots: list[dict[str, Any]] = []
    footprints: list[np.ndarray] = []

    def take(strip: int, pose: _Pose, reshot_of: str | None) -> None:
        fp = _keep_inside(_footprint(pose, w, h), surface.width, surface.height)
        # Round first so the file, the overlaps and the rendering agree exactly.
        fp = np.round(fp, 4)
        name = _SHOT_NAME.format(strip=strip, index=len(shots))
        data, capture = _capture(render_shot(pixels, fp, (out_w, out_h)), rng, jit)
        (images / name).write_bytes(data)
        shots.append({"file": name, "strip": strip, "index": len(shots),
                      "footprint": fp.tolist(), "reshot_of": reshot_of,
                      "pose": {"rotation_deg": round(math.degrees(pose.angle), 4),
                               "scale": round(pose.scale, 4)},
                      "capture": capture})
        footprints.append(fp)

    for strip in range(strips):
        order = range(shots_per_strip) if strip % 2 == 0 else range(shots_per_strip - 1, -1, -1)
        for k in order:
            nominal = _Pose(cx=x_start + k * w * (1.0 - forward_overlap),
                            cy=y_start + strip * h * (1.0 - side_overlap),
                            angle=0.0, scale=1.0, corners=np.zeros((4, 2)))
            pose = _jitter_pose(rng, nominal, jit, w, h)
            take(strip, pose, None)
            if rng.random() < reshot_rate:
                again = _jitter_pose(rng, pose, RESHOT_POSE, w, h)
                take(strip, again, shots[-1]["file"])

    names = [s["file"] for s in shots]
    pairs = [{"a": names[i], "b": names[j], "overlap": round(ov, 6)}
             for i, j, ov in pairwise_overlaps(footprints)]
    ground_truth = {
        "surface": dict(surface.info, width=surface.width, height=surface.height),
        "overlap_threshold": overlap_threshold,
        "flight": {
            "strips": strips, "shots_per_strip": shots_per_strip,
            "forward_overlap": forward_overlap, "side_overlap": side_overlap,
            "shot_size": [out_w, out_h], "footprint_size": [round(w, 4), round(h, 4)],
            "reshot_rate": reshot_rate, "seed": seed, "jitter": asdict(jit),
            "n_shots": len(shots), "n_reshots": sum(s["reshot_of"] is not None for s in shots),
        },
        "shots": shots,
        "pairs": pairs,
    }
    gt_path = out_dir / "ground_truth.json"
    gt_path.write_text(json.dumps(ground_truth, indent=1) + "\n", encoding="utf-8")
    return FlightResult(images_dir=images, ground_truth_path=gt_path, ground_truth=ground_truth)
