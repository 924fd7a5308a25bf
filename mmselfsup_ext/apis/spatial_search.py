"""Spatial codes in the deduplication search: candidates by cell votes, overlap by votes.

Cell codes play the part keypoint descriptors play in ``dedup.retrieval``: the same
faiss :class:`~mmselfsup_ext.dedup.retrieval.DescriptorIndex` proposes pairs, and the same
per-image cap (:func:`~mmselfsup_ext.dedup.retrieval.select_candidates`) keeps each image's
strongest. Pairs are scored by *aligned* votes (:func:`mmselfsup_ext.hashing.aligned_votes`:
the most cells that match under one shift of the grid), and votes over the cells per image
estimate the overlap of a pair (:func:`mmselfsup_ext.hashing.vote_overlap`).
"""
from __future__ import annotations

import numpy as np

from mmselfsup_ext.dedup.retrieval import DescriptorIndex, RetrievalSettings, select_candidates
from mmselfsup_ext.hashing import CellGrid, cell_votes, unpack_cell_codes

__all__ = ["spatial_candidates", "spatial_overlaps"]


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


def spatial_overlaps(rows: np.ndarray, grid: CellGrid, i: np.ndarray, j: np.ndarray, radius: int) -> np.ndarray:
    """Vote-based overlap estimates (aligned votes / cells, in [0, 1]) of the pairs ``(i, j)``."""
    cells = unpack_cell_codes(rows, grid)
    i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
    votes = [cell_votes(cells[a], cells[b], radius, grid) for a, b in zip(i.tolist(), j.tolist())]
    return np.asarray(votes, np.float64) / grid.cells
