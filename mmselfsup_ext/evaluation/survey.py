"""Simulated inspection surveys: the hard cases of duplicate detection (docs/design.md §6).

A survey flies several distinct walls, each in one or more passes (a coarse pass and a
dense re-flight, say), mixes in unrelated photos, and can give every file a shuffled,
meaningless name, as after merged memory cards and renames. Each pass is rendered by
:func:`~.flight.fly_pass`, so shots, jitter and footprints are those of
:func:`~.flight.simulate_flight`.

Capture order is pass-major: pass 0 over every wall, then pass 1 over every wall, as a
re-flight on a later day; so the two views of one spot are far apart in capture order.

``ground_truth.json`` extends the flight schema (readers of a flight read a survey):

- ``shots``: in capture order, each with the flight keys (``file``, ``strip``, ``index``
  within its pass, ``footprint``, ``reshot_of``, ``pose``, ``capture``) plus ``wall`` (id,
  an index into ``walls``), ``pass`` (index into ``passes``) and ``capture_index``.
  Footprints are in the coordinates of their wall.
- ``pairs``: every pair of shots *of one wall* with a positive overlap (intersection /
  smaller footprint), ``a`` before ``b`` in ``shots``; walls share no surface.
- ``walls``: per wall its ``surface`` description and, per pass, its footprint size.
- ``passes``: the :class:`~.flight.FlightPlan` of each pass.
- ``distractors``: file names of the unrelated photos (no footprint, in no pair), and
  ``distractor_sources`` beside them.
"""
from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from .camera import capture_jpeg, render_shot
from .flight import (FlightPlan, FlightResult, ShotJitter, as_surface, check_shot_size, fly_pass,
                     pass_grid, prepare_images_dir)
from .geometry import pairwise_overlaps
from .surfaces import Surface, load_photo, procedural_concrete

#: Named passes for a 1296 x 2048 wall (the real photo's evaluation half): ``coarse``
#: covers it with large footprints, ``dense`` re-flies it closer (footprints ~0.8x) with
#: more overlap, ``detail`` flies a close-up grid over its centre.
PASS_PRESETS: dict[str, FlightPlan] = {
    "coarse": FlightPlan(strips=6, shots_per_strip=4, forward_overlap=0.6, side_overlap=0.3,
                         reshot_rate=0.03),
    "dense": FlightPlan(strips=10, shots_per_strip=6, forward_overlap=0.7, side_overlap=0.5,
                        reshot_rate=0.1),
    "detail": FlightPlan(strips=3, shots_per_strip=4, forward_overlap=0.7, side_overlap=0.4,
                         footprint_scale=0.6, reshot_rate=0.1),
}

#: scikit-image's bundled sample photos used as distractors, textures (the harder ones)
#: first. Further distractors are concrete-like photos of walls outside the survey.
DISTRACTOR_SAMPLES = ("brick", "gravel", "grass", "camera", "coffee", "rocket", "astronaut",
                      "chelsea")
#: Other photos bundled with scikit-image, disjoint from :data:`DISTRACTOR_SAMPLES`: unrelated
#: photos for calibration surveys, so thresholds are never fixed on the evaluation's.
CALIBRATION_SAMPLES = ("coins", "moon", "hubble_deep_field", "immunohistochemistry", "retina",
                       "page", "text", "cell")

SURVEY_PATTERN = re.compile(r"(p\d+_w\d+_h\d+_\d+|photo_\d+|IMG_\d+)\.jpg")
_SHOT_NAME = "p{pass_}_w{wall:02d}_h{strip:02d}_{capture:05d}.jpg"
_DISTRACTOR_NAME = "photo_{k:03d}.jpg"
# Look-alike distractors are rendered from a patch this much larger than the shot, so they
# are downscaled like real shots (the presets' footprints are 1.1-1.7x the shot size).
_LOOKALIKE_ZOOM = 1.5


