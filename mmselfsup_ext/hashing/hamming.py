"""Exact Hamming-distance search over packed binary codes.

All functions take codes as a ``uint8`` array of shape ``(N, nbytes)`` (see
:mod:`.codes`); a code has ``8 * nbytes`` bits. None of them builds an N x N matrix:
the compiled kernels (:mod:`.kernels`) use O(N + output) memory and run on
``n_threads`` threads (default: the CPUs this process may use). The blocked numpy
implementation in :mod:`._reference` is the slow reference they are tested against.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from . import _mih, kernels
from ..validation import check_int
from .codes import as_words, check_codes

__all__ = [
    "RADIUS_METHODS",
    "distance_histogram",
    "histogram_and_radius_pairs",
    "knn_distances",
    "pair_distances",
    "radius_pairs",
]

RADIUS_METHODS = ("auto", "brute", "mih")

# Cost model of radius_pairs(method="auto"): CPU seconds on one core of the
# development machine (AMD EPYC Zen 4), measured on 100k random codes at radii 0-16.
# Brute force costs per pair and 64-bit word; multi-index hashing per candidate pair
# (random access + verification, ~20 ns) and per code and substring (key + sort).
_BRUTE_S_PER_PAIR = 0.4e-10
_BRUTE_S_PER_PAIR_WORD = 1.2e-10
_MIH_S_PER_CANDIDATE = 2e-8
_MIH_S_PER_KEY = 1e-7
# Below this many pairs brute force takes milliseconds: not worth building an index.
_AUTO_BRUTE_PAIRS = 2_000_000
# Below this many pairs the thread pool costs more than it saves.
_SERIAL_PAIRS = 1_000_000

_T = TypeVar("_T")


def _threads(n_threads: int | None, work_pairs: float) -> int:
    if n_threads is None:
        n_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1
        )
    n_threads = check_int(n_threads, "n_threads", minimum=1)
    return 1 if work_pairs < _SERIAL_PAIRS else n_threads


def _run(fn: Callable[[int], _T], n_tasks: int, n_threads: int) -> list[_T]:
    """fn(0..n_tasks-1), on n_threads threads (the kernels release the GIL)."""
    if n_threads == 1 or n_tasks == 1:
        return [fn(t) for t in range(n_tasks)]
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        return list(pool.map(fn, range(n_tasks)))


def _words(codes: np.ndarray) -> tuple[np.ndarray, ...]:
    """:func:`~.codes.as_words` in structure-of-arrays layout (one array per word)."""
    words = as_words(codes)
    return tuple(np.ascontiguousarray(words[:, w]) for w in range(words.shape[1]))


def _empty_pairs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.zeros(0, dtype=np.int64) for _ in range(3))


def _scan(
    words: tuple[np.ndarray, ...], n_bits: int, radius: int, want_hist: bool, n_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram (if wanted) and per-row counts of pairs i < j within radius."""
    n = words[0].shape[0]
    row_counts = np.zeros(n, dtype=np.int64)
    # More tasks than threads: a thread slowed by other processes then takes fewer.
    n_tasks = 1 if n_threads == 1 else 4 * n_threads
    hists = _run(
        lambda t: kernels.scan(words, radius, n_bits, want_hist, t, n_tasks, row_counts),
        n_tasks,
        n_threads,
    )
    return np.sum(hists, axis=0), row_counts


