"""Planar polygons: validation, area, convex clipping and overlap ratios.

Below both :mod:`mmselfsup_ext.dedup` (verified overlaps) and
:mod:`mmselfsup_ext.evaluation` (ground-truth footprints), so neither depends on the other.

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

__all__ = ["as_polygon", "clip_convex", "clip_counter_clockwise", "counter_clockwise",
           "intersection_area", "is_convex", "overlap_ratio", "polygon_area", "signed_area"]


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


def counter_clockwise(poly: np.ndarray) -> np.ndarray:
    """``poly`` with its vertices in counter-clockwise order (reversed if clockwise)."""
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
    return clip_counter_clockwise(counter_clockwise(subject_p), counter_clockwise(clip_p))


def clip_counter_clockwise(output: np.ndarray, clip_p: np.ndarray) -> np.ndarray:
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

    Symmetric, in ``[0, 1]``; 1 when one footprint contains the other. ``a`` and ``b``
    are convex ``(K, 2)`` polygons, as for :func:`intersection_area`.

    Examples
    --------
    >>> overlap_ratio([[0, 0], [4, 0], [4, 4], [0, 4]], [[2, 0], [6, 0], [6, 4], [2, 4]])
    0.5
    """
    smaller = min(polygon_area(a), polygon_area(b))
    return min(1.0, intersection_area(a, b) / smaller)
