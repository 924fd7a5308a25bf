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

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .camera import capture_jpeg, render_shot
from .geometry import pairwise_overlaps
from .surfaces import Surface

SHOT_PATTERN = re.compile(r"shot_h\d+_\d+\.jpg")
_SHOT_NAME = "shot_h{strip:02d}_{index:04d}.jpg"


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


@dataclass(frozen=True)
class FlightPlan:
    """One serpentine pass: grid, overlaps, stand-off, re-shots and jitter.

    Attributes
    ----------
    strips, shots_per_strip : int
        Grid size (>= 1 each).
    forward_overlap, side_overlap : float
        Nominal overlap between consecutive shots in a strip / adjacent strips, in [0, 1).
    footprint_scale : float
        Stand-off, in (0, 1]: 1 flies the largest footprint with which the grid plus the
        worst-case jitter fits the surface; smaller values fly closer to the wall (smaller
        footprints), and the grid is then centred, covering a central part of the surface.
    reshot_rate : float
        Probability in [0, 1] that a shot is followed by a hovering re-shot.
    jitter : ShotJitter
        Per-shot variation.
    """

    strips: int = 10
    shots_per_strip: int = 8
    forward_overlap: float = 0.7
    side_overlap: float = 0.4
    footprint_scale: float = 1.0
    reshot_rate: float = 0.05
    jitter: ShotJitter = field(default_factory=ShotJitter)

    def __post_init__(self) -> None:
        if self.strips < 1 or self.shots_per_strip < 1:
            raise ValueError("strips and shots_per_strip must be >= 1, "
                             f"got {self.strips}, {self.shots_per_strip}")
        for name in ("forward_overlap", "side_overlap"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if not 0.0 < self.footprint_scale <= 1.0:
            raise ValueError(f"footprint_scale must be in (0, 1], got {self.footprint_scale}")
        if not 0.0 <= self.reshot_rate <= 1.0:
            raise ValueError(f"reshot_rate must be in [0, 1], got {self.reshot_rate}")
        if not isinstance(self.jitter, ShotJitter):
            raise ValueError(f"jitter must be a ShotJitter, got {type(self.jitter).__name__}")

    @property
    def max_shots(self) -> int:
        """Upper bound on the shots of the pass (every shot re-shot if the rate is > 0)."""
        return self.strips * self.shots_per_strip * (2 if self.reshot_rate > 0 else 1)


@dataclass(frozen=True)
class PassGrid:
    """Where a :class:`FlightPlan` puts its shots on one surface.

    Attributes
    ----------
    width, height : float
        Nominal footprint size in surface pixels.
    x_start, y_start : float
        Nominal centre of the first shot of strip 0.
    """

    width: float
    height: float
    x_start: float
    y_start: float


@dataclass
class FlightResult:
    """What :func:`simulate_flight` or :func:`~.survey.simulate_survey` wrote.

    Attributes
    ----------
    images_dir : pathlib.Path
        Folder of the images (a flight's shots are in capture order by natural sort).
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


def prepare_images_dir(out_dir: Path, pattern: re.Pattern[str] = SHOT_PATTERN,
                       what: str = "flight shots") -> Path:
    """Create ``out_dir/images``; remove earlier outputs, refuse foreign files.

    Parameters
    ----------
    out_dir : pathlib.Path
        The simulation's output folder.
    pattern : re.Pattern
        Full-match pattern of the file names a simulation writes there.
    what : str
        Those files, in words, for the error message.

    Returns
    -------
    pathlib.Path
        The empty ``images`` folder.

    Raises
    ------
    ValueError
        If ``images`` is not a folder or holds a file ``pattern`` does not match.
    """
    images = out_dir / "images"
    if images.exists():
        if not images.is_dir():
            raise ValueError(f"{images} exists and is not a folder")
        foreign = [p.name for p in images.iterdir() if not pattern.fullmatch(p.name)]
        if foreign:
            raise ValueError(f"{images} holds files that are not {what} "
                             f"(e.g. {foreign[0]!r}); choose an empty or new --out folder")
        for p in images.iterdir():
            p.unlink()
    images.mkdir(parents=True, exist_ok=True)
    return images


def as_surface(surface: Surface | np.ndarray) -> Surface:
    """Wrap an array as a :class:`Surface` and check it is ``(H, W, 3)`` uint8.

    Parameters
    ----------
    surface : Surface or numpy.ndarray
        The surface to photograph.

    Returns
    -------
    Surface

    Raises
    ------
    ValueError
        If the pixels are not ``(H, W, 3)`` uint8.
    """
    if not isinstance(surface, Surface):
        surface = Surface(np.asarray(surface), {"kind": "array"})
    pixels = surface.pixels
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"surface must be (H, W, 3) uint8, got {pixels.shape} {pixels.dtype}")
    return surface


def check_shot_size(shot_size: tuple[int, int]) -> tuple[int, int]:
    """Output ``(width, height)`` as ints; ``ValueError`` below 16x16."""
    out_w, out_h = (int(v) for v in shot_size)
    if out_w < 16 or out_h < 16:
        raise ValueError(f"shot_size must be at least 16x16, got {shot_size}")
    return out_w, out_h


def pass_grid(surface: Surface, plan: FlightPlan, shot_size: tuple[int, int]) -> PassGrid:
    """Footprint size and grid origin that fit a pass plus its worst-case jitter.

    Parameters
    ----------
    surface : Surface
        The surface flown over.
    plan : FlightPlan
        The pass.
    shot_size : (int, int)
        Output width and height; their ratio is the footprint's aspect ratio.

    Returns
    -------
    PassGrid

    Raises
    ------
    ValueError
        If the footprint would be smaller than 8 surface pixels.
    """
    jit = plan.jitter
    aspect = shot_size[0] / shot_size[1]
    span_x = 1.0 + (plan.shots_per_strip - 1) * (1.0 - plan.forward_overlap)
    span_y = 1.0 + (plan.strips - 1) * (1.0 - plan.side_overlap)
    theta = math.radians(jit.rotation_deg)
    smax = 1.0 + jit.scale
    half = 0.5 + jit.perspective
    # Worst-case half extents (in units of w) of a jittered footprint of width w, height w/a.
    ext_x = smax * (half * math.cos(theta) + half / aspect * math.sin(theta))
    ext_y = smax * (half * math.sin(theta) + half / aspect * math.cos(theta))
    margin_x = ext_x - 0.5 + jit.position
    margin_y = ext_y - 0.5 / aspect + jit.position / aspect
    w = plan.footprint_scale * min(surface.width / (span_x + 2 * margin_x),
                                   surface.height / (span_y / aspect + 2 * margin_y))
    h = w / aspect
    if w < 8 or h < 8:
        raise ValueError(f"surface {surface.width}x{surface.height} is too small for "
                         f"{plan.strips} strips x {plan.shots_per_strip} shots "
                         f"(footprint {w:.1f}x{h:.1f})")
    x_start = (surface.width - w * span_x) / 2 + w / 2
    y_start = (surface.height - h * span_y) / 2 + h / 2
    return PassGrid(w, h, x_start, y_start)


def fly_pass(surface: Surface, plan: FlightPlan, grid: PassGrid, images: Path,
             name: Callable[[int, int], str], shot_size: tuple[int, int],
             rng: np.random.Generator) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    """Render one pass into ``images`` and describe its shots.

    Strips alternate left to right and right to left; each shot draws its pose jitter,
    then its capture jitter, then whether a hovering re-shot follows, all from ``rng``,
    so one generator gives one reproducible flight.

    Parameters
    ----------
    surface : Surface
        ``(H, W, 3)`` uint8 surface (see :func:`as_surface`).
    plan : FlightPlan
        The pass.
    grid : PassGrid
        ``pass_grid(surface, plan, shot_size)``.
    images : pathlib.Path
        Existing folder that receives the JPEG files.
    name : callable
        ``name(strip, index) -> file name`` of the shot with capture index ``index`` within
        the pass; names must be unique within ``images``.
    shot_size : (int, int)
        Output width and height (see :func:`check_shot_size`).
    rng : numpy.random.Generator
        Source of every random draw of the pass.

    Returns
    -------
    shots : list of dict
        Per shot in capture order: ``file``, ``strip``, ``index`` (within the pass),
        ``footprint`` (surface corners, rounded to 1e-4 px), ``reshot_of``, ``pose``,
        ``capture``.
    footprints : list of numpy.ndarray
        The same footprints as ``(4, 2)`` arrays.
    """
    jit = plan.jitter
    w, h = grid.width, grid.height
    shots: list[dict[str, Any]] = []
    footprints: list[np.ndarray] = []

    def take(strip: int, pose: _Pose, reshot_of: str | None) -> None:
        fp = _keep_inside(_footprint(pose, w, h), surface.width, surface.height)
        # Round first so the file, the overlaps and the rendering agree exactly.
        fp = np.round(fp, 4)
        file = name(strip, len(shots))
        data, capture = capture_jpeg(render_shot(surface.pixels, fp, shot_size), rng, jit)
        (images / file).write_bytes(data)
        shots.append({"file": file, "strip": strip, "index": len(shots),
                      "footprint": fp.tolist(), "reshot_of": reshot_of,
                      "pose": {"rotation_deg": round(math.degrees(pose.angle), 4),
                               "scale": round(pose.scale, 4)},
                      "capture": capture})
        footprints.append(fp)

    for strip in range(plan.strips):
        n = plan.shots_per_strip
        order = range(n) if strip % 2 == 0 else range(n - 1, -1, -1)
        for k in order:
            nominal = _Pose(cx=grid.x_start + k * w * (1.0 - plan.forward_overlap),
                            cy=grid.y_start + strip * h * (1.0 - plan.side_overlap),
                            angle=0.0, scale=1.0, corners=np.zeros((4, 2)))
            pose = _jitter_pose(rng, nominal, jit, w, h)
            take(strip, pose, None)
            if rng.random() < plan.reshot_rate:
                again = _jitter_pose(rng, pose, RESHOT_POSE, w, h)
                take(strip, again, shots[-1]["file"])
    return shots, footprints


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
    surface if jitter pushes them out. Several walls and passes, distractors and shuffled
    names: :func:`~.survey.simulate_survey`.

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
    surface = as_surface(surface)
    jit = jitter if jitter is not None else ShotJitter()
    plan = FlightPlan(strips=strips, shots_per_strip=shots_per_strip,
                      forward_overlap=forward_overlap, side_overlap=side_overlap,
                      reshot_rate=reshot_rate, jitter=jit)
    if not 0.0 < overlap_threshold <= 1.0:
        raise ValueError(f"overlap_threshold must be in (0, 1], got {overlap_threshold}")
    out_w, out_h = check_shot_size(shot_size)
    grid = pass_grid(surface, plan, (out_w, out_h))
    out_dir = Path(out_dir)
    images = prepare_images_dir(out_dir)
    shots, footprints = fly_pass(
        surface, plan, grid, images,
        lambda strip, index: _SHOT_NAME.format(strip=strip, index=index),
        (out_w, out_h), np.random.default_rng(seed))

    names = [s["file"] for s in shots]
    pairs = [{"a": names[i], "b": names[j], "overlap": round(ov, 6)}
             for i, j, ov in pairwise_overlaps(footprints)]
    ground_truth = {
        "surface": dict(surface.info, width=surface.width, height=surface.height),
        "overlap_threshold": overlap_threshold,
        "flight": {
            "strips": strips, "shots_per_strip": shots_per_strip,
            "forward_overlap": forward_overlap, "side_overlap": side_overlap,
            "shot_size": [out_w, out_h],
            "footprint_size": [round(grid.width, 4), round(grid.height, 4)],
            "reshot_rate": reshot_rate, "seed": seed, "jitter": asdict(jit),
            "n_shots": len(shots), "n_reshots": sum(s["reshot_of"] is not None for s in shots),
        },
        "shots": shots,
        "pairs": pairs,
    }
    gt_path = out_dir / "ground_truth.json"
    gt_path.write_text(json.dumps(ground_truth, indent=1) + "\n", encoding="utf-8")
    return FlightResult(images_dir=images, ground_truth_path=gt_path, ground_truth=ground_truth)