def pass_from_spec(spec: str) -> FlightPlan:
    """Parse ``PRESET[:field=value...]`` into a :class:`~.flight.FlightPlan`.

    Parameters
    ----------
    spec : str
        A name of :data:`PASS_PRESETS`, optionally followed by ``:field=value`` overrides
        of the numeric fields ``strips``, ``shots_per_strip``, ``forward_overlap``,
        ``side_overlap``, ``footprint_scale``, ``reshot_rate``.

    Returns
    -------
    FlightPlan

    Raises
    ------
    ValueError
        For an unknown preset or field, a malformed value, or an invalid plan.

    Examples
    --------
    >>> pass_from_spec("dense:strips=12:forward_overlap=0.8").strips
    12
    """
    name, *overrides = spec.strip().split(":")
    if name not in PASS_PRESETS:
        raise ValueError(f"unknown pass {name!r}; expected one of {sorted(PASS_PRESETS)}")
    types = {f.name: int if f.name in ("strips", "shots_per_strip") else float
             for f in fields(FlightPlan) if f.name != "jitter"}
    changes: dict[str, Any] = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or key not in types:
            raise ValueError(f"bad pass override {item!r} in {spec!r}; expected field=value "
                             f"with field one of {sorted(types)}")
        try:
            changes[key] = types[key](value)
        except ValueError:
            raise ValueError(f"bad value {value!r} for {key} in {spec!r}") from None
    return replace(PASS_PRESETS[name], **changes)


