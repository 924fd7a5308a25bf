"""Coverage-preserving selection: remove a photo only if the kept ones still show it.

A pairwise duplicate rule (remove B when a kept A overlaps it by >= 50 %) drops the
other half of B; a crack seen only there goes with it. Here each image is a raster of
``GRID x GRID`` cells in its own pixels, and every verified pair projects the outline
of one image into the other through its homography: the cells whose centres fall
inside are "shown by" the neighbour. An image is removed only if its kept neighbours
together show at least ``min_coverage`` of its cells.

Decisions hold as a set: images are considered for removal in the reverse of the keep
preference (``--keep first``: the last shot first), and an image is removed only if,
besides being covered itself, every image removed earlier that it helps cover stays
covered without it. No removed image ever counts as a coverer.

Doubtful geometry never removes an image. Only pairs verified ``ok`` with a finite,
convex projection are used, and a neighbour whose projection disagrees with the one
implied through a third image (a triangle x, y, z of verified pairs where mapping z
into x directly and through y land more than ``CHAIN_TOLERANCE`` of x's diagonal apart)
is not used to cover anything (compared on the surface all three show, where the
fits are constrained): the images those pairs would have covered are kept, and the
pairs are counted.
"""
from __future__ import annotations

from collections.abc import Sequence
import numpy as np

from ..validation import check_int, check_number
from .results import CoverageSelection
from .verify.geometry import invert_homographies, warp_outlines

__all__ = ["CHAIN_TOLERANCE", "GRID", "MIN_COVERAGE", "CoverageSelection", "coverage_keep"]

#: Cells per image side (GRID * GRID cells; 32 -> a cell is 1/1024 of the image).
GRID = 32
#: Largest disagreement, as a fraction of the image diagonal, between a projection and
#: the same projection composed through a third image.
CHAIN_TOLERANCE = 0.05
#: Default share of a removed image its kept neighbours must show. Registration errors
#: of ~1.5 px leave the border cells of a fully covered shot just outside its
#: neighbours' projections: on the real-surface surveys (benchmarks/real_surfaces.py)
#: 0.99 removed 0.896-0.945 of the ideal choice, 0.985 0.925-0.970, keeping >= 99.67 %
#: of the surface either way.
MIN_COVERAGE = 0.985


#: Triangles whose chained projections are compared in one batch (bounds the arrays:
#: 64 probe points x 3 projections x 8 bytes each, about 12 MB per batch).
_TRIANGLE_BATCH = 4096
#: Cell centres of a unit image, and the 8 x 8 probe points (enough to see two
#: projections disagree), both scaled by an image's size.
_UNIT_CELLS = np.stack(np.meshgrid((np.arange(GRID) + 0.5) / GRID, (np.arange(GRID) + 0.5) / GRID),
                       axis=-1).reshape(-1, 2)
_UNIT_PROBES = np.stack(np.meshgrid((np.arange(8) + 0.5) / 8, (np.arange(8) + 0.5) / 8),
                        axis=-1).reshape(-1, 2)


