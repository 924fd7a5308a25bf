"""Plane geometry of image outlines: warping, plausibility, clipping, overlap.

Sizes are ``(width, height)`` in pixels; an outline is the rectangle
``[0, width] x [0, height]`` listed counter-clockwise in image coordinates (y down).
"""
from __future__ import annotations

import cv2
import numpy as np

from ...geometry import polygon_area


def outline(size: tuple[int, int]) -> np.ndarray:
    """Corners (4, 2) of the image rectangle of ``size``."""
    w, h = size
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)


#: Smallest |det| / (product of the row norms) of a usable homography (1 for a pure
#: rotation, 0 for a singular map; scale-free, unlike the determinant itself).
MIN_HADAMARD = 1e-12


def _usable(h: np.ndarray) -> np.ndarray:
    """Per map of ``(P, 3, 3)``: finite, a non-zero ``[2, 2]`` entry and not near-singular."""
    with np.errstate(all="ignore"):
        finite = np.isfinite(h).all(axis=(1, 2))
        safe = np.where(finite[:, None, None], h, np.eye(3))
        norms = np.sqrt((safe * safe).sum(axis=2)).prod(axis=1)
        ratio = np.abs(np.linalg.det(safe)) / np.where(norms > 0, norms, 1.0)
    return finite & (np.abs(safe[:, 2, 2]) > 1e-12) & (norms > 0) & (ratio > MIN_HADAMARD)


def normalize_homographies(h: np.ndarray) -> np.ndarray:
    """Maps of ``(P, 3, 3)`` scaled so ``[2, 2] == 1``; NaN where a map is non-finite or
    singular (a degenerate fit: collinear or repeated points, a zero scale).

    Callers treat NaN as "no homography", so one pair never ends a run.
    """
    h = np.asarray(h, dtype=np.float64).reshape(-1, 3, 3)
    ok = _usable(h)
    out = np.full_like(h, np.nan)
    out[ok] = h[ok] / h[ok][:, 2:, 2:]
    return out


def invert_homographies(h: np.ndarray) -> np.ndarray:
    """Inverses of ``(P, 3, 3)`` maps, scaled so ``[2, 2] == 1``; NaN where there is none."""
    h = normalize_homographies(h)
    ok = _usable(h)
    out = np.full_like(h, np.nan)
    if ok.any():
        out[ok] = normalize_homographies(np.linalg.inv(h[ok]))
    return out


def normalize_homography(h: np.ndarray) -> np.ndarray | None:
    """One map of :func:`normalize_homographies`, or None where it gives NaN."""
    out = normalize_homographies(h)[0]
    return out if np.isfinite(out).all() else None


def invert_homography(h: np.ndarray) -> np.ndarray | None:
    """The inverse of one map (:func:`invert_homographies`), or None if there is none."""
    out = invert_homographies(h)[0]
    return out if np.isfinite(out).all() else None


