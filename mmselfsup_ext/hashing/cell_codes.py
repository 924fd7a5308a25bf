"""Spatial codes: one binary code per cell of an image grid, packed into one row per image.

A spatial hash model (``SwinFpnSpatialHash``) gives every cell of an ``h x w`` grid its own
``K``-bit code. The pipeline stores one ``uint8`` row per image (its cache, sharding and
``codes.csv`` stay unchanged), so the cells are packed row-major, each cell's ``K`` bits
most-significant first: row = cell (0, 0), cell (0, 1), ..., cell (h - 1, w - 1).
:func:`unpack_cell_codes` turns rows back into per-image local binary codes, which can go
into ``dedup.retrieval.DescriptorIndex`` like keypoint descriptors.

Two shots share cell codes in proportion to the surface they share, under one integer
shift ``s`` of the grid. :func:`shift_counts` gives, for every shift, the *votes* (cells
``i`` of ``a`` whose code matches that of cell ``i + s`` of ``b``: Hamming distance within
``radius``) and the cells the shift overlaps, ``shared(s) = (h - |dy|) (w - |dx|)``.
*Agreement* (:func:`shift_agreement`) judges a shift by the share of the cells it overlaps
that match, ``votes(s) / shared(s)``, over the shifts that overlap at least a given share
of the grid. Unlike votes over all cells, it does not grow with the overlap a shift
implies: a 50 % shift with most of its cells in agreement beats an unshifted pair of
unrelated images with a third of theirs matching. ``mmselfsup_ext.dedup.spatial`` turns
this into distances, overlap estimates and candidates.

Passes flown at different stand-offs see the surface at different scales (the two passes
of ``evaluation.simulate_survey`` differ by 1.2x), and under a pure shift the cells of such
shots drift apart. Every function here therefore takes ``scales``: relative scales
``r > 1`` that are tried in both directions besides the pure shifts. Under the alignment
``(r, d)`` cell ``i`` of ``a`` (centre ``p_i``, in cells) faces the cell of ``b`` that holds
``r (p_i - c) + c + d`` (``c``: the grid centre; ``d``: the centre's displacement, in steps
of half a cell); it is *shared* if that point lies inside ``b``. For ``r = 1`` and whole
``d`` this is the shift ``d``; the pure shifts always come first, in the order of ``scales=()``.

An alignment implies a footprint overlap (:func:`footprint_overlap`: intersection over the
smaller footprint, as the ground truth measures it). Only alignments that overlap enough
are considered, and the best of them (:func:`best_alignment`) lies on a grid of whole or
half cells, up to half a step from the true displacement: 6 % of overlap near the
duplicate boundary of 0.5, where most errors of the shipped model were. Cell codes come
from receptive fields wider than a cell, so the agreement falls off smoothly either side
of the true displacement; the vertex of the parabola through the agreement one step
either side refines it, and the overlap with it.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import sparse

__all__ = ["CellGrid", "all_pairs_agreement", "best_alignment", "cell_distances", "check_scales", "fewest_shared_cells",
           "footprint_overlap", "pack_cell_codes", "shift_agreement", "shift_counts", "unpack_cell_codes"]

_TAG = re.compile(r"^([A-Za-z][\w.-]*?)(\d+)x(\d+)x(\d+)$")
# Images per block of all_pairs_agreement: bounds the (block, C, N, C) match tensor.
_BLOCK_CELL_PAIRS = 20_000_000
# Largest relative scale an alignment may try (a shot 2x closer than another).
_MAX_SCALE = 2.0


@dataclass(frozen=True)
class CellGrid:
    """Layout of a spatial code: ``height x width`` cells of ``bits`` bits each.

    Parameters
    ----------
    height, width : int
        Cells per column and per row (>= 1).
    bits : int
        Bits per cell, a positive multiple of 8 (so every cell starts on a byte).

    Examples
    --------
    >>> grid = CellGrid(8, 8, 64)
    >>> grid.tag(), grid.row_bytes
    ('spatialhash64x8x8', 512)
    >>> CellGrid.from_tag("spatialhash64x8x8") == grid
    True
    """

    height: int
    width: int
    bits: int

    def __post_init__(self) -> None:
        if min(self.height, self.width) < 1:
            raise ValueError(f"a cell grid needs at least one cell, got {self.height} x {self.width}")
        if self.bits < 8 or self.bits % 8:
            raise ValueError(f"bits per cell must be a positive multiple of 8, got {self.bits}")

    @property
    def cells(self) -> int:
        """Cells per image."""
        return self.height * self.width

    @property
    def cell_bytes(self) -> int:
        """Bytes per cell code."""
        return self.bits // 8

    @property
    def row_bytes(self) -> int:
        """Bytes per image row."""
        return self.cells * self.cell_bytes

    @property
    def total_bits(self) -> int:
        """Bits per image row (the pipeline's ``tags`` value)."""
        return self.cells * self.bits

    def tag(self, prefix: str = "spatialhash") -> str:
        """Output tag ``<prefix><bits>x<height>x<width>``."""
        return f"{prefix}{self.bits}x{self.height}x{self.width}"

    @classmethod
    def from_tag(cls, tag: str) -> CellGrid:
        """The grid named by a tag of :meth:`tag`.

        The prefix starts with a letter and may hold digits (``spatial-72e64x8x8``): the
        shortest one that leaves ``<bits>x<height>x<width>``.
        """
        match = _TAG.match(tag)
        if match is None:
            raise ValueError(f"not a spatial code tag (<prefix><bits>x<height>x<width>): {tag!r}")
        bits, height, width = (int(g) for g in match.groups()[1:])
        return cls(height, width, bits)


def pack_cell_codes(bits: np.ndarray) -> np.ndarray:
    """Pack boolean cell codes ``(N, h, w, K)`` into rows ``(N, h * w * K / 8)``.

    Examples
    --------
    >>> bits = np.zeros((1, 1, 2, 8), bool); bits[0, 0, 1, 0] = True
    >>> pack_cell_codes(bits).tolist()
    [[0, 128]]
    """
    bits = np.asarray(bits)
    if bits.ndim != 4 or bits.shape[3] % 8 or bits.shape[3] == 0:
        raise ValueError(f"expected cell bits (N, h, w, K) with K a multiple of 8, got shape {bits.shape}")
    packed = np.packbits(bits.astype(bool), axis=3)
    return np.ascontiguousarray(packed.reshape(bits.shape[0], -1))


def unpack_cell_codes(rows: np.ndarray, grid: CellGrid) -> np.ndarray:
    """Rows of :func:`pack_cell_codes` -> ``uint8`` cell codes ``(N, cells, cell_bytes)``.

    ``out[n]`` is image ``n``'s local binary codes in row-major cell order, ready for
    ``DescriptorIndex.add`` (as one image's descriptors) or :func:`cell_distances`.
    """
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.dtype != np.uint8 or rows.shape[1] != grid.row_bytes:
        raise ValueError(f"expected uint8 rows (N, {grid.row_bytes}) for {grid}, got {rows.dtype} {rows.shape}")
    return rows.reshape(rows.shape[0], grid.cells, grid.cell_bytes)


def _signs(cells: np.ndarray) -> np.ndarray:
    """Packed codes (..., nbytes) -> float32 +-1 bits (..., 8 * nbytes)."""
    return np.unpackbits(cells, axis=-1).astype(np.float32) * 2 - 1


def cell_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between the cell codes of two images, ``(Ca, Cb)`` int."""
    a, b = np.asarray(a, np.uint8), np.asarray(b, np.uint8)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected (C, nbytes) codes of one width, got {a.shape} and {b.shape}")
    n_bits = 8 * a.shape[1]
    return np.rint((n_bits - _signs(a) @ _signs(b).T) / 2).astype(np.int64)


def check_scales(scales: Sequence[float]) -> tuple[float, ...]:
    """Relative scales to align besides 1, sorted and unique (module docstring).

    Raises
    ------
    ValueError
        If a scale is not a number in (1, 2].

    Examples
    --------
    >>> check_scales([1.2, 1.1, 1.2])
    (1.1, 1.2)
    """
    if isinstance(scales, (str, bytes)) or not isinstance(scales, Sequence):
        raise ValueError(f"scales must be a sequence of numbers in (1, {_MAX_SCALE:g}], got {scales!r}")
    checked = set()
    for scale in scales:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 1.0 < scale <= _MAX_SCALE:
            raise ValueError(f"scales must be numbers in (1, {_MAX_SCALE:g}], got {scale!r}")
        checked.add(float(scale))
    return tuple(sorted(checked))


class _AlignmentTable(NamedTuple):
    """Every distinct alignment of a grid at some scales (:func:`_alignments`)."""

    one_hot: sparse.csr_matrix   # (C * C, A): cell pair (i, j) -> the alignment under which i faces j
    shared: np.ndarray           # (A,) int64: cells of the first image inside the second
    spec: np.ndarray             # (A, 3) float64: (r, dy, dx)
    overlap: np.ndarray          # (A,) float64: footprint overlap each implies (footprint_overlap)
    neighbours: np.ndarray       # (A, 4) int64: alignment at dy - step, dy + step, dx - step, dx + step; -1: none
    step: np.ndarray             # (A,) float64: spacing of d at that scale (1 cell for shifts, else 1/2)


def footprint_overlap(alignment: np.ndarray, grid: CellGrid) -> np.ndarray:
    """Overlap of two footprints that an alignment implies: intersection / smaller footprint.

    Under ``(r, dy, dx)`` the first image covers ``r h x r w`` cells of the second's grid,
    centred ``(dy, dx)`` from its centre. The overlap is measured as the ground truth's
    (``evaluation.overlap_ratio``), relative to the smaller footprint, and is continuous
    in ``d``, so a displacement refined below a cell (:func:`best_alignment`) refines it.

    Parameters
    ----------
    alignment : ndarray
        ``(..., 3)`` float ``(r, dy, dx)``.
    grid : CellGrid
        Both images' layout.

    Returns
    -------
    ndarray
        ``(...)`` float in [0, 1]; ``(h - |dy|) (w - |dx|) / (h w)`` for a shift.

    Examples
    --------
    >>> footprint_overlap(np.array([[1.0, 0.0, 2.0], [1.25, 0.0, 0.0]]), CellGrid(8, 8, 8)).tolist()
    [0.75, 1.0]
    """
    alignment = np.asarray(alignment, np.float64)
    r, dy, dx = alignment[..., 0], alignment[..., 1], alignment[..., 2]
    lengths = []
    for size, d in ((grid.height, dy), (grid.width, dx)):
        half = size / 2.0
        lengths.append(np.clip(np.minimum(half, r * half + d) - np.maximum(-half, -r * half + d), 0.0, None))
    return np.minimum(1.0, lengths[0] * lengths[1] / (np.minimum(r * r, 1.0) * grid.cells))


@functools.lru_cache(maxsize=16)
def _alignments(grid: CellGrid, scales: tuple[float, ...]) -> _AlignmentTable:
    """The distinct alignments of ``grid`` at ``scales``, shifts first (module docstring)."""
    h, w = grid.height, grid.width
    rows, cols = np.divmod(np.arange(grid.cells), w)
    centre = np.array([h / 2.0, w / 2.0])
    offset = np.stack([rows, cols], axis=1) + 0.5 - centre
    specs = [(1.0, float(dy), float(dx)) for dy in range(1 - h, h) for dx in range(1 - w, w)]
    for scale in scales:
        for r in (scale, 1.0 / scale):
            specs += [(r, dy, dx) for dy in np.arange(1 - h, h - 0.5, 0.5) for dx in np.arange(1 - w, w - 0.5, 0.5)]
    pair_index, column, shared, kept, seen = [], [], [], [], set()
    for r, dy, dx in specs:
        # floor() of a point that lies on a cell border by float error would pick the wrong cell.
        target = np.floor(r * offset + centre + (dy, dx) + 1e-9).astype(np.int64)
        inside = (target[:, 0] >= 0) & (target[:, 0] < h) & (target[:, 1] >= 0) & (target[:, 1] < w)
        faced = np.where(inside, target[:, 0] * w + target[:, 1], -1)
        key = faced.tobytes()
        if not inside.any() or key in seen:
            continue
        seen.add(key)
        source = np.flatnonzero(inside)
        pair_index.append(source * grid.cells + faced[source])
        column.append(np.full(source.size, len(kept)))
        shared.append(source.size)
        kept.append((r, dy, dx))
    one_hot = sparse.csr_matrix((np.ones(sum(shared), np.float32), (np.concatenate(pair_index), np.concatenate(column))),
                                shape=(grid.cells * grid.cells, len(kept)))
    spec = np.array(kept, np.float64)
    step = np.where(spec[:, 0] == 1.0, 1.0, 0.5)
    where = {alignment: k for k, alignment in enumerate(kept)}
    neighbours = np.array([[where.get((r, dy + sy * st, dx + sx * st), -1)
                            for sy, sx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
                           for (r, dy, dx), st in zip(kept, step.tolist())], np.int64).reshape(-1, 4)
    return _AlignmentTable(one_hot, np.array(shared, np.int64), spec, footprint_overlap(spec, grid), neighbours, step)



def shift_counts(match: np.ndarray, grid: CellGrid, scales: Sequence[float] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Matching cells of ``P`` pairs under every alignment of the grid, and the cells each shares.

    Parameters
    ----------
    match : ndarray
        bool ``(P, C, C)``: ``match[p, i, j]`` iff cell ``i`` of the first image and cell
        ``j`` of the second match.
    grid : CellGrid
        Both images' layout.
    scales : sequence of float
        Relative scales tried besides the pure shifts (module docstring); () for shifts only.

    Returns
    -------
    votes : ndarray
        ``(P, A)`` int64: cells ``i`` matching the cell they face under each alignment. With
        ``scales=()`` the ``A = (2h - 1)(2w - 1)`` shifts, row-major in ``(dy, dx)``: cells
        ``i`` matching cell ``i + s``.
    shared : ndarray
        ``(A,)`` int64: cells each alignment shares, ``(h - |dy|) (w - |dx|)`` for a shift.

    Examples
    --------
    >>> grid = CellGrid(1, 3, 8)  # shifts dx = -2 .. 2
    >>> match = np.array([[[0, 1, 0], [0, 0, 1], [1, 0, 0]]], bool)  # b = a shifted by 1 cell
    >>> votes, shared = shift_counts(match, grid)
    >>> votes.tolist(), shared.tolist()
    ([[1, 0, 0, 2, 0]], [1, 2, 3, 2, 1])
    """
    match = np.asarray(match, bool)
    if match.ndim != 3 or match.shape[1:] != (grid.cells, grid.cells):
        raise ValueError(f"expected match matrices (P, {grid.cells}, {grid.cells}), got {match.shape}")
    one_hot, shared = _alignments(grid, check_scales(scales))[:2]
    # Match matrices are sparse (a few percent of cell pairs), and so is the one-hot table.
    votes = sparse.csr_matrix(match.reshape(len(match), grid.cells * grid.cells), dtype=np.float32) @ one_hot
    return np.rint(votes.toarray()).astype(np.int64), shared.copy()


def best_alignment(votes: np.ndarray, grid: CellGrid, min_share: float = 0.5, scales: Sequence[float] = ()
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best alignment of ``P`` pairs from their votes, and the overlap it implies refined below a cell.

    The best alignment has the largest agreement ``votes / shared`` among those whose
    footprint overlap (:func:`footprint_overlap`) is ``>= min_share``. Whole-cell steps
    leave its displacement up to half a step off, which moves a pair's overlap by up to
    6 % near the duplicate boundary; so the displacement is refined along each axis by the
    vertex of the parabola through the agreement one step either side (steps without an
    alignment count as equal to the centre; the correction is clipped to half a step), and
    the overlap is that of the refined alignment.

    Parameters
    ----------
    votes : ndarray
        ``(P, A)`` int votes of :func:`shift_counts` (same ``grid`` and ``scales``).
    grid : CellGrid
        Both images' layout.
    min_share : float
        Smallest footprint overlap of the alignments considered, in (0, 1].
    scales : sequence of float
        As for :func:`shift_counts`.

    Returns
    -------
    index : ndarray
        ``(P,)`` int64: column of ``votes`` of the best alignment (the first of equal ones).
    agreement : ndarray
        ``(P,)`` float: its agreement.
    overlap : ndarray
        ``(P,)`` float: the footprint overlap of the refined alignment.

    Examples
    --------
    A shift by 2.5 cells on a 1 x 8 grid (column ``7 + dx`` holds shift ``dx``): the
    agreement at 2 and at 3 cells ties, and the refined overlap lies between theirs.

    >>> grid = CellGrid(1, 8, 8)
    >>> votes, shared = shift_counts(np.zeros((1, 8, 8), bool), grid)
    >>> votes[0, 7 - 2], votes[0, 7 - 3] = 6, 5        # dx = -2: 6 of 6 agree; dx = -3: 5 of 5
    >>> votes[0, 7 - 1], votes[0, 7 - 4] = 3, 2        # one cell further: half
    >>> index, agreement, overlap = best_alignment(votes, grid)
    >>> int(index[0]) - 7, float(agreement[0]), float(overlap[0])  # 5.5 of 8 cells
    (-3, 1.0, 0.6875)
    """
    if not 0.0 < min_share <= 1.0:
        raise ValueError(f"min_share must be in (0, 1], got {min_share!r}")
    table = _alignments(grid, check_scales(scales))
    votes = np.asarray(votes)
    if votes.ndim != 2 or votes.shape[1] != table.shared.size:
        raise ValueError(f"expected votes (P, {table.shared.size}), got {votes.shape}")
    agreement = votes / table.shared
    eligible = table.overlap >= min_share - 1e-9
    index = np.where(eligible, agreement, -1.0).argmax(axis=1)
    rows = np.arange(len(index))
    centre = agreement[rows, index]
    refined = table.spec[index].copy()
    for axis, (before, after) in enumerate(((0, 1), (2, 3))):
        sides = []
        for column in (before, after):
            neighbour = table.neighbours[index, column]
            sides.append(np.where(neighbour >= 0, agreement[rows, np.maximum(neighbour, 0)], centre))
        curvature = sides[0] - 2.0 * centre + sides[1]
        peaked = curvature < -1e-9
        vertex = 0.5 * (sides[0] - sides[1]) / np.where(peaked, curvature, -1.0)
        refined[:, axis + 1] += np.where(peaked, np.clip(vertex, -0.5, 0.5), 0.0) * table.step[index]
    return index, centre, footprint_overlap(refined, grid)


def fewest_shared_cells(grid: CellGrid, min_share: float = 0.5, scales: Sequence[float] = ()) -> int:
    """Fewest cells any alignment overlapping ``>= min_share`` shares (bounds the votes a duplicate has).

    Examples
    --------
    >>> fewest_shared_cells(CellGrid(8, 8, 8), 0.5)
    32
    """
    if not 0.0 < min_share <= 1.0:
        raise ValueError(f"min_share must be in (0, 1], got {min_share!r}")
    table = _alignments(grid, check_scales(scales))
    return int(table.shared[table.overlap >= min_share - 1e-9].min())


def shift_agreement(match: np.ndarray, grid: CellGrid, min_share: float = 0.5, scales: Sequence[float] = ()
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Best agreement of ``P`` pairs over the alignments that overlap ``>= min_share`` (:func:`best_alignment`).

    Parameters
    ----------
    match : ndarray
        bool ``(P, C, C)`` cell match matrices, as for :func:`shift_counts`.
    grid : CellGrid
        Both images' layout.
    min_share : float
        Alignments whose footprint overlap is below ``min_share`` are not considered
        (in (0, 1]; 0.5: the pair could not be a duplicate under them). For a shift the
        overlap is ``shared / cells``.
    scales : sequence of float
        As for :func:`shift_counts`.

    Returns
    -------
    agreement : ndarray
        ``(P,)`` float: the largest ``votes / shared`` (module docstring).
    alignment : ndarray
        ``(P, 3)`` float ``(r, dy, dx)`` of that alignment (the first of equal ones):
        relative scale and displacement of the grid centre in cells; ``r = 1`` for a shift.
    shared : ndarray
        ``(P,)`` int: cells that alignment shares.
    overlap : ndarray
        ``(P,)`` float: the footprint overlap of that alignment refined below a cell.

    Examples
    --------
    >>> grid = CellGrid(1, 4, 8)
    >>> match = np.zeros((1, 4, 4), bool)
    >>> match[0, [1, 2, 3], [0, 1, 2]] = True  # b = a shifted left by one cell
    >>> agreement, alignment, shared, overlap = shift_agreement(match, grid, 0.5)
    >>> agreement.tolist(), alignment.tolist(), shared.tolist(), overlap.tolist()
    ([1.0], [[1.0, 0.0, -1.0]], [3], [0.75])
    """
    votes, shared = shift_counts(match, grid, scales)
    index, agreement, overlap = best_alignment(votes, grid, min_share, scales)
    spec = _alignments(grid, check_scales(scales)).spec
    return agreement, spec[index], shared[index].astype(np.int64), overlap


def all_pairs_agreement(cells: np.ndarray, radius: int, grid: CellGrid, min_share: float = 0.5,
                        scales: Sequence[float] = ()) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shift_agreement` of every pair of images: agreement and refined overlap, ``(N, N)`` each.

    Under ``dedup.spatial``'s rule a pair is a duplicate iff its agreement is
    ``>= 1 - T / 100`` and its overlap ``>= min_share``; the agreement alone ranks pairs.

    Quadratic in N: an evaluation helper for collections of thousands of images. Large
    collections take candidates from ``dedup.spatial.spatial_candidates``.

    Parameters
    ----------
    cells : ndarray
        ``uint8`` ``(N, C, nbytes)`` from :func:`unpack_cell_codes`.
    radius : int
        A cell matches another within this Hamming distance.
    grid : CellGrid
        The layout.
    min_share : float
        As for :func:`shift_agreement`.
    scales : sequence of float
        As for :func:`shift_counts`.

    Returns
    -------
    agreement, overlap : ndarray
        ``(N, N)`` float each, diagonal 0.
    """
    n = len(np.asarray(cells))
    agreement, overlap = np.zeros((n, n), np.float64), np.zeros((n, n), np.float64)
    for start, stop, match in _match_blocks(cells, radius):
        best, _, _, refined = shift_agreement(_pair_major(match), grid, min_share, scales)
        agreement[start:stop] = best.reshape(stop - start, n)
        overlap[start:stop] = refined.reshape(stop - start, n)
    np.fill_diagonal(agreement, 0.0)
    np.fill_diagonal(overlap, 0.0)
    return agreement, overlap


def _pair_major(match: np.ndarray) -> np.ndarray:
    """(B, C, N, C) block of cell matches -> (B * N, C, C) match matrices, one per pair."""
    b, c, n, _ = match.shape
    return match.transpose(0, 2, 1, 3).reshape(b * n, c, c)


def _match_blocks(cells: np.ndarray, radius: int):
    """Yield ``(start, stop, match)``: bool (stop - start, C, N, C) cell matches of images start:stop."""
    cells = np.asarray(cells, np.uint8)
    if cells.ndim != 3:
        raise ValueError(f"expected cell codes (N, C, nbytes), got shape {cells.shape}")
    n, c, nbytes = cells.shape
    signs = _signs(cells).reshape(n * c, 8 * nbytes)
    # Hamming <= radius  <=>  dot product of the +-1 codes >= bits - 2 * radius.
    need = 8 * nbytes - 2 * radius - 0.5
    block = max(1, _BLOCK_CELL_PAIRS // max(1, c * c * n))
    for start in range(0, n, block):
        stop = min(n, start + block)
        yield start, stop, (signs[start * c:stop * c] @ signs.T >= need).reshape(stop - start, c, n, c)