def _fill(
    words: tuple[np.ndarray, ...], radius: int, row_counts: np.ndarray, n_threads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Second pass: the pairs of the rows that have any, at offsets from the counts."""
    rows = np.flatnonzero(row_counts).astype(np.int64)
    offsets = np.zeros(rows.size, dtype=np.int64)
    np.cumsum(row_counts[rows][:-1], out=offsets[1:])
    total = int(row_counts.sum())
    out = tuple(np.empty(total, dtype=np.int64) for _ in range(3))
    # Rows are dealt round-robin: row i costs N - i, so this balances the threads.
    # (Contiguous copies: a strided view would compile a second kernel specialisation.)
    n_tasks = max(1, min(n_threads, rows.size))
    task_rows = [np.ascontiguousarray(rows[t::n_tasks]) for t in range(n_tasks)]
    task_offsets = [np.ascontiguousarray(offsets[t::n_tasks]) for t in range(n_tasks)]
    _run(
        lambda t: kernels.fill_pairs(words, radius, task_rows[t], task_offsets[t], *out),
        n_tasks,
        n_threads,
    )
    return out


def distance_histogram(codes: np.ndarray, *, n_threads: int | None = None) -> np.ndarray:
    """Histogram of the Hamming distances of all unordered pairs ``i < j``.

    Parameters
    ----------
    codes : ndarray
        ``uint8`` codes of shape ``(N, nbytes)``.
    n_threads : int, optional
        Threads to use; default all CPUs available to the process.

    Returns
    -------
    ndarray
        ``int64`` counts of length ``8 * nbytes + 1``; entry ``d`` counts the pairs at
        distance ``d``. The counts sum to ``N * (N - 1) / 2``.

    Examples
    --------
    >>> codes = np.array([[0], [1], [3]], dtype=np.uint8)
    >>> distance_histogram(codes)[:3]
    array([0, 2, 1])
    """
    codes = check_codes(codes)
    n, n_bits = codes.shape[0], 8 * codes.shape[1]
    threads = _threads(n_threads, n * (n - 1) / 2)
    hist, _ = _scan(_words(codes), n_bits, -1, True, threads)
    return hist


def histogram_and_radius_pairs(
    codes: np.ndarray, radius: int, *, n_threads: int | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`distance_histogram` and brute-force :func:`radius_pairs` in one scan.

    The pass that builds the histogram also counts each row's pairs within
    ``radius``; a second pass visits only the rows that have any. For ``--pairing
    all`` this is cheaper than the two functions called one after the other.

    Returns
    -------
    hist : ndarray
        As :func:`distance_histogram`.
    pairs : tuple of ndarray
        ``(i, j, d)`` as :func:`radius_pairs`.

    Examples
    --------
    >>> codes = np.array([[0], [1], [3]], dtype=np.uint8)
    >>> hist, (i, j, d) = histogram_and_radius_pairs(codes, 1)
    >>> hist[:3], i, j
    (array([0, 2, 1]), array([0, 1]), array([1, 2]))
    """
    codes = check_codes(codes)
    radius = check_int(radius, "radius")
    n, n_bits = codes.shape[0], 8 * codes.shape[1]
    threads = _threads(n_threads, n * (n - 1) / 2)
    words = _words(codes)
    hist, row_counts = _scan(words, n_bits, radius, True, threads)
    return hist, _fill(words, radius, row_counts, threads)


def _mih_pairs(
    words: tuple[np.ndarray, ...], index: _mih.MihIndex, radius: int, n_threads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tasks = _mih.verify_tasks(index, n_threads)
    if not tasks:
        return _empty_pairs()
    threads = 1 if index.n_candidates < _SERIAL_PAIRS else n_threads
    parts = _run(lambda t: _mih.verify(words, index, tasks[t], radius), len(tasks), threads)
    i, j, d = (np.concatenate([p[k] for p in parts]) for k in range(3))
    order = np.lexsort((j, i))
    return i[order], j[order], d[order]


def _mih_floor_cost(n_pairs: float, n_bits: int, radius: int) -> float:
    """MIH cost if the codes were uniformly random (clustered codes only cost more):
    each of the m substrings of ~bits/m bits then collides for n_pairs / 2**(bits/m)
    pairs. Lets "auto" skip building an index that cannot win."""
    m = _mih.n_substrings(n_bits, radius)
    return m * n_pairs / 2.0 ** (n_bits // m) * _MIH_S_PER_CANDIDATE


def radius_pairs(
    codes: np.ndarray,
    radius: int,
    *,
    method: str = "auto",
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair ``i < j`` whose Hamming distance is at most ``radius``.

    Parameters
    ----------
    codes : ndarray
        ``uint8`` codes of shape ``(N, nbytes)``.
    radius : int
        Largest distance reported. A negative radius (e.g. the ``-1`` that
        :func:`otsu_threshold` returns when nothing is a duplicate) gives no pairs.
    method : {"auto", "brute", "mih"}, default "auto"
        ``"brute"`` scans all N(N-1)/2 pairs. ``"mih"`` is exact multi-index hashing:
        the bits are split into ``radius + 1`` substrings and only pairs that agree
        exactly on one of them are verified (pigeonhole), which is sub-quadratic for
        small radii. ``"auto"`` builds the index, counts its candidate pairs and
        picks the cheaper method by a measured cost model. All give the same pairs.
    n_threads : int, optional
        Threads to use; default all CPUs available to the process.

    Returns
    -------
    i, j, d : ndarray
        ``int64`` arrays of equal length, sorted by ``(i, j)``, with ``i < j`` and
        ``d`` the distance of each pair.

    Examples
    --------
    >>> codes = np.array([[0], [1], [3]], dtype=np.uint8)
    >>> radius_pairs(codes, 1)
    (array([0, 1]), array([1, 2]), array([1, 1]))
    """
    codes = check_codes(codes)
    radius = check_int(radius, "radius")
    if method not in RADIUS_METHODS:
        raise ValueError(f"method must be one of {RADIUS_METHODS}, got {method!r}")
    n, n_bits = codes.shape[0], 8 * codes.shape[1]
    if method == "mih" and radius + 1 > n_bits:
        raise ValueError(
            f"method='mih' needs radius + 1 <= bits ({n_bits}), got radius {radius}"
        )
    if radius < 0 or n < 2:
        return _empty_pairs()
    n_pairs = n * (n - 1) / 2
    words = _words(codes)
    brute_cost = n_pairs * (_BRUTE_S_PER_PAIR + len(words) * _BRUTE_S_PER_PAIR_WORD)
    if method == "mih" or (
        method == "auto"
        and n_pairs > _AUTO_BRUTE_PAIRS
        and radius + 1 <= n_bits
        and _mih_floor_cost(n_pairs, n_bits, radius) < brute_cost
    ):
        index = _mih.build_index(codes, radius)
        mih_cost = (
            index.n_candidates * _MIH_S_PER_CANDIDATE + index.keys.size * _MIH_S_PER_KEY
        )
        if method == "mih" or mih_cost < brute_cost:
            return _mih_pairs(words, index, radius, _threads(n_threads, index.n_candidates))
    threads = _threads(n_threads, n_pairs)
    _, row_counts = _scan(words, n_bits, radius, False, threads)
    return _fill(words, radius, row_counts, threads)


def pair_distances(codes: np.ndarray, i: Sequence[int], j: Sequence[int]) -> np.ndarray:
    """Hamming distances of explicit pairs ``(i[m], j[m])``.

    Parameters
    ----------
    codes : ndarray
        ``uint8`` codes of shape ``(N, nbytes)``.
    i, j : array_like of int
        Row indices into ``codes``, same length, each in ``[0, N)``.

    Returns
    -------
    ndarray
        ``int64`` distances, one per pair.

    Examples
    --------
    >>> codes = np.array([[0], [1], [3]], dtype=np.uint8)
    >>> pair_distances(codes, [0, 0], [1, 2])
    array([1, 2])
    """
    codes = check_codes(codes)
    i = np.asarray(i)
    j = np.asarray(j)
    if i.ndim != 1 or i.shape != j.shape:
        raise ValueError(f"i and j must be 1-D and of equal length, got {i.shape} and {j.shape}")
    if i.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not (np.issubdtype(i.dtype, np.integer) and np.issubdtype(j.dtype, np.integer)):
        raise ValueError("i and j must hold integer row indices")
    n = codes.shape[0]
    if min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n:
        raise ValueError(f"pair indices must lie in [0, {n}) for {n} codes")
    return kernels.pair_distances(_words(codes), i.astype(np.int64), j.astype(np.int64))


def knn_distances(
    codes: np.ndarray, k: int = 1, *, n_threads: int | None = None
) -> np.ndarray:
    """Distances from each code to its ``k`` nearest other codes.

    Parameters
    ----------
    codes : ndarray
        ``uint8`` codes of shape ``(N, nbytes)``.
    k : int, default 1
        Number of neighbours, ``1 <= k <= N - 1``. A code is never its own neighbour,
        but identical codes at other rows are (distance 0).
    n_threads : int, optional
        Threads to use; default all CPUs available to the process.

    Returns
    -------
    ndarray
        ``int64`` array of shape ``(N, k)``, each row ascending.

    Examples
    --------
    >>> codes = np.array([[0], [1], [7]], dtype=np.uint8)
    >>> knn_distances(codes, 1).ravel()
    array([1, 1, 2])
    """
    codes = check_codes(codes)
    k = check_int(k, "k")
    n = codes.shape[0]
    if not 1 <= k <= n - 1:
        raise ValueError(f"k must be in [1, N - 1] = [1, {n - 1}] for {n} codes, got {k}")
    return _knn_of_rows(codes, np.arange(n, dtype=np.int64), k, n_threads=n_threads)


def _knn_of_rows(
    codes: np.ndarray, rows: np.ndarray, k: int, *, n_threads: int | None = None
) -> np.ndarray:
    """:func:`knn_distances` for the given rows only, searched against all codes.

    Arguments are assumed valid (callers check them); ``rows`` is int64.
    """
    n, n_bits = codes.shape[0], 8 * codes.shape[1]
    words = _words(codes)
    out = np.empty((rows.size, k), dtype=np.int64)
    threads = _threads(n_threads, float(rows.size) * n)
    # Every row costs N, so contiguous chunks balance; more chunks than threads keep
    # a thread slowed by other processes from holding up the rest.
    bounds = np.linspace(0, rows.size, 4 * threads + 1).astype(np.int64)
    _run(
        lambda t: kernels.knn(
            words, k, n_bits, rows[bounds[t] : bounds[t + 1]], out[bounds[t] : bounds[t + 1]]
        ),
        len(bounds) - 1,
        threads,
    )
    return out
