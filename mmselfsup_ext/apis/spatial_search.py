"""Spatial codes in the deduplication search: candidates by cell votes, overlap by votes.

Cell codes play the part keypoint descriptors play in ``dedup.retrieval``: the same
faiss :class:`~mmselfsup_ext.dedup.retrieval.DescriptorIndex` proposes pairs, and the same
per-image cap (:func:`~mmselfsup_ext.dedup.retrieval.select_candidates`) keeps each image's
strongest. Pairs are scored by *aligned* votes (:func:`mmselfsup_ext.hashing.aligned_votes`:
the most cells that match under one shift of the grid), and votes over the cells per image
estimate the overlap of a pair: ``(votes / cells) / rho``, where ``rho`` is the share of
cells that vote when two shots show the same surface (:class:`SpatialVoteRule`, fixed per
model on training surfaces and kept in its config as ``spatial_vote_rule``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from mmselfsup_ext.dedup.retrieval import DescriptorIndex, RetrievalSettings, select_candidates
from mmselfsup_ext.hashing import CellGrid, cell_votes, unpack_cell_codes

__all__ = ["SpatialVoteRule", "spatial_candidates", "spatial_overlaps", "vote_rule"]


@dataclass(frozen=True)
class SpatialVoteRule:
    """How cell votes estimate overlap: ``overlap = (aligned votes / cells) / rho``.

    Parameters
    ----------
    radius : int
        Two cell codes match within this Hamming distance.
    rho : float
        Vote share of a full overlap (in (0, 1]): matching is imperfect, so a pair of
        shots of the same surface does not get every cell's vote. A pair is a duplicate
        iff its estimate is ``>= 0.5`` (the overlap criterion of the ground truth), i.e. its
        vote share is ``>= rho / 2``.
    """

    radius: int
    rho: float

    def __post_init__(self) -> None:
        if int(self.radius) != self.radius or self.radius < 0:
            raise ValueError(f"radius must be an int >= 0, got {self.radius!r}")
        if not 0.0 < self.rho <= 1.0:
            raise ValueError(f"rho must be in (0, 1], got {self.rho!r}")

    def overlap(self, share: np.ndarray) -> np.ndarray:
        """Overlap estimates of vote shares (clipped to [0, 1])."""
        return np.clip(np.asarray(share, np.float64) / self.rho, 0.0, 1.0)


def vote_rule(model: nn.Module) -> SpatialVoteRule:
    """The ``spatial_vote_rule`` of a spatial model's config (``init_model`` keeps it as ``cfg``)."""
    cfg = getattr(model, "cfg", None)
    rule = cfg.get("spatial_vote_rule", None) if cfg is not None else None
    if rule is None:
        raise ValueError("the model's config has no spatial_vote_rule = dict(radius=..., rho=...); "
                         "fix one on training surfaces (benchmarks/learned.py prints it)")
    return SpatialVoteRule(int(rule["radius"]), float(rule["rho"]))


def spatial_candidates(rows: np.ndarray, grid: CellGrid, settings: RetrievalSettings
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs from cell codes, each image keeping its strongest by votes.

    Parameters
    ----------
    rows : ndarray
        ``uint8`` ``(N, grid.row_bytes)``: the codes of a :class:`SpatialHashEncoder`.
    grid : CellGrid
        Their layout.
    settings : RetrievalSettings
        ``radius`` (cell match), ``min_votes`` and ``max_per_image`` (candidates per
        image); ``n_descriptors`` is ignored (every cell is indexed).

    Returns
    -------
    i, j, votes : ndarray
        ``int64``, ``i < j``, sorted by ``(i, j)``.
    """
    cells = unpack_cell_codes(rows, grid)
    ids = np.arange(len(cells), dtype=np.int64)
    blocks = list(cells)
    index = DescriptorIndex(grid.bits)
    index.add(ids, blocks)
    index.grow(ids, blocks)
    query, other, count = index.surfaced_pairs(ids, blocks, settings.radius)
    # The index proposes (any matching cells), exact aligned votes decide; an aligned vote
    # is also a plain one, so the proposal threshold loses no pair that could qualify.
    proposed = count >= max(1, settings.min_votes // 2)
    pairs = np.unique(np.sort(np.stack([query[proposed], other[proposed]], axis=1), axis=1), axis=0)
    if not len(pairs):
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    votes = np.array([cell_votes(cells[a], cells[b], settings.radius, grid) for a, b in pairs], np.int64)
    return select_candidates(pairs[:, 0], pairs[:, 1], votes, settings)


def spatial_overlaps(rows: np.ndarray, grid: CellGrid, i: np.ndarray, j: np.ndarray,
                     rule: SpatialVoteRule) -> np.ndarray:
    """Vote-based overlap estimates of the pairs ``(i, j)``, in [0, 1] (duplicate iff >= 0.5).

    Examples
    --------
    >>> rule = SpatialVoteRule(radius=8, rho=0.5)  # half the cells vote at full overlap
    >>> spatial_overlaps(rows, grid, [0], [1], rule)  # doctest: +SKIP
    array([0.75])
    """
    cells = unpack_cell_codes(rows, grid)
    i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
    votes = [cell_votes(cells[a], cells[b], rule.radius, grid) for a, b in zip(i.tolist(), j.tolist())]
    return rule.overlap(np.asarray(votes, np.float64) / grid.cells)