def _cell_masks(quads: np.ndarray, size: np.ndarray) -> list[int]:
    """Bitmask of an image's cell centres inside each convex, counter-clockwise (y down) quad.

    ``quads`` is ``(M, 4, 2)``: the outlines of M neighbours projected into the image.
    """
    cx, cy = (_UNIT_CELLS * size).T
    edges = np.roll(quads, -1, axis=1) - quads
    inside = np.ones((len(quads), len(cx)), dtype=bool)
    # One edge at a time: (M, cells) temporaries instead of (M, cells, 4, 2).
    for k in range(4):
        ex, ey = edges[:, k, 0:1], edges[:, k, 1:2]
        inside &= ex * (cy - quads[:, k, 1:2]) - ey * (cx - quads[:, k, 0:1]) >= 0
    packed = np.packbits(inside, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def _project(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(T, K, 2)`` points mapped by ``(T, 3, 3)`` homographies."""
    x, y = points[..., 0], points[..., 1]
    h = h[:, None]
    w = h[..., 2, 0] * x + h[..., 2, 1] * y + h[..., 2, 2]
    return np.stack([(h[..., 0, 0] * x + h[..., 0, 1] * y + h[..., 0, 2]) / w,
                     (h[..., 1, 0] * x + h[..., 1, 1] * y + h[..., 1, 2]) / w], axis=-1)


def _inside(points: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Whether each of ``(T, K, 2)`` points lies in its ``(T, 2)`` image."""
    return np.all((points >= 0) & (points <= size[:, None, :]), axis=-1)


def _triangles(pairs: dict[tuple[int, int], np.ndarray]) -> np.ndarray:
    """``(T, 3)`` image triples ``x < y < z`` whose three pairs all have projections."""
    neighbours: dict[int, set[int]] = {}
    for a, b in pairs:
        neighbours.setdefault(a, set()).add(b)
    found = []
    for x, around in neighbours.items():
        later = sorted(y for y in around if y > x)
        for p, y in enumerate(later):
            found.extend((x, y, z) for z in later[p + 1:] if (y, z) in pairs)
    return np.array(found, dtype=np.int64).reshape(-1, 3)


def _doubtful(pairs: dict[tuple[int, int], np.ndarray], sizes: np.ndarray) -> set:
    """Pairs in a triangle whose direct and chained projections disagree.

    Each triangle x < y < z is checked once, in x's pixels (the cycle either closes
    or not, whatever frame it is seen in), where all three images see the same
    surface: a homography is fitted on the shared region and extrapolates freely
    outside it. Triangles are compared in batches of arrays.
    """
    bad: set[tuple[int, int]] = set()
    triangles = _triangles(pairs)
    for start in range(0, len(triangles), _TRIANGLE_BATCH):
        x, y, z = triangles[start:start + _TRIANGLE_BATCH].T
        points = _UNIT_PROBES[None] * sizes[z][:, None, :]
        direct = _project(np.stack([pairs[(c, a)] for a, c in zip(x.tolist(), z.tolist())]), points)
        via = _project(np.stack([pairs[(c, b)] for b, c in zip(y.tolist(), z.tolist())]), points)
        chained = _project(np.stack([pairs[(b, a)] for a, b in zip(x.tolist(), y.tolist())]), via)
        shared = _inside(direct, sizes[x]) & _inside(via, sizes[y])
        gap = np.where(shared, np.hypot(*np.moveaxis(direct - chained, -1, 0)), -np.inf).max(axis=1)
        tolerance = CHAIN_TOLERANCE * np.hypot(sizes[x, 0], sizes[x, 1])
        for a, b, c in triangles[start:start + _TRIANGLE_BATCH][gap > tolerance].tolist():
            bad |= {(a, b), (b, a), (a, c), (c, a), (b, c), (c, b)}
    return bad


def _popcount(mask: int) -> int:
    return mask.bit_count()


def coverage_keep(n: int, i: np.ndarray, j: np.ndarray, homography: np.ndarray,
                  status: Sequence[str], sizes: np.ndarray, order: np.ndarray,
                  min_coverage: float = MIN_COVERAGE) -> CoverageSelection:
    """Keep a set of images that still shows (almost) all of every removed image.

    Parameters
    ----------
    n : int
        Number of images.
    i, j : ndarray
        Verified pairs (P,), positions into the images.
    homography : ndarray
        ``(P, 3, 3)`` map from image ``i[p]``'s original pixels to ``j[p]``'s (NaN
        where none).
    status : sequence of str
        Verification status per pair; only ``"ok"`` pairs are used.
    sizes : ndarray
        ``(N, 2)`` original ``(width, height)`` of each image.
    order : ndarray
        Permutation of ``range(n)``, most preferred to keep first; images are
        considered for removal from the end.
    min_coverage : float, default :data:`MIN_COVERAGE`
        Fraction of an image's cells its kept neighbours must show for it to go.

    Returns
    -------
    CoverageSelection

    Examples
    --------
    Three 100 x 100 shots in a row, 50 px apart: the middle one is shown half by each
    neighbour, so it goes; the ends are kept.

    >>> shift = lambda dx: np.array([[1, 0, dx], [0, 1, 0], [0, 0, 1.0]])
    >>> h = np.stack([shift(-50), shift(-50), shift(-100)])
    >>> sizes = np.array([[100, 100]] * 3)
    >>> picked = coverage_keep(3, np.array([0, 1, 0]), np.array([1, 2, 2]), h,
    ...                        ["ok"] * 3, sizes, np.arange(3))
    >>> picked.keep.tolist(), picked.coverers
    ([True, False, True], {1: [0, 2]})
    """
    n = check_int(n, "n", minimum=0)
    min_coverage = check_number(min_coverage, "min_coverage", 0.0, 1.0, low_open=True)
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    homography = np.asarray(homography, dtype=np.float64).reshape(-1, 3, 3)
    sizes = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    order = np.asarray(order, dtype=np.int64)
    if not i.shape == j.shape == (len(homography),) == (len(status),):
        raise ValueError("i, j, homography and status must have one entry per pair")
    if sizes.shape[0] != n or order.shape != (n,) or not np.array_equal(np.sort(order),
                                                                        np.arange(n)):
        raise ValueError(f"sizes must be (n, 2) and order a permutation of range({n})")
    # Directed projections: (y, x) -> homography mapping y's pixels into x's.
    backs = invert_homographies(homography) if len(homography) else homography
    maps: dict[tuple[int, int], np.ndarray] = {}
    for a, b, h, back, st in zip(i.tolist(), j.tolist(), homography, backs, status):
        if st == "ok" and a != b and np.isfinite(back).all():
            maps[(a, b)], maps[(b, a)] = h, back
    doubtful = _doubtful(maps, sizes)
    usable = [key for key in maps if key not in doubtful]
    shows: dict[int, dict[int, int]] = {x: {} for x in range(n)}  # x -> {y: mask of x}
    if usable:
        y_of, x_of = np.array(usable, dtype=np.int64).T
        quads, convex = warp_outlines(np.stack([maps[key] for key in usable]), sizes[y_of])
        # Grouped by the image shown, whose cells each neighbour's outline covers.
        rows = np.flatnonzero(convex)
        rows = rows[np.argsort(x_of[rows], kind="stable")]
        for group in np.split(rows, np.flatnonzero(np.diff(x_of[rows])) + 1) if rows.size else []:
            x = int(x_of[group[0]])
            masks = _cell_masks(quads[group], sizes[x])
            shows[x] = {int(y): mask for y, mask in zip(y_of[group], masks) if mask}
    need = int(np.ceil(min_coverage * GRID * GRID - 1e-9))
    keep = np.ones(n, bool)

    def shown(x: int, without: int = -1) -> int:
        union = 0
        for y, mask in shows[x].items():
            if keep[y] and y != without:
                union |= mask
        return union

    for x in order[::-1].tolist():
        if _popcount(shown(x)) < need:
            continue
        dependents = [z for z in shows[x] if not keep[z] and x in shows[z]]
        if all(_popcount(shown(z, without=x)) >= need for z in dependents):
            keep[x] = False
    coverage = np.array([_popcount(shown(x)) / (GRID * GRID) for x in range(n)])
    coverers = {x: sorted(y for y in shows[x] if keep[y]) for x in np.flatnonzero(~keep).tolist()}
    return CoverageSelection(keep, coverage, coverers, {p for p in doubtful if p[0] < p[1]},
                             _retained(shows, keep), min_coverage)


def _retained(shows: dict[int, dict[int, int]], keep: np.ndarray) -> float:
    """Estimated union of the kept images over the union of all, in image areas."""
    def union(members: np.ndarray) -> float:
        total = 0.0
        for x in np.flatnonzero(members).tolist():
            seen = 0
            for y, mask in shows[x].items():
                if y < x and members[y]:
                    seen |= mask
            total += 1.0 - _popcount(seen) / (GRID * GRID)
        return total

    everything = union(np.ones_like(keep))
    return union(keep) / everything if everything else 1.0
