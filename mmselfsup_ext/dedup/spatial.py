"""Spatial codes in the deduplication search: candidates and duplicates by cell agreement.

A spatial hash model gives every cell of an ``h x w`` grid its own code
(:mod:`mmselfsup_ext.hashing.cell_codes`). Two shots of the same surface show it under one
shift of the grid, and under that shift most of the cells they share carry matching codes
(Hamming distance ``<= radius``). A pair's best alignment ``s*`` is the one with the
smallest share of disagreeing cells among those whose footprint overlap is at least
``min_overlap`` (``hashing.best_alignment``; a rule with ``scales`` also tries the grid at
those relative scales: shots flown at different stand-offs). Whole-cell steps place ``s*``
up to half a cell off, so its overlap is refined below a cell from the agreement of its
neighbours, and the *distance* of a pair is::

    distance = ceil(100 (shared(s*) - votes(s*)) / shared(s*))   if refined overlap(s*) >= min_overlap
               100                                                otherwise

A pair is a duplicate iff ``distance <= T``, the model's calibrated threshold
(:class:`SpatialVoteRule`, kept in its config as ``spatial_vote_rule``). Equivalently, its
*overlap estimate* (:func:`spatial_overlaps`: the refined overlap of ``s*`` when its cells
agree to ``>= 100 - T`` percent, else 0) reaches ``min_overlap``. The agreement test is on
integers, so the two statements agree exactly.

Candidates come from the same faiss :class:`~.retrieval.DescriptorIndex` as keypoint
retrieval (cell codes play the descriptors), each image keeping its
:data:`CANDIDATES_PER_IMAGE` best partners by distance.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..hashing import (CellGrid, best_alignment, cell_distances, check_scales, fewest_shared_cells, shift_counts,
                       unpack_cell_codes)
from ..validation import check_int, check_number
from .options import DedupOptions, resolve_options
from .pairing import candidate_pairs, compile_group_regex, group_indices
from .results import DuplicateSearch
from .retrieval import DescriptorIndex, RetrievalSettings, select_candidates

__all__ = ["CANDIDATES_PER_IMAGE", "HISTOGRAM_SOURCE", "MAX_DISTANCE", "SpatialCodes", "SpatialVoteRule", "spatial_candidates", "spatial_codes",
           "search_cells", "spatial_distances", "spatial_overlaps", "spatial_search"]

#: Partners each image keeps under ``pairing="all"`` (a pair stays if either image keeps it).
CANDIDATES_PER_IMAGE = 10
#: Distances are percentages of disagreeing cells: 0 .. 100.
MAX_DISTANCE = 100
#: ``histogram_source`` of a spatial search (its distances are not Hamming distances).
HISTOGRAM_SOURCE = "cell_disagreement"
# Pairs scored per block: bounds the (block, C, C) match matrices.
_PAIR_BLOCK = 2048


@dataclass(frozen=True)
class SpatialVoteRule:
    """When two images' cell codes make them duplicates (module docstring).

    Parameters
    ----------
    radius : int
        Two cell codes match within this Hamming distance.
    threshold : int
        ``T``: a pair is a duplicate iff at most ``T`` percent of the cells it shares under
        its best shift disagree (0 to 100).
    scales : sequence of float
        Relative scales in (1, 2] tried in both directions besides the pure shifts; ()
        (the default): shifts only.

    Examples
    --------
    >>> SpatialVoteRule(radius=14, threshold=74).min_agreement
    0.26
    >>> SpatialVoteRule(14, 74, scales=[1.2, 1.1]).scales
    (1.1, 1.2)
    """

    radius: int
    threshold: int
    scales: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        check_int(self.radius, "radius", minimum=0)
        if check_int(self.threshold, "threshold", minimum=0) > MAX_DISTANCE:
            raise ValueError(f"threshold is a percentage (0 to {MAX_DISTANCE}), got {self.threshold}")
        # Configs give lists; the rule stays hashable and compares equal either way.
        object.__setattr__(self, "scales", check_scales(self.scales))

    @property
    def min_agreement(self) -> float:
        """Share of shared cells that must match: ``1 - T / 100``."""
        return round(1.0 - self.threshold / MAX_DISTANCE, 6)


@dataclass(frozen=True)
class SpatialCodes:
    """What the pipeline needs to search an encoder's spatial codes.

    An encoder whose codes are cell codes offers one as its ``spatial`` attribute
    (``mmselfsup_ext.apis.SpatialHashEncoder`` does); :func:`spatial_search` then replaces
    the Hamming-distance search for its tag.
    """

    grid: CellGrid
    rule: SpatialVoteRule


def spatial_codes(encoder: object) -> SpatialCodes | None:
    """The encoder's :class:`SpatialCodes`, or None for whole-image codes."""
    found = getattr(encoder, "spatial", None)
    if found is not None and not isinstance(found, SpatialCodes):
        raise ValueError(f"encoder.spatial must be a SpatialCodes, got {type(found).__name__}")
    return found