def survey_walls(count: int, *, size: tuple[int, int] = (1296, 2048), first_seed: int = 0,
                 photo: str | Path | None = None) -> list[Surface]:
    """Distinct walls for a survey: the real photo's evaluation half and procedural walls.

    Parameters
    ----------
    count : int
        Number of walls (>= 1).
    size : (int, int)
        Width and height of the procedural walls (>= 64 each).
    first_seed : int
        Procedural wall ``k`` uses seed ``first_seed + k`` (``k`` from 0, photo excluded).
        Keep evaluation seeds apart from training seeds (``tools/make_training_data.py``
        uses 1000 and up by default).
    photo : str or pathlib.Path, optional
        If given, wall 0 is the right (evaluation) half of this photo; never its left half,
        which training data may come from.

    Returns
    -------
    list of Surface

    Examples
    --------
    >>> [w.info["seed"] for w in survey_walls(2, size=(64, 64), first_seed=5)]
    [5, 6]
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if first_seed < 0:
        raise ValueError(f"first_seed must be >= 0, got {first_seed}")
    walls = [load_photo(photo, region="eval")] if photo is not None else []
    walls += [procedural_concrete(size[0], size[1], seed=first_seed + k)
              for k in range(count - len(walls))]
    return walls


class _ShuffledNames:
    """Unique, meaningless ``IMG_<digits>.jpg`` names drawn in the order files are written.

    The number space is at least ten times ``capacity`` so rejection of a taken number is
    rare, and the width is fixed in advance so every name looks alike.
    """

    def __init__(self, rng: np.random.Generator, capacity: int) -> None:
        self.rng = rng
        self.digits = max(4, len(str(10 * capacity)))
        self.used: set[int] = set()

    def __call__(self, *_: int) -> str:
        while True:
            k = int(self.rng.integers(10 ** self.digits))
            if k not in self.used:
                self.used.add(k)
                return f"IMG_{k:0{self.digits}d}.jpg"


def _capture_order_name(pass_: int, wall: int, offset: int) -> Callable[[int, int], str]:
    """Names of one pass over one wall that sort (naturally) in survey capture order."""
    def name(strip: int, index: int) -> str:
        return _SHOT_NAME.format(pass_=pass_, wall=wall, strip=strip, capture=offset + index)
    return name


def _distractor(k: int, shot_size: tuple[int, int], rng: np.random.Generator,
                samples: Sequence[str]) -> tuple[str, bytes]:
    """Source description and JPEG bytes of distractor ``k`` (camera chain applied)."""
    out_w, out_h = shot_size
    if k < len(samples):
        # Imported here: scikit-image is only needed when distractors are asked for.
        import skimage.data

        sample = samples[k]
        pixels = getattr(skimage.data, sample)()
        source = f"skimage.data.{sample}"
    else:
        seed = int(rng.integers(2 ** 31))
        side = (max(64, round(out_w * _LOOKALIKE_ZOOM)), max(64, round(out_h * _LOOKALIKE_ZOOM)))
        pixels = procedural_concrete(*side, seed=seed).pixels
        source = f"procedural_concrete(seed={seed})"
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    # The largest centred rectangle with the shot's aspect ratio, rendered like a shot.
    height, width = pixels.shape[:2]
    w = min(width, height * out_w / out_h)
    h = w * out_h / out_w
    x0, y0 = (width - w) / 2, (height - h) / 2
    footprint = np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]])
    view = render_shot(pixels, footprint, (out_w, out_h))
    jpeg, _ = capture_jpeg(view, rng, ShotJitter())
    return source, jpeg


def _non_negative_int(name: str, value: Any) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return number


def _resolve_passes(passes: Sequence[FlightPlan | str]) -> list[FlightPlan]:
    if isinstance(passes, (str, FlightPlan)) or len(passes) == 0:
        raise ValueError("passes must be a non-empty sequence of FlightPlan or preset names")
    plans = []
    for p in passes:
        if isinstance(p, str):
            plans.append(pass_from_spec(p))
        elif isinstance(p, FlightPlan):
            plans.append(p)
        else:
            raise ValueError(f"a pass must be a FlightPlan or a preset name, got {p!r}")
    return plans


def simulate_survey(
    walls: Sequence[Surface | np.ndarray],
    out_dir: str | Path,
    *,
    passes: Sequence[FlightPlan | str] = ("coarse", "dense"),
    distractors: int = 0,
    distractor_samples: Sequence[str] = DISTRACTOR_SAMPLES,
    shuffle_names: bool = False,
    shot_size: tuple[int, int] = (320, 256),
    overlap_threshold: float = 0.5,
    seed: int = 0,
) -> FlightResult:
    """Fly every pass over every wall, add distractors, write images and ground truth.

    Parameters
    ----------
    walls : sequence of Surface or numpy.ndarray
        Distinct surfaces (``(H, W, 3)`` uint8), e.g. from :func:`survey_walls`; wall
        ``k`` has id ``k``.
    out_dir : str or pathlib.Path
        Receives ``images/`` and ``ground_truth.json`` (schema: module docstring).
        Earlier survey images in ``images/`` are replaced; any other file is an error.
    passes : sequence of FlightPlan or str
        The passes flown over each wall, in order; a string is a
        :func:`pass_from_spec` spec such as ``"dense"`` or ``"coarse:reshot_rate=0.2"``.
    distractors : int
        Unrelated photos to mix in (>= 0): first scikit-image's samples
        (``distractor_samples``), then concrete-like photos of walls outside the
        survey; each goes through the camera chain at the shot size.
    distractor_samples : sequence of str
        Names of photos bundled with ``skimage.data`` (default :data:`DISTRACTOR_SAMPLES`;
        :data:`CALIBRATION_SAMPLES` are others, for fixing thresholds apart from them).
    shuffle_names : bool
        If True, every file (shots and distractors) is named ``IMG_<random>.jpg``;
        otherwise shots are ``p<pass>_w<wall>_h<strip>_<capture index>.jpg`` (natural
        order = capture order) and distractors ``photo_<k>.jpg``.
    shot_size : (int, int)
        Output image width and height in pixels (>= 16 each).
    overlap_threshold : float
        Recorded in the ground truth: pairs at or above it are duplicates, in (0, 1].
    seed : int
        Seed (>= 0); the same arguments give byte-identical output.

    Returns
    -------
    FlightResult
        Paths written and the ground-truth dictionary.

    Raises
    ------
    ValueError
        For an invalid argument, or a pass that does not fit a wall; raised before
        anything is written.

    Examples
    --------
    >>> import tempfile
    >>> walls = survey_walls(2, size=(400, 300))
    >>> coarse = FlightPlan(strips=2, shots_per_strip=3, reshot_rate=0.0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     gt = simulate_survey(walls, tmp, passes=[coarse, coarse], distractors=1,
    ...                          shuffle_names=True, shot_size=(64, 48)).ground_truth
    >>> len(gt["shots"]), sorted({s["wall"] for s in gt["shots"]}), len(gt["distractors"])
    (24, [0, 1], 1)
    """
    if isinstance(walls, (Surface, np.ndarray)) or len(walls) == 0:
        raise ValueError("walls must be a non-empty sequence of surfaces")
    surfaces = [as_surface(w) for w in walls]
    plans = _resolve_passes(passes)
    distractors = _non_negative_int("distractors", distractors)
    seed = _non_negative_int("seed", seed)
    if not 0.0 < overlap_threshold <= 1.0:
        raise ValueError(f"overlap_threshold must be in (0, 1], got {overlap_threshold}")
    size = check_shot_size(shot_size)
    grids = [[pass_grid(wall, plan, size) for wall in surfaces] for plan in plans]
    out_dir = Path(out_dir)
    images = prepare_images_dir(out_dir, SURVEY_PATTERN, "survey images")

    # Independent streams: changing the distractor count or the naming leaves the shots'
    # pixels and footprints unchanged.
    flight_seeds, name_seed, distractor_seed = np.random.SeedSequence(seed).spawn(3)
    flight_rngs = [np.random.default_rng(s)
                   for s in flight_seeds.spawn(len(plans) * len(surfaces))]
    capacity = sum(plan.max_shots for plan in plans) * len(surfaces) + distractors
    shuffled = (_ShuffledNames(np.random.default_rng(name_seed), capacity) if shuffle_names
                else None)

    shots: list[dict[str, Any]] = []
    footprints: list[np.ndarray] = []
    wall_passes: list[list[dict[str, Any]]] = [[] for _ in surfaces]
    for p, plan in enumerate(plans):
        for w, wall in enumerate(surfaces):
            name = shuffled if shuffled is not None else _capture_order_name(p, w, len(shots))
            flown, fps = fly_pass(wall, plan, grids[p][w], images, name, size,
                                  flight_rngs[p * len(surfaces) + w])
            for shot in flown:
                shot.update({"wall": w, "pass": p, "capture_index": len(shots)})
                shots.append(shot)
            footprints += fps
            grid = grids[p][w]
            wall_passes[w].append({"pass": p, "n_shots": len(flown),
                                   "footprint_size": [round(grid.width, 4),
                                                      round(grid.height, 4)]})

    distractor_rng = np.random.default_rng(distractor_seed)
    distractor_files, distractor_sources = [], []
    for k in range(distractors):
        source, data = _distractor(k, size, distractor_rng, distractor_samples)
        file = shuffled() if shuffled is not None else _DISTRACTOR_NAME.format(k=k)
        (images / file).write_bytes(data)
        distractor_files.append(file)
        distractor_sources.append(source)

    ground_truth = {
        "overlap_threshold": overlap_threshold,
        "survey": {
            "seed": int(seed), "shot_size": list(size), "shuffle_names": bool(shuffle_names),
            "capture_order": "pass, wall, strip, shot",
            "n_walls": len(surfaces), "n_passes": len(plans), "n_shots": len(shots),
            "n_reshots": sum(s["reshot_of"] is not None for s in shots),
            "n_distractors": distractors,
        },
        "passes": [asdict(plan) for plan in plans],
        "walls": [{"id": w, "surface": dict(wall.info, width=wall.width, height=wall.height),
                   "passes": wall_passes[w]} for w, wall in enumerate(surfaces)],
        "shots": shots,
        "pairs": _pairs_within_walls(shots, footprints),
        "distractors": distractor_files,
        "distractor_sources": distractor_sources,
    }
    gt_path = out_dir / "ground_truth.json"
    gt_path.write_text(json.dumps(ground_truth, indent=1) + "\n", encoding="utf-8")
    return FlightResult(images_dir=images, ground_truth_path=gt_path, ground_truth=ground_truth)


def _pairs_within_walls(shots: Sequence[dict[str, Any]],
                        footprints: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """Overlapping pairs per wall (near-linear bbox sweep each), in shot-list order."""
    by_wall: dict[int, list[int]] = {}
    for k, shot in enumerate(shots):
        by_wall.setdefault(shot["wall"], []).append(k)
    found = []
    for members in by_wall.values():
        # ``members`` is ascending, so local i < j stays global i < j.
        found += [(members[i], members[j], ov)
                  for i, j, ov in pairwise_overlaps([footprints[k] for k in members])]
    found.sort(key=lambda t: (t[0], t[1]))
    return [{"a": shots[i]["file"], "b": shots[j]["file"], "overlap": round(ov, 6)}
            for i, j, ov in found]
