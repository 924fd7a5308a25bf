"""Implied candidates: A~B and B~C verified predict where A lies in C.

Descriptor retrieval proposes a pair when the two images share enough of their
strongest descriptors. Two shots of one spot at different footprint scales can share
few of them (ORB ranks the same corner differently at another zoom), yet each of them
verifies against a common neighbour. Composing the neighbours' homographies,
``H_AC = H_BC @ H_AB``, predicts the pair's overlap; pairs predicted to overlap enough
are verified like any other candidate. Repeated until nothing new is implied, the
result is the closure of the verified graph: it depends on the set of images and the
verifications only, never on file order.

Measured on real quay-deck surveys (``benchmarks/real_surfaces.py``), every true pair
that retrieval missed but verification accepts had a common verified neighbour.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from ...validation import check_number
from ..results import DuplicateSearch
from ..verify.geometry import invert_homographies, normalize_homographies
from .base import Proposal, as_pairs, pair_keys, sorted_contains

__all__ = ["IMPLIED_FRACTION", "ImpliedPairs", "implied_pairs", "predicted_overlaps"]

#: A pair is proposed when a composed homography predicts this fraction of min_overlap
#: (the prediction overestimates; composing two fits compounds their errors). On the
#: real-surface surveys 0.8 already recovered every true pair that 0.5 did, but the
#: partial overlaps between 0.33 and 0.4 are what lets the coverage selection prove some
#: shots covered (capture order, one wall: 0.896 of the ideal removal at 0.8, 0.91-0.925
#: at 0.65, 0.91-0.94 at 0.5 for 15-40 % more pairs).
IMPLIED_FRACTION = 0.65
# Triples (two neighbours of one middle) composed per batch: bounds the memory of a run.
_TRIPLE_BATCH = 1 << 18


class ImpliedPairs:
    """Pairs the verified homographies imply, asked after every verification round.

    Only order-free searches use it: a capture-order window keeps to the pairs it names.
    """

    after_verification: ClassVar[bool] = True

    def propose(self, proposal: Proposal, verified: DuplicateSearch | None = None
                ) -> np.ndarray:
        """:func:`implied_pairs` of ``verified`` at ``IMPLIED_FRACTION * min_overlap``."""
        if verified is None:
            return np.zeros((0, 2), dtype=np.int64)
        return as_pairs(*implied_pairs(verified.i, verified.j, verified.homography,
                                       verified.verify_status, verified.image_sizes,
                                       IMPLIED_FRACTION * proposal.options.min_overlap))


def predicted_overlaps(homography: np.ndarray, size_a: np.ndarray, size_b: np.ndarray
                       ) -> np.ndarray:
    """Upper estimates of the overlap of image A warped into image B, for T pairs at once.

    The warped outline's bounding box is clipped to B's rectangle and divided by the
    smaller of the warped outline's and B's areas: an overestimate of intersection /
    smaller footprint for rotated outlines, which is what a proposal filter wants.

    Parameters
    ----------
    homography : ndarray
        ``(T, 3, 3)`` maps from A's pixels to B's.
    size_a, size_b : ndarray
        ``(T, 2)`` widths and heights of A and B.

    Returns
    -------
    ndarray
        ``(T,)`` float64 in ``[0, 1]``; 0 where the outline crosses the horizon or folds.
    """
    h = np.asarray(homography, dtype=np.float64).reshape(-1, 3, 3)
    wa, ha = np.asarray(size_a, dtype=np.float64).reshape(-1, 2).T
    wb, hb = np.asarray(size_b, dtype=np.float64).reshape(-1, 2).T
    zero = np.zeros_like(wa)
    corners = np.stack([np.stack([zero, zero], 1), np.stack([wa, zero], 1),
                        np.stack([wa, ha], 1), np.stack([zero, ha], 1)], axis=1)
    homogeneous = np.concatenate([corners, np.ones(corners.shape[:2] + (1,))], axis=2)
    mapped = np.einsum("tij,tkj->tki", h, homogeneous)
    w = mapped[:, :, 2]
    valid = np.all(w > 1e-12, axis=1) & np.all(np.isfinite(mapped), axis=(1, 2))
    with np.errstate(all="ignore"):
        quad = mapped[:, :, :2] / np.where(valid[:, None], w, 1.0)[:, :, None]
    x, y = quad[:, :, 0], quad[:, :, 1]
    area = 0.5 * (x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1)
    inter_w = np.clip(np.minimum(x.max(axis=1), wb) - np.maximum(x.min(axis=1), 0), 0, None)
    inter_h = np.clip(np.minimum(y.max(axis=1), hb) - np.maximum(y.min(axis=1), 0), 0, None)
    smaller = np.minimum(area, wb * hb)
    # area <= 0: a folded or mirrored outline, which no camera motion gives.
    ok = valid & (area > 0) & (smaller > 0)
    with np.errstate(all="ignore"):
        ratio = np.where(ok, inter_w * inter_h / np.where(ok, smaller, 1.0), 0.0)
    return np.clip(ratio, 0.0, 1.0)


def _neighbour_pairs(middle: np.ndarray, batch: int):
    """``(x, y)`` index arrays of every two entries ``x < y`` with the same ``middle``
    (sorted), about ``batch`` pairs at a time: whole middles per batch, so the work
    of a survey of millions is held a batch at a time."""
    starts = np.flatnonzero(np.r_[True, middle[1:] != middle[:-1]]) if len(middle) else \
        np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, len(middle)])
    counts = sizes * (sizes - 1) // 2
    first = 0
    while first < len(starts):
        last = first + max(1, int(np.searchsorted(np.cumsum(counts[first:]), batch)))
        group_starts, group_sizes = starts[first:last], sizes[first:last]
        x_parts, y_parts = [], []
        for size in np.unique(group_sizes[group_sizes > 1]).tolist():
            # Every middle of this many neighbours at once: its upper triangle, offset.
            a, b = np.triu_indices(size, 1)
            base = group_starts[group_sizes == size][:, None]
            x_parts.append((base + a).ravel())
            y_parts.append((base + b).ravel())
        if x_parts:
            yield np.concatenate(x_parts), np.concatenate(y_parts)
        first = last


def implied_pairs(i: np.ndarray, j: np.ndarray, homography: np.ndarray, status: np.ndarray,
                  sizes: np.ndarray, min_predicted: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs not yet verified whose composed homography predicts enough overlap.

    Parameters
    ----------
    i, j : ndarray
        ``(P,)`` verified pairs (positions, ``i < j``); every pair given counts as known.
    homography : ndarray
        ``(P, 3, 3)`` maps from image ``i``'s pixels to image ``j``'s (NaN: none).
    status : ndarray
        ``(P,)`` verification statuses; only ``"ok"`` pairs are composed.
    sizes : ndarray
        ``(N, 2)`` image widths and heights in the homographies' pixels.
    min_predicted : float
        Smallest predicted overlap (:func:`predicted_overlaps`, either direction) that
        makes a pair, in ``[0, 1]``.

    Returns
    -------
    i, j : ndarray
        ``int64`` new pairs, ``i < j``, sorted; none of them among the given pairs.
    """
    min_predicted = check_number(min_predicted, "min_predicted", 0.0, 1.0)
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.float64)
    # Directed maps, both ways of every usable pair: row[(a, b)] maps a's pixels to b's.
    usable = np.flatnonzero((np.asarray(status) == "ok") & (i != j))
    forward_maps = normalize_homographies(np.asarray(homography)[usable])
    backward_maps = invert_homographies(forward_maps)
    good = np.isfinite(forward_maps).all(axis=(1, 2)) & np.isfinite(backward_maps).all(axis=(1, 2))
    usable, forward_maps, backward_maps = usable[good], forward_maps[good], backward_maps[good]
    stack = np.empty((2 * len(usable), 3, 3))
    stack[0::2], stack[1::2] = forward_maps, backward_maps
    # Directed edges (middle -> neighbour) grouped by middle; edge e maps the middle's
    # pixels to the neighbour's through stack[e], and e ^ 1 is its way back.
    middle = np.stack([i[usable], j[usable]], axis=1).ravel()
    neighbour = np.stack([j[usable], i[usable]], axis=1).ravel()
    order = np.lexsort((neighbour, middle))
    middle, neighbour, edge = middle[order], neighbour[order], order
    known = np.unique(pair_keys(np.minimum(i, j), np.maximum(i, j)))
    found = [np.zeros((0, 2), np.int64)]
    for x, y in _neighbour_pairs(middle, _TRIPLE_BATCH):
        lo, hi = np.minimum(neighbour[x], neighbour[y]), np.maximum(neighbour[x], neighbour[y])
        new = ~sorted_contains(known, pair_keys(lo, hi))
        x, y, lo, hi = x[new], y[new], lo[new], hi[new]
        # The edges from the middle to lo and to hi, whichever of x and y holds lo.
        to_lo = np.where(neighbour[x] == lo, edge[x], edge[y])
        to_hi = np.where(neighbour[x] == lo, edge[y], edge[x])
        to_mid, from_mid = to_lo ^ 1, to_hi
        # H_lo->hi = H_mid->hi @ H_lo->mid, and its inverse from the stored inverses.
        forward = predicted_overlaps(stack[from_mid] @ stack[to_mid], sizes[lo], sizes[hi])
        backward = predicted_overlaps(stack[to_mid ^ 1] @ stack[from_mid ^ 1], sizes[hi],
                                      sizes[lo])
        keep = np.maximum(forward, backward) >= min_predicted
        found.append(np.unique(np.stack([lo[keep], hi[keep]], axis=1), axis=0))
    pairs = np.unique(np.concatenate(found), axis=0).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]