def warp_outlines(h: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Images of outlines under maps, in one batch.

    Parameters
    ----------
    h : ndarray
        ``(P, 3, 3)`` maps.
    sizes : ndarray
        ``(P, 2)`` ``(width, height)`` of the image each map takes.

    Returns
    -------
    (ndarray, ndarray)
        ``(P, 4, 2)`` warped corners and ``(P,)`` whether each is a convex, same-handed
        quad (the others are meaningless).
    """
    h = np.asarray(h, dtype=np.float64).reshape(-1, 3, 3)
    w, ht = np.asarray(sizes, dtype=np.float64).reshape(-1, 2).T
    zero = np.zeros_like(w)
    corners = np.stack([np.stack([zero, zero], 1), np.stack([w, zero], 1), np.stack([w, ht], 1),
                        np.stack([zero, ht], 1)], axis=1)
    mapped = np.concatenate([corners, np.ones(corners.shape[:2] + (1,))], axis=2) @ h.transpose(0, 2, 1)
    # A corner with w <= 0 crosses the horizon: the quad wraps through infinity.
    ahead = np.all(mapped[..., 2] > 1e-12, axis=1)
    with np.errstate(all="ignore"):
        quads = mapped[..., :2] / np.where(ahead[:, None, None], mapped[..., 2:], 1.0)
    edges = np.roll(quads, -1, axis=1) - quads
    turns = edges[..., 0] * np.roll(edges[..., 1], -1, axis=1) - edges[..., 1] * np.roll(edges[..., 0], -1, axis=1)
    # All turns one way: convex and orientation preserved (a mirror image turns the other way).
    return quads, ahead & np.all(turns > 0, axis=1)


def warp_outline(h: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
    """Image of the outline under ``h``, or None if it is not a convex, same-handed quad."""
    quads, ok = warp_outlines(np.asarray(h)[None], np.asarray(size)[None])
    return quads[0] if ok[0] else None


def plausible(h: np.ndarray, size_a: tuple[int, int], size_b: tuple[int, int],
              max_scale: float, max_anisotropy: float) -> bool:
    """Whether ``h`` (A pixels -> B pixels) is a motion a camera over a surface makes.

    Judged on the local linear part of ``h`` at the centre of A: it must keep
    orientation, change the footprint size by at most ``max_scale`` either way and
    stretch one direction at most ``max_anisotropy`` times more than the other.
    """
    cx, cy = size_a[0] / 2, size_a[1] / 2
    den = h[2, 0] * cx + h[2, 1] * cy + h[2, 2]
    px = (h[0, 0] * cx + h[0, 1] * cy + h[0, 2]) / den
    py = (h[1, 0] * cx + h[1, 1] * cy + h[1, 2]) / den
    jac = np.array([[h[0, 0] - h[2, 0] * px, h[0, 1] - h[2, 1] * px],
                    [h[1, 0] - h[2, 0] * py, h[1, 1] - h[2, 1] * py]]) / den
    if np.linalg.det(jac) <= 0:
        return False
    s_max, s_min = np.linalg.svd(jac, compute_uv=False)
    # Zoom between footprints, not pixel grids: the same view at a quarter of the
    # resolution has a 0.25 Jacobian but a footprint ratio of 1.
    (wa, ha), (wb, hb) = size_a, size_b
    scale = np.sqrt(s_max * s_min * wa * ha / (wb * hb))
    return bool(1 / max_scale <= scale <= max_scale and s_max / s_min <= max_anisotropy)


def clip_to_rect(poly: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Sutherland-Hodgman clip of a convex polygon (K, 2) to the image rectangle.

    Hand-written because cv2.intersectConvexConvex is unstable when edges coincide,
    which is exactly the identical-image case (measured: overlap 0.85 for a copy).
    """
    for axis, bound, keep_below in ((0, 0.0, False), (0, size[0], True),
                                    (1, 0.0, False), (1, size[1], True)):
        if len(poly) == 0:
            break
        inside = poly[:, axis] <= bound if keep_below else poly[:, axis] >= bound
        out = []
        for p, q, p_in, q_in in zip(poly, np.roll(poly, -1, axis=0), inside, np.roll(inside, -1)):
            if p_in:
                out.append(p)
            if p_in != q_in:
                t = (bound - p[axis]) / (q[axis] - p[axis])
                out.append(p + t * (q - p))
        poly = np.array(out).reshape(-1, 2)
    return poly


def hull_area(points: np.ndarray) -> float:
    """Area of the convex hull of points (K, 2); 0 for fewer than three."""
    if len(points) < 3:
        return 0.0
    return polygon_area(cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64))


def overlap_fraction(quad: np.ndarray, size: tuple[int, int]) -> float:
    """area(quad ∩ image rectangle) / min(area quad, area rectangle)."""
    smaller = min(polygon_area(quad), size[0] * size[1])
    return polygon_area(clip_to_rect(quad, size)) / smaller if smaller > 0 else 0.0
