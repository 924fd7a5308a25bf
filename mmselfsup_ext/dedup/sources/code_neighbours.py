"""Code candidates (``--candidates codes``): pairs near in Hamming space.

Per capture group: the pairs within the group threshold plus a margin, each image's
nearest codes, and the pairs the hash search already lists. Radius search and a scan
per isolated image keep it O(N + output), never an N x N matrix.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from ...hashing import pair_distances, radius_pairs
from ...validation import check_int
from ..pairing import compile_group_regex, group_indices
from ..results import DuplicateSearch
from ..threshold import default_report_radius
from .base import Proposal, as_pairs

__all__ = ["CodeNeighbours", "verification_candidates"]


class CodeNeighbours:
    """Radius and nearest-neighbour pairs of whole-image codes."""

    after_verification: ClassVar[bool] = False

    def propose(self, proposal: Proposal, verified: DuplicateSearch | None = None
                ) -> np.ndarray:
        """:func:`verification_candidates` with the run's margin and ``verify_knn``."""
        options = proposal.options
        margin = (default_report_radius(proposal.bits) if options.verify_margin is None
                  else options.verify_margin)
        return as_pairs(*verification_candidates(proposal.search, proposal.codes, margin,
                                                 options.verify_knn))


def _knn_pairs(codes: np.ndarray, k: int, i: np.ndarray, j: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (x, y) with y among the ``k`` nearest codes of x that ``(i, j)`` lacks.

    An image with at least ``k`` neighbours among the radius pairs ``(i, j)`` has
    its ``k`` nearest among them already; only the others are scanned (O(N) each),
    so the cost stays O(N) per isolated image and never builds an N x N matrix.
    """
    n = codes.shape[0]
    k = min(k, n - 1)
    if k < 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    degree = np.bincount(np.concatenate([i, j]).astype(np.int64), minlength=n)
    everyone = np.arange(n, dtype=np.int64)
    parts_i, parts_j = [], []
    for x in np.flatnonzero(degree < k).tolist():
        d = pair_distances(codes, np.full(n, x, dtype=np.int64), everyone)
        d[x] = np.iinfo(np.int64).max  # an image is not its own neighbour
        nearest = np.argsort(d, kind="stable")[:k]
        parts_i.append(np.full(k, x, dtype=np.int64))
        parts_j.append(nearest.astype(np.int64))
    if not parts_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(parts_i), np.concatenate(parts_j)


def verification_candidates(search: DuplicateSearch, codes: np.ndarray, margin: int,
                            knn: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs worth a geometric check after the hash stage.

    Per capture group of an order-free ``search``: the pairs within
    ``max(0, T + margin)`` bits, each image's ``knn`` nearest codes, and the pairs
    ``search`` already lists.

    Parameters
    ----------
    search : DuplicateSearch
        Order-free hash-stage result for ``codes`` (an ordered search's pairs are
        its candidates: :mod:`.capture_order`).
    codes : ndarray
        ``uint8`` codes the search ran on.
    margin : int
        Bits added to the group threshold.
    knn : int
        Nearest codes per image.

    Returns
    -------
    i, j : ndarray
        ``int64`` unique pairs, ``i < j``, sorted by ``(i, j)``.
    """
    if codes.shape[0] != len(search.paths):
        raise ValueError(f"{codes.shape[0]} codes for {len(search.paths)} searched paths")
    margin = check_int(margin, "margin", minimum=0)
    knn = check_int(knn, "knn", minimum=1)
    regex = compile_group_regex(search.group_by) if search.group_by is not None else None
    parts_i, parts_j = [search.i], [search.j]
    for key, members in group_indices(search.paths, regex).items():
        sub = codes[members]
        li, lj, _ = radius_pairs(sub, max(0, search.thresholds[key] + margin))
        ki, kj = _knn_pairs(sub, knn, li, lj)
        parts_i += [members[li], members[ki]]
        parts_j += [members[lj], members[kj]]
    i = np.concatenate(parts_i).astype(np.int64)
    j = np.concatenate(parts_j).astype(np.int64)
    pairs = np.unique(np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1), axis=0)
    return pairs[:, 0].copy(), pairs[:, 1].copy()
