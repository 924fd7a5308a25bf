"""Fixed-width rows of bytes kept in a file instead of memory.

A run of 100,000 images holds 4 GB of keypoint feature rows (40 KB each) from
extraction to verification, yet reads only a few rows at a time.
:class:`DiskRows` keeps them in an anonymous temporary file and reads them back with
``pread``: the operating system's page cache serves repeated reads, and that cache
is not the process's memory (it is neither in its resident set nor kept when memory
is short). Why not ``numpy.memmap``: every page of a mapping the process touches
counts in its resident set until the kernel reclaims it, so the peak would be the
same 4 GB.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["DiskRows"]

# Bytes per block when every row is read in order (250 feature rows of 40 KB).
_BLOCK_BYTES = 10 << 20


class _File:
    """The open descriptor of an unlinked file, closed with the last view that uses it."""

    def __init__(self, folder: Path, size: int) -> None:
        fd, path = tempfile.mkstemp(prefix=".rows-", suffix=".tmp", dir=folder)
        # Unlinked at once: the space returns to the disk when the run ends, however it ends.
        os.unlink(path)
        try:
            if size:
                # Reserved now, so a full disk is an error here and never halfway through.
                os.posix_fallocate(fd, 0, size)
        except OSError:
            os.close(fd)
            raise
        self.fd = fd

    def __del__(self) -> None:
        os.close(self.fd)


class DiskRows:
    """``n_rows`` rows of ``row_bytes`` ``uint8`` in a temporary file.

    Supports what the pipeline does with a 2-D ``uint8`` array of rows: ``len``,
    ``ndim``, ``shape``, iteration in order, ``rows[k]`` (one row, a fresh array),
    ``rows[k] = row``, ``rows[indices]`` (a stacked copy) and :meth:`view`.

    Parameters
    ----------
    n_rows, row_bytes : int
        Shape of the table.
    folder : path-like
        Where the file is made (it has no name there: it is unlinked at once).

    Raises
    ------
    OSError
        When the file cannot be made or ``n_rows * row_bytes`` bytes cannot be
        reserved on its disk.

    Examples
    --------
    >>> rows = DiskRows(3, 4, tempfile.gettempdir())
    >>> rows[1] = np.arange(4, dtype=np.uint8)
    >>> rows[1], rows.shape
    (array([0, 1, 2, 3], dtype=uint8), (3, 4))
    """

    def __init__(self, n_rows: int, row_bytes: int, folder: str | os.PathLike) -> None:
        if n_rows < 0 or row_bytes < 1:
            raise ValueError(f"need n_rows >= 0 and row_bytes >= 1, got {n_rows}, {row_bytes}")
        self.row_bytes = int(row_bytes)
        self._file = _File(Path(folder), int(n_rows) * self.row_bytes)
        self._rows = np.arange(int(n_rows), dtype=np.int64)

    ndim = 2

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, row_bytes)``, as an array's."""
        return len(self._rows), self.row_bytes

    def __len__(self) -> int:
        return len(self._rows)

    def _offset(self, k: int) -> int:
        return int(self._rows[k]) * self.row_bytes

    def __getitem__(self, key: int | np.ndarray) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            data = os.pread(self._file.fd, self.row_bytes, self._offset(int(key)))
            return np.frombuffer(bytearray(data), np.uint8)
        positions = np.asarray(key)
        if positions.dtype.kind not in "iu" or positions.ndim != 1:
            raise TypeError(f"DiskRows takes an int or a 1-D integer array, got {key!r}")
        rows = self._rows[positions]
        if len(rows) > 1 and np.all(np.diff(rows) == 1):
            # Consecutive rows (in-order blocks): one read.
            data = os.pread(self._file.fd, len(rows) * self.row_bytes, self._offset(positions[0]))
            return np.frombuffer(bytearray(data), np.uint8).reshape(len(rows), self.row_bytes)
        out = np.empty((len(rows), self.row_bytes), np.uint8)
        for n, k in enumerate(positions.tolist()):
            out[n] = self[k]
        return out

    def __setitem__(self, k: int, row: np.ndarray) -> None:
        data = np.ascontiguousarray(row, dtype=np.uint8)
        if data.size != self.row_bytes:
            raise ValueError(f"a row holds {self.row_bytes} bytes, got {data.size}")
        os.pwrite(self._file.fd, data.tobytes(), self._offset(int(k)))

    def __iter__(self) -> Iterator[np.ndarray]:
        for block in self.blocks():
            yield from block

    def blocks(self) -> Iterator[np.ndarray]:
        """The rows in order as ``(m, row_bytes)`` arrays of about 10 MB."""
        step = max(1, _BLOCK_BYTES // self.row_bytes)
        for start in range(0, len(self), step):
            yield self[np.arange(start, min(start + step, len(self)))]

    def prefix(self, n_bytes: int) -> np.ndarray:
        """``(rows, n_bytes)``: the first bytes of every row (as ``array[:, :n_bytes]``)."""
        out = np.empty((len(self), n_bytes), np.uint8)
        for n, k in enumerate(self._rows.tolist()):
            out[n] = np.frombuffer(os.pread(self._file.fd, n_bytes, k * self.row_bytes), np.uint8)
        return out

    def view(self, positions: np.ndarray) -> DiskRows:
        """The rows at ``positions`` (in that order), sharing this file: no copy."""
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions) and (positions.min() < 0 or positions.max() >= len(self)):
            raise IndexError(f"row positions must lie in [0, {len(self)})")
        made = object.__new__(DiskRows)
        made.row_bytes, made._file, made._rows = self.row_bytes, self._file, self._rows[positions]
        return made
