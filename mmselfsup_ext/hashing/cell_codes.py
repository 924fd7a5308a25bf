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
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["CellGrid", "all_pairs_agreement", "cell_distances", "pack_cell_codes", "shift_agreement", "shift_counts",
           "unpack_cell_codes"]

_TAG = re.compile(r"^([A-Za-z][A-Za-z_-]*?)(\d+)x(\d+)x(\d+)$")
# Images per block of all_pairs_agreement: bounds the (block, C, N, C) match tensor.
_BLOCK_CELL_PAIRS = 20_000_000


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
        """The grid named by a tag of :meth:`tag` (any alphabetic prefix)."""
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


def _shift_one_hot(grid: CellGrid) -> np.ndarray:
    """(C * C, n_shifts) float32: cell pair (i, j) -> the shift ``pos(j) - pos(i)``."""
    rows, cols = np.divmod(np.arange(grid.cells), grid.width)
    dy = rows[None, :] - rows[:, None] + grid.height - 1
    dx = cols[None, :] - cols[:, None] + grid.width - 1
    index = (dy * (2 * grid.width - 1) + dx).reshape(-1)
    one_hot = np.zeros((grid.cells * grid.cells, (2 * grid.height - 1) * (2 * grid.width - 1)), np.float32)
    one_hot[np.arange(index.size), index] = 1.0
    return one_hot


def shift_counts(match: np.ndarray, grid: CellGrid) -> tuple[np.ndarray, np.ndarray]:
    """Matching cell pairs of ``P`` pairs under every shift of the grid, and the cells each shift overlaps.

    Parameters
    ----------
    match : ndarray
        bool ``(P, C, C)``: ``match[p, i, j]`` iff cell ``i`` of the first image and cell
        ``j`` of the second match.
    grid : CellGrid
        Both images' layout.

    Returns
    -------
    votes : ndarray
        ``(P, S)`` int64, ``S = (2h - 1)(2w - 1)`` shifts: cells ``i`` matching cell ``i + s``.
    shared : ndarray
        ``(S,)`` int64: cells shift ``s`` overlaps, ``(h - |dy|) (w - |dx|)``.

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
    votes = match.reshape(len(match), grid.cells * grid.cells).astype(np.float32) @ _shift_one_hot(grid)
    shift = _shift_of(np.arange(votes.shape[1]), grid)
    shared = (grid.height - np.abs(shift[:, 0])) * (grid.width - np.abs(shift[:, 1]))
    return np.rint(votes).astype(np.int64), shared.astype(np.int64)


def _shift_of(index: np.ndarray, grid: CellGrid) -> np.ndarray:
    """(P, 2) ``(dy, dx)`` of shift indices (the columns of :func:`_shift_one_hot`)."""
    dy, dx = np.divmod(index, 2 * grid.width - 1)
    return np.stack([dy - (grid.height - 1), dx - (grid.width - 1)], axis=1)


def shift_agreement(match: np.ndarray, grid: CellGrid, min_share: float = 0.5
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best agreement of ``P`` pairs over the shifts that overlap ``>= min_share`` of the grid.

    Parameters
    ----------
    match : ndarray
        bool ``(P, C, C)`` cell match matrices, as for :func:`shift_counts`.
    grid : CellGrid
        Both images' layout.
    min_share : float
        Shifts overlapping fewer than ``min_share * cells`` cells are not considered
        (in (0, 1]; 0.5: the pair could not be a duplicate under them).

    Returns
    -------
    agreement : ndarray
        ``(P,)`` float: the largest ``votes(s) / shared(s)`` (module docstring).
    shift : ndarray
        ``(P, 2)`` int ``(dy, dx)`` of that shift (the first of equal ones).
    shared : ndarray
        ``(P,)`` int: cells that shift overlaps (``shared / cells`` is the overlap it implies).

    Examples
    --------
    >>> grid = CellGrid(1, 4, 8)
    >>> match = np.zeros((1, 4, 4), bool)
    >>> match[0, [1, 2, 3], [0, 1, 2]] = True  # b = a shifted left by one cell
    >>> agreement, shift, shared = shift_agreement(match, grid, 0.5)
    >>> agreement.tolist(), shift.tolist(), shared.tolist()
    ([1.0], [[0, -1]], [3])
    """
    if not 0.0 < min_share <= 1.0:
        raise ValueError(f"min_share must be in (0, 1], got {min_share!r}")
    votes, shared = shift_counts(match, grid)
    eligible = shared >= min_share * grid.cells - 1e-9
    share = np.where(eligible, votes / shared, -1.0)
    best = share.argmax(axis=1)
    return share.max(axis=1), _shift_of(best, grid), shared[best].astype(np.int64)


def all_pairs_agreement(cells: np.ndarray, radius: int, grid: CellGrid, min_share: float = 0.5) -> np.ndarray:
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
    """
    n = len(np.asarray(cells))
    agreement = np.zeros((n, n), np.float64)
    for start, stop, match in _match_blocks(cells, radius):
        agreement[start:stop] = shift_agreement(_pair_major(match), grid, min_share)[0].reshape(stop - start, n)
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
