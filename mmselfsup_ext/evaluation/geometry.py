"""Footprints of shots on a surface: pairwise overlaps and coverage rasters.

Coordinates as in :mod:`mmselfsup_ext.geometry`: surface pixels, continuous convention.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..geometry import counter_clockwise, clip_counter_clockwise, as_polygon, is_convex, polygon_area, signed_area

__all__ = ["CoverageGrid", "pairwise_overlaps"]


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
    ccw = [counter_clockwise(p) for p in polys]
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
            inter = clip_counter_clockwise(ccw[i], ccw[j])
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
