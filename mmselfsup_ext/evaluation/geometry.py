"""Planar geometry of shot footprints: convex polygon clipping, overlaps, coverage rasters.

Coordinates are surface pixels in the continuous convention: pixel ``(row, col)`` spans
``[col, col + 1) x [row, row + 1)``, so a footprint corner ``(x, y)`` is a point, not a pixel
index. Polygons are ``(K, 2)`` float arrays of ``(x, y)`` vertices in either orientation.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Relative tolerance for the convexity check: jittered quadrilaterals are convex by
# construction, and float noise on collinear vertices must not reject them.
_CONVEX_TOL = 1e-9


def as_polygon(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Validate and convert vertices to a ``(K, 2)`` float64 array.

    Parameters
    ----------
    points : array_like
        At least three ``(x, y)`` vertices.

    Returns
    -------
    numpy.ndarray
        ``(K, 2)`` float64 copy of the vertices.

    Raises
    ------
    ValueError
        If the shape is not ``(K, 2)`` with ``K >= 3`` or a coordinate is not finite.
    """
    poly = np.array(points, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[1] != 2 or poly.shape[0] < 3:
        raise ValueError(f"expected a polygon of shape (K>=3, 2), got shape {poly.shape}")
    if not np.all(np.isfinite(poly)):
        raise ValueError("polygon coordinates must be finite")
    return poly


def signed_area(poly: np.ndarray) -> float:
    """Signed shoelace area: positive for counter-clockwise in a y-up frame.

    Parameters
    ----------
    poly : numpy.ndarray
        ``(K, 2)`` vertices.

    Returns
    -------
    float
        Signed area (0 for fewer than three vertices).
    """
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def polygon_area(points: Sequence[Sequence[float]] | np.ndarray) -> float:
    """Unsigned area of a simple polygon (shoelace formula).

    Parameters
    ----------
    points : array_like
        ``(K, 2)`` vertices. Fewer than three (e.g. an empty clipping result) have
        area 0.

    Returns
    -------
    float
        Area in squared units of the coordinates.

    Examples
    --------
    >>> polygon_area([[0, 0], [4, 0], [4, 3], [0, 3]])
    12.0
    >>> polygon_area(np.zeros((0, 2)))
    0.0
    """
    poly = np.array(points, dtype=np.float64)
    if poly.size == 0:
        poly = poly.reshape(0, 2)
    if poly.ndim != 2 or poly.shape[1] != 2:
        raise ValueError(f"expected polygon vertices of shape (K, 2), got shape {poly.shape}")
    if not np.all(np.isfinite(poly)):
        raise ValueError("polygon coordinates must be finite")
    return abs(signed_area(poly))


def is_convex(points: Sequence[Sequence[float]] | np.ndarray) -> bool:
    """Whether a polygon is convex (collinear vertices allowed) with non-zero area.

    Parameters
    ----------
    points : array_like
        ``(K, 2)`` vertices.

    Returns
    -------
    bool
        True if all turns have the same sign.
    """
    poly = as_polygon(points)
    edges = np.roll(poly, -1, axis=0) - poly
    nxt = np.roll(edges, -1, axis=0)
    cross = edges[:, 0] * nxt[:, 1] - edges[:, 1] * nxt[:, 0]
    scale = float(np.max(np.abs(poly))) ** 2 + 1.0
    tol = _CONVEX_TOL * scale
    return bool(abs(signed_area(poly)) > tol and (np.all(cross >= -tol) or np.all(cross <= tol)))


def _ccw(poly: np.ndarray) -> np.ndarray:
    return poly if signed_area(poly) >= 0 else poly[::-1]


def clip_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Intersect two convex polygons (Sutherland-Hodgman).

    Parameters
    ----------
    subject, clip : array_like
        Convex ``(K, 2)`` polygons, any orientation.

    Returns
    -------
    numpy.ndarray
        ``(M, 2)`` vertices of the intersection, counter-clockwise. Disjoint polygons
        give ``M == 0``; polygons that only touch give a degenerate result of zero area.

    Raises
    ------
    ValueError
        If either polygon is not convex.
    """
    subject_p, clip_p = as_polygon(subject), as_polygon(clip)
    for name, poly in (("subject", subject_p), ("clip", clip_p)):
        if not is_convex(poly):
            raise ValueError(f"{name} polygon must be convex with non-zero area")
    return _clip_ccw(_ccw(subject_p), _ccw(clip_p))


def _clip_ccw(output: np.ndarray, clip_p: np.ndarray) -> np.ndarray:
    """:func:`clip_convex` of polygons already checked convex and counter-clockwise."""
    for k in range(len(clip_p)):
        if len(output) == 0:
            break
        a, b = clip_p[k], clip_p[(k + 1) % len(clip_p)]
        edge = b - a
        # Inside = left of the directed clip edge (counter-clockwise clip polygon).
        side = edge[0] * (output[:, 1] - a[1]) - edge[1] * (output[:, 0] - a[0])
        inside = side >= 0
        new_pts: list[np.ndarray] = []
        n = len(output)
        for i in range(n):
            j = (i + 1) % n
            if inside[i]:
                new_pts.append(output[i])
            if inside[i] != inside[j]:
                t = side[i] / (side[i] - side[j])
                new_pts.append(output[i] + t * (output[j] - output[i]))
        output = np.array(new_pts, dtype=np.float64).reshape(-1, 2)
    return output


def intersection_area(a: np.ndarray, b: np.ndarray) -> float:
    """Area of the intersection of two convex polygons.

    Parameters
    ----------
    a, b : array_like
        Convex ``(K, 2)`` polygons.

    Returns
    -------
    float
        Intersection area in squared surface pixels (0 if disjoint).
    """
    inter = clip_convex(a, b)
    return abs(signed_area(inter)) if len(inter) >= 3 else 0.0


def overlap_ratio(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap of two footprints: intersection area / smaller footprint area.

    Symmetric, in ``[0, 1]``; 1 when one footprint contains the other.

    Parameters
    ----------
    a, b : array_like
        Convex ``(K, 2)`` polygons.

    Returns
    -------
    float
        The overlap ratio.

    Examples
    --------
    >>> overlap_ratio([[0, 0], [4, 0], [4, 4], [0, 4]], [[2, 0], [6, 0], [6, 4], [2, 4]])
    0.5
    """
    smaller = min(polygon_area(a), polygon_area(b))
    return min(1.0, intersection_area(a, b) / smaller)


def pairwise_overlaps(footprints: Sequence[np.ndarray]) -> list[tuple[int, int, float]]:
    """Every pair ``i < j`` of footprints with a positive overlap ratio.

    A sweep over bounding boxes sorted by their left edge keeps the work near-linear for
    flights, where each shot overlaps only its neighbours.

    Parameters
    ----------
    footprints : sequence of array_like
        Convex ``(K, 2)`` polygons.

    Returns
    -------
    list of (int, int, float)
        ``(i, j, overlap)`` with ``i < j``, sorted by ``(i, j)``.
    """
    polys = [as_polygon(p) for p in footprints]
    if not polys:
        return []
    for k, poly in enumerate(polys):
        if not is_convex(poly):
            raise ValueError(f"footprint {k} must be convex with non-zero area")
    # Orientation and area once per polygon, not once per pair: the pair loop dominates
    # the ground truth of large surveys. The arithmetic is that of overlap_ratio.
    ccw = [_ccw(p) for p in polys]
    areas = [polygon_area(p) for p in polys]
    lo = np.array([p.min(axis=0) for p in polys])
    hi = np.array([p.max(axis=0) for p in polys])
    order = np.argsort(lo[:, 0], kind="stable")
    result: list[tuple[int, int, float]] = []
    for rank, i in enumerate(order):
        for j in order[rank + 1:]:
            if lo[j, 0] >= hi[i, 0]:
                break
            if lo[j, 1] >= hi[i, 1] or lo[i, 1] >= hi[j, 1]:
                continue
            inter = _clip_ccw(ccw[i], ccw[j])
            area = abs(signed_area(inter)) if len(inter) >= 3 else 0.0
            ov = min(1.0, area / min(areas[i], areas[j]))
            if ov > 0.0:
                a, b = (int(i), int(j)) if i < j else (int(j), int(i))
                result.append((a, b, ov))
    result.sort(key=lambda t: (t[0], t[1]))
    return result


class CoverageGrid:
    """A coarse raster of a surface region for union-of-footprint areas.

    A cell of side ``cell`` surface pixels counts as covered by a polygon iff the cell
    centre lies inside it (half-open: left/top edges inclusive, right/bottom exclusive).
    The result is exact for axis-aligned rectangles whose edges lie on the cell grid;
    otherwise each polygon's area error is bounded by about ``perimeter * cell``, and the
    union error by the same bound over the union's boundary.

    Parameters
    ----------
    origin : (float, float)
        Surface ``(x, y)`` of the grid's top-left corner.
    shape : (int, int)
        ``(rows, cols)`` of cells.
    cell : float
        Cell side in surface pixels (> 0).
    """

    def __init__(self, origin: tuple[float, float], shape: tuple[int, int], cell: float) -> None:
        if cell <= 0:
            raise ValueError(f"cell must be > 0, got {cell}")
        if shape[0] < 1 or shape[1] < 1:
            raise ValueError(f"grid shape must be positive, got {shape}")
        self.origin = (float(origin[0]), float(origin[1]))
        self.shape = (int(shape[0]), int(shape[1]))
        self.cell = float(cell)

    @classmethod
    def around(cls, polygons: Sequence[np.ndarray], max_cells: int = 4_000_000,
               cell: float | None = None) -> CoverageGrid:
        """Grid covering the bounding box of ``polygons``.

        Parameters
        ----------
        polygons : sequence of array_like
            Polygons the grid must contain.
        max_cells : int
            Upper bound on the number of cells when ``cell`` is None; the cell side is
            then the smallest whole number of pixels that respects it.
        cell : float, optional
            Explicit cell side in surface pixels.

        Returns
        -------
        CoverageGrid
        """
        if not polygons:
            raise ValueError("need at least one polygon to size the coverage grid")
        pts = np.concatenate([as_polygon(p) for p in polygons])
        x0, y0 = np.floor(pts.min(axis=0))
        x1, y1 = np.ceil(pts.max(axis=0))
        if cell is None:
            cell = float(max(1, int(np.ceil(np.sqrt((x1 - x0) * (y1 - y0) / max_cells)))))
        cols = max(1, int(np.ceil((x1 - x0) / cell)))
        rows = max(1, int(np.ceil((y1 - y0) / cell)))
        return cls((x0, y0), (rows, cols), cell)

    def union_mask(self, polygons: Sequence[np.ndarray]) -> np.ndarray:
        """Boolean ``(rows, cols)`` mask of cells whose centre lies in any polygon.

        Parameters
        ----------
        polygons : sequence of array_like
            Convex polygons in surface pixels.

        Returns
        -------
        numpy.ndarray
            The coverage mask.
        """
        rows, cols = self.shape
        # Run-length marks per row (+1 at run start, -1 after run end) summed over all
        # polygons, then a cumulative sum: the union without a per-polygon full raster.
        marks = np.zeros((rows, cols + 1), dtype=np.int32)
        for poly in polygons:
            r, c0, c1 = self._runs(as_polygon(poly))
            np.add.at(marks, (r, c0), 1)
            np.add.at(marks, (r, c1), -1)
        return np.cumsum(marks, axis=1)[:, :cols] > 0

    def union_area(self, polygons: Sequence[np.ndarray]) -> float:
        """Area (squared surface pixels) of the union of ``polygons`` on this grid."""
        return float(self.union_mask(polygons).sum()) * self.cell ** 2

    def prune_covered(self, polygons: Sequence[np.ndarray], order: Sequence[int],
                      fraction: float = 0.999) -> np.ndarray:
        """Greedy coverage-preserving selection: drop polygons the others still cover.

        Polygons are visited in ``order``; one is dropped when the polygons still kept
        (those not dropped so far, visited or not) cover at least ``fraction`` of its
        cells. A polygon that contains no cell centre adds nothing to the raster and is
        dropped.

        Parameters
        ----------
        polygons : sequence of array_like
            Convex polygons in surface pixels.
        order : sequence of int
            Permutation of ``range(len(polygons))``: the visiting order.
        fraction : float
            Required covered fraction of a dropped polygon's cells, in (0, 1].

        Returns
        -------
        numpy.ndarray
            Boolean keep mask, one entry per polygon.

        Examples
        --------
        >>> grid = CoverageGrid((0, 0), (1, 20), 1.0)
        >>> strips = [[[x, 0], [x + 10, 0], [x + 10, 1], [x, 1]] for x in (0, 5, 10)]
        >>> grid.prune_covered(strips, order=[2, 1, 0]).tolist()
        [True, False, True]
        """
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        order = np.asarray(order, dtype=np.int64)
        if order.shape != (len(polygons),) or not np.array_equal(np.sort(order),
                                                                 np.arange(len(polygons))):
            raise ValueError(f"order must be a permutation of range({len(polygons)})")
        rows, cols = self.shape
        runs = [self._runs(as_polygon(poly)) for poly in polygons]
        marks = np.zeros((rows, cols + 1), dtype=np.int32)
        for r, c0, c1 in runs:
            np.add.at(marks, (r, c0), 1)
            np.add.at(marks, (r, c1), -1)
        # How many kept polygons cover each cell; a cell of polygon k is covered by the
        # others iff its count is >= 2 while k is kept.
        count = np.cumsum(marks, axis=1, dtype=np.int32)[:, :cols]
        keep = np.ones(len(polygons), dtype=bool)
        for k in order.tolist():
            r, c0, c1 = runs[k]
            if r.size == 0:
                keep[k] = False
                continue
            # The polygon's cells as a mask over its bounding box (a view of ``count``).
            lo, hi = int(c0.min()), int(c1.max())
            inside = np.zeros((int(r[-1] - r[0]) + 1, hi - lo), dtype=bool)
            span = np.arange(lo, hi)
            inside[r - r[0]] = (span >= c0[:, None]) & (span < c1[:, None])
            window = count[r[0]:r[-1] + 1, lo:hi]
            if np.count_nonzero((window >= 2) & inside) >= fraction * np.count_nonzero(inside):
                window -= inside
                keep[k] = False
        return keep

    def _runs(self, poly: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-row covered column runs ``[c0, c1)`` of one convex polygon."""
        rows, cols = self.shape
        local = (poly - np.array(self.origin)) / self.cell
        # Cell centres sit at half-integers in grid units.
        r_lo = max(0, int(np.ceil(local[:, 1].min() - 0.5)))
        r_hi = min(rows, int(np.ceil(local[:, 1].max() - 0.5)))
        if r_hi <= r_lo:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        r = np.arange(r_lo, r_hi)
        yc = r + 0.5
        x_left = np.full(len(r), np.inf)
        x_right = np.full(len(r), -np.inf)
        nxt = np.roll(local, -1, axis=0)
        for (xa, ya), (xb, yb) in zip(local, nxt):
            if ya == yb:
                continue
            lo_y, hi_y = min(ya, yb), max(ya, yb)
            # Half-open in y so a vertex shared by two edges is counted once.
            hit = (yc >= lo_y) & (yc < hi_y)
            xs = xa + (yc[hit] - ya) * (xb - xa) / (yb - ya)
            x_left[hit] = np.minimum(x_left[hit], xs)
            x_right[hit] = np.maximum(x_right[hit], xs)
        valid = x_left <= x_right
        c0 = np.clip(np.ceil(x_left[valid] - 0.5), 0, cols).astype(np.int64)
        c1 = np.clip(np.ceil(x_right[valid] - 0.5), 0, cols).astype(np.int64)
        keep = c1 > c0
        return r[valid][keep], c0[keep], c1[keep]
