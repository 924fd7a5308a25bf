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
"""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = ["CellGrid", "all_pairs_agreement", "cell_distances", "check_scales", "pack_cell_codes", "shift_agreement",
           "shift_counts", "unpack_cell_codes"]

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


@functools.lru_cache(maxsize=16)
def _alignments(grid: CellGrid, scales: tuple[float, ...]) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """One-hot ``(C * C, A)`` cell pair -> alignment, shared cells ``(A,)``, ``(A, 3)`` ``(r, dy, dx)``."""
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
    return one_hot, np.array(shared, np.int64), np.array(kept, np.float64)


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
    one_hot, shared, _ = _alignments(grid, check_scales(scales))
    # Match matrices are sparse (a few percent of cell pairs), and so is the one-hot table.
    votes = sparse.csr_matrix(match.reshape(len(match), grid.cells * grid.cells), dtype=np.float32) @ one_hot
    return np.rint(votes.toarray()).astype(np.int64), shared.copy()


def shift_agreement(match: np.ndarray, grid: CellGrid, min_share: float = 0.5, scales: Sequence[float] = ()
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best agreement of ``P`` pairs over the alignments that share ``>= min_share`` of the grid.

    Parameters
    ----------
    match : ndarray
        bool ``(P, C, C)`` cell match matrices, as for :func:`shift_counts`.
    grid : CellGrid
        Both images' layout.
    min_share : float
        Alignments sharing fewer than ``min_share * cells`` cells are not considered
        (in (0, 1]; 0.5: the pair could not be a duplicate under them).
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
        ``(P,)`` int: cells that alignment shares (``shared / cells`` is the overlap it implies).

    Examples
    --------
    >>> grid = CellGrid(1, 4, 8)
    >>> match = np.zeros((1, 4, 4), bool)
    >>> match[0, [1, 2, 3], [0, 1, 2]] = True  # b = a shifted left by one cell
    >>> agreement, alignment, shared = shift_agreement(match, grid, 0.5)
    >>> agreement.tolist(), alignment.tolist(), shared.tolist()
    ([1.0], [[1.0, 0.0, -1.0]], [3])
    """
    if not 0.0 < min_share <= 1.0:
        raise ValueError(f"min_share must be in (0, 1], got {min_share!r}")
    votes, shared = shift_counts(match, grid, scales)
    eligible = shared >= min_share * grid.cells - 1e-9
    share = np.where(eligible, votes / shared, -1.0)
    best = share.argmax(axis=1)
    specs = _alignments(grid, check_scales(scales))[2]
    return share.max(axis=1), specs[best], shared[best].astype(np.int64)


def all_pairs_agreement(cells: np.ndarray, radius: int, grid: CellGrid, min_share: float = 0.5,
                        scales: Sequence[float] = ()) -> np.ndarray:
    """:func:`shift_agreement` of every pair of images, an ``(N, N)`` float matrix (diagonal 0).

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
    """
    n = len(np.asarray(cells))
    agreement = np.zeros((n, n), np.float64)
    for start, stop, match in _match_blocks(cells, radius):
        best = shift_agreement(_pair_major(match), grid, min_share, scales)[0]
        agreement[start:stop] = best.reshape(stop - start, n)
    np.fill_diagonal(agreement, 0.0)
    return agreement


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