def _pair_counts(cells: np.ndarray, i: np.ndarray, j: np.ndarray, radius: int, grid: CellGrid,
                 scales: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Votes ``(P, S)`` under every alignment of the pairs ``(i, j)``, and cells per alignment ``(S,)``."""
    parts = []
    for start in range(0, len(i), _PAIR_BLOCK):
        rows = zip(i[start:start + _PAIR_BLOCK].tolist(), j[start:start + _PAIR_BLOCK].tolist())
        match = np.stack([cell_distances(cells[a], cells[b]) <= radius for a, b in rows])
        parts.append(shift_counts(match, grid, scales)[0])
    shared = shift_counts(np.zeros((0, grid.cells, grid.cells), bool), grid, scales)[1]
    n_shifts = shared.size
    return (np.concatenate(parts) if parts else np.zeros((0, n_shifts), np.int64)), shared


def _check_pairs(rows: np.ndarray, grid: CellGrid, i: Sequence[int], j: Sequence[int]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cells = unpack_cell_codes(rows, grid)
    i, j = np.asarray(i, np.int64).reshape(-1), np.asarray(j, np.int64).reshape(-1)
    if i.shape != j.shape:
        raise ValueError(f"i and j must have one entry per pair, got {i.size} and {j.size}")
    if i.size and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= len(cells)):
        raise ValueError(f"pair indices must lie in [0, {len(cells)})")
    return cells, i, j


def spatial_distances(rows: np.ndarray, grid: CellGrid, i: Sequence[int], j: Sequence[int],
                      radius: int, min_overlap: float = 0.5, scales: Sequence[float] = ()) -> np.ndarray:
    """Distances of the pairs ``(i, j)``: percent of disagreeing shared cells (module docstring).

    Parameters
    ----------
    rows : ndarray
        ``uint8`` ``(N, grid.row_bytes)`` packed cell codes.
    grid : CellGrid
        Their layout.
    i, j : sequence of int
        Pairs (positions into ``rows``).
    radius : int
        Cell match radius.
    min_overlap : float
        Only alignments whose footprint overlap is at least this count, and the refined
        overlap of the best must reach it too (in (0, 1]).
    scales : sequence of float
        Relative scales tried besides the shifts (:class:`SpatialVoteRule`).

    Returns
    -------
    ndarray
        ``int64`` in 0 .. 100, one per pair.
    """
    check_number(min_overlap, "min_overlap", 0.0, 1.0, low_open=True)
    disagree, wide_enough = _disagreement(rows, grid, i, j, check_int(radius, "radius", minimum=0), min_overlap,
                                          check_scales(scales))
    return np.where(wide_enough, disagree, MAX_DISTANCE)


def _disagreement(rows: np.ndarray, grid: CellGrid, i: Sequence[int], j: Sequence[int], radius: int,
                  min_overlap: float, scales: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Percent of disagreeing cells under the best alignment ``(P,)``, and whether its refined overlap suffices."""
    votes, shared, index, overlap = _best(rows, grid, i, j, radius, min_overlap, scales)
    n, m = shared[index], votes[np.arange(len(index)), index]
    # ceil(100 (n - m) / n) in integers.
    return ((MAX_DISTANCE * (n - m) + n - 1) // n).astype(np.int64), overlap >= min_overlap - 1e-9


def _best(rows: np.ndarray, grid: CellGrid, i: Sequence[int], j: Sequence[int], radius: int, min_overlap: float,
          scales: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Votes ``(P, A)``, shared ``(A,)``, best alignment ``(P,)`` and its refined overlap ``(P,)``."""
    cells, i, j = _check_pairs(rows, grid, i, j)
    votes, shared = _pair_counts(cells, i, j, radius, grid, scales)
    index, _, overlap = best_alignment(votes, grid, min_overlap, scales)
    return votes, shared, index, overlap


def spatial_overlaps(rows: np.ndarray, grid: CellGrid, i: Sequence[int], j: Sequence[int],
                     rule: SpatialVoteRule, min_overlap: float = 0.5) -> np.ndarray:
    """Overlap estimates of the pairs ``(i, j)`` by cell votes, in [0, 1].

    The footprint overlap of the best alignment among those overlapping at least
    ``min_overlap`` (module docstring), refined below a cell, when at most
    ``rule.threshold`` percent of the cells it shares disagree; 0 otherwise. A pair is a
    duplicate under ``min_overlap`` iff its estimate is ``>= min_overlap``.

    Examples
    --------
    >>> grid = CellGrid(1, 4, 8)
    >>> rows = np.array([[1, 2, 3, 4], [2, 3, 4, 9]], np.uint8)  # b = a shifted by one cell
    >>> spatial_overlaps(rows, grid, [0], [1], SpatialVoteRule(radius=0, threshold=0)).tolist()
    [0.75]
    """
    check_number(min_overlap, "min_overlap", 0.0, 1.0, low_open=True)
    votes, shared, index, overlap = _best(rows, grid, i, j, rule.radius, min_overlap, rule.scales)
    n, m = shared[index], votes[np.arange(len(index)), index]
    agrees = MAX_DISTANCE * (n - m) <= rule.threshold * n
    return np.where(agrees, overlap, 0.0)


def spatial_candidates(rows: np.ndarray, grid: CellGrid, rule: SpatialVoteRule, *,
                       per_image: int = CANDIDATES_PER_IMAGE, min_overlap: float = 0.5
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs from cell codes in any file order, each image keeping its closest.

    The faiss index of every cell code proposes the pairs that share matching cells; a
    pair is proposed if at least as many of its cells match anywhere as a duplicate
    needs under one alignment (so no duplicate is lost); the agreement of their best
    alignment ranks the proposals (the distance before the refined overlap is checked,
    so a true pair whose overlap is underestimated stays a candidate for verification).

    Parameters
    ----------
    rows : ndarray
        ``uint8`` ``(N, grid.row_bytes)`` packed cell codes.
    grid : CellGrid
        Their layout.
    rule : SpatialVoteRule
        Match radius and threshold.
    per_image : int
        Partners each image keeps, closest first (a pair stays if either image keeps it).
    min_overlap : float
        As for :func:`spatial_distances`.

    Returns
    -------
    i, j, distance : ndarray
        ``int64``, ``i < j``, sorted by ``(i, j)``; distances as :func:`spatial_distances`.
    """
    check_int(per_image, "per_image", minimum=1)
    check_number(min_overlap, "min_overlap", 0.0, 1.0, low_open=True)
    cells = unpack_cell_codes(rows, grid)
    ids = np.arange(len(cells), dtype=np.int64)
    blocks = list(cells)
    index = DescriptorIndex(grid.bits)
    if not index.grow(ids, blocks):
        index.add(ids, blocks)
    # A duplicate's best alignment shares at least the fewest cells of any alignment that
    # overlaps >= min_overlap, and min_agreement of them vote; every aligned vote is a
    # distinct cell of the first image (under a scaled alignment too) with a match
    # somewhere in the other.
    fewest = fewest_shared_cells(grid, min_overlap, rule.scales)
    needed = max(1, int(np.floor(rule.min_agreement * fewest + 1e-9)))
    query, other, _ = index.surfaced_pairs(ids, blocks, rule.radius, min_count=needed)
    pairs = np.unique(np.sort(np.stack([query, other], axis=1), axis=1), axis=0)
    empty = np.zeros(0, np.int64)
    if not len(pairs):
        return empty, empty, empty
    disagree, wide_enough = _disagreement(rows, grid, pairs[:, 0], pairs[:, 1], rule.radius, min_overlap,
                                          rule.scales)
    # Partners are ranked by agreement alone: a true pair whose refined overlap falls just
    # short stays a candidate (for keypoint verification) instead of dropping to the end.
    # select_candidates keeps the strongest scores: closeness = 101 - disagreement.
    settings = RetrievalSettings(radius=rule.radius, min_votes=1, max_per_image=per_image)
    i, j, _ = select_candidates(pairs[:, 0], pairs[:, 1], MAX_DISTANCE + 1 - disagree, settings)
    # pairs is sorted by (i, j) and holds every selected pair.
    at = np.searchsorted(pairs[:, 0] * len(cells) + pairs[:, 1], i * len(cells) + j)
    return i, j, np.where(wide_enough[at], disagree[at], MAX_DISTANCE)


def spatial_search(codes: np.ndarray, paths: Sequence[str | os.PathLike], spatial: SpatialCodes,
                   options: DedupOptions | None = None, **settings: object) -> DuplicateSearch:
    """Duplicate pairs among spatial codes: the pipeline's search for a spatial tag.

    Parameters
    ----------
    codes : ndarray
        ``uint8`` ``(N, grid.row_bytes)`` packed cell codes, rows in capture order.
    paths : sequence of str or path-like
        One name per row.
    spatial : SpatialCodes
        Layout and the model's rule.
    options : DedupOptions, optional
        Used here: ``pairing`` and ``window`` (``all``: :func:`spatial_candidates` per
        capture group; ordered modes: their candidate pairs), ``group_by``,
        ``threshold`` (an int overrides the rule's ``T``; ``"otsu"``, the default, keeps
        it: the rule was fixed on training surfaces, a survey's histogram has no two
        modes to split) and ``min_overlap``.
    **settings
        Keyword settings of :class:`~.options.DedupOptions`.

    Returns
    -------
    DuplicateSearch
        Distances are percentages (``n_bits`` = 100, the scale of the histogram).
    """
    return search_cells(codes, paths, spatial, resolve_options(options, settings))


def search_cells(codes: np.ndarray, paths: Sequence[str | os.PathLike], spatial: SpatialCodes,
                 options: DedupOptions) -> DuplicateSearch:
    """:func:`spatial_search` with options the caller has resolved (the pipeline)."""
    grid, rule = spatial.grid, spatial.rule
    unpack_cell_codes(codes, grid)  # shape and dtype check
    names = [os.fspath(p) if isinstance(p, os.PathLike) else str(p) for p in paths]
    if len(names) != len(codes):
        raise ValueError(f"{len(names)} paths for {len(codes)} codes")
    fixed = options.threshold != "otsu"
    threshold = int(options.threshold) if fixed else rule.threshold
    if fixed:
        rule = SpatialVoteRule(rule.radius, min(max(threshold, 0), MAX_DISTANCE), rule.scales)
    regex = compile_group_regex(options.group_by) if options.group_by is not None else None
    parts_i, parts_j, parts_d = [], [], []
    populated = {}
    for key, members in group_indices(names, regex).items():
        if not options.ordered:
            li, lj, ld = spatial_candidates(codes[members], grid, rule,
                                            min_overlap=options.min_overlap)
        else:
            li, lj = candidate_pairs(len(members), options.pairing, options.window)
            ld = spatial_distances(codes[members], grid, li, lj, rule.radius, options.min_overlap, rule.scales)
        populated[key] = bool(len(ld))
        parts_i.append(members[li])
        parts_j.append(members[lj])
        parts_d.append(ld)
    i, j, d = (np.concatenate(p).astype(np.int64) for p in (parts_i, parts_j, parts_d))
    order = np.lexsort((j, i))
    i, j, d = i[order], j[order], d[order]
    return DuplicateSearch(
        i=i, j=j, distance=d, duplicate=d <= threshold, threshold=threshold,
        thresholds={key: threshold for key in populated},
        histogram=np.bincount(d, minlength=MAX_DISTANCE + 1), populated=populated,
        paths=names, n_bits=MAX_DISTANCE, pairing=options.pairing,
        window=options.capture_window,
        group_by=options.group_by, threshold_mode="fixed" if fixed else "model",
        histogram_source=HISTOGRAM_SOURCE, report_radius=None)
