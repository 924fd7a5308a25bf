"""Blocked numpy Hamming search: the reference the compiled kernels are tested against.

Rows are processed in blocks so memory stays O(block * N + output), never N x N.
"""
from __future__ import annotations

import numpy as np

# Elements of one (block, N) distance tile; ~32 MB of int64 at this size.
_TILE_ELEMENTS = 1 << 22


def as_words(codes: np.ndarray) -> np.ndarray:
    """View packed codes as zero-padded native uint64 words, shape (N, ceil(nbytes/8)).

    Popcount of a XOR is independent of byte order, so native words are fine.
    """
    n, nbytes = codes.shape
    n_words = -(-nbytes // 8)
    padded = np.zeros((n, n_words * 8), dtype=np.uint8)
    padded[:, :nbytes] = codes
    return padded.view(np.uint64)


def _block_rows(n: int) -> int:
    return max(1, min(n, _TILE_ELEMENTS // max(n, 1)))


def _tile(words: np.ndarray, i0: int, i1: int, j0: int) -> np.ndarray:
    """Distances between rows i0:i1 and rows j0:, shape (i1 - i0, N - j0)."""
    x = words[i0:i1, None, :] ^ words[None, j0:, :]
    return np.bitwise_count(x).sum(axis=2, dtype=np.int64)


def distance_histogram(words: np.ndarray, n_bits: int) -> np.ndarray:
    n = words.shape[0]
    hist = np.zeros(n_bits + 1, dtype=np.int64)
    step = _block_rows(n)
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        d = _tile(words, i0, i1, i0)
        upper = np.triu(np.ones(d.shape, dtype=bool), k=1)
        hist += np.bincount(d[upper], minlength=n_bits + 1)
    return hist


def radius_pairs(words: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = words.shape[0]
    found_i, found_j, found_d = [], [], []
    step = _block_rows(n)
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        d = _tile(words, i0, i1, i0)
        hit = (d <= radius) & np.triu(np.ones(d.shape, dtype=bool), k=1)
        rows, cols = np.nonzero(hit)  # row-major order, so (i, j) sorted
        found_i.append(rows + i0)
        found_j.append(cols + i0)
        found_d.append(d[rows, cols])
    if not found_i:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    return (
        np.concatenate(found_i).astype(np.int64),
        np.concatenate(found_j).astype(np.int64),
        np.concatenate(found_d).astype(np.int64),
    )


def knn_distances(words: np.ndarray, k: int, n_bits: int) -> np.ndarray:
    n = words.shape[0]
    out = np.empty((n, k), dtype=np.int64)
    step = _block_rows(n)
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        d = _tile(words, i0, i1, 0)
        # Exclude self-matches by making them farther than any real distance.
        d[np.arange(i1 - i0), np.arange(i0, i1)] = n_bits + 1
        part = np.partition(d, k - 1, axis=1)[:, :k]
        out[i0:i1] = np.sort(part, axis=1)
    return out


def pair_distances(words: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    return np.bitwise_count(words[i] ^ words[j]).sum(axis=1, dtype=np.int64)
