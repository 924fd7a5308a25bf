"""Exact multi-index hashing (MIH) for Hamming range search with a small radius.

Split the B code bits into ``m >= radius + 1`` disjoint substrings. Two codes within
distance ``radius`` differ in at most ``radius`` substrings, so by the pigeonhole
principle they agree exactly on at least one: bucketing codes by each substring and
verifying the pairs inside buckets finds every pair (Norouzi, Punjani & Fleet, "Fast
search in Hamming space with multi-index hashing", CVPR 2012). Work is
O(m N log N + candidates) instead of N^2 / 2.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels


@dataclass
class MihIndex:
    """Substring keys of every code and, per substring, codes sorted by key."""

    keys: np.ndarray  # (m, N) uint64
    orders: list[np.ndarray]  # per substring: stable argsort of keys[s]
    starts: list[np.ndarray]  # per substring: start of each bucket of size >= 2
    stops: list[np.ndarray]
    n_candidates: int  # sum over substrings and buckets of size * (size - 1) / 2


def n_substrings(n_bits: int, radius: int) -> int:
    """Fewest substrings that satisfy the pigeonhole bound and fit a uint64 key."""
    return max(radius + 1, -(-n_bits // 64))


def substring_keys(codes: np.ndarray, n_substrings: int) -> np.ndarray:
    """Key of each of ``n_substrings`` near-equal contiguous bit ranges, shape (m, N)."""
    n, nbytes = codes.shape
    n_bits = 8 * nbytes
    n_words = -(-nbytes // 8)
    padded = np.zeros((n, n_words * 8), dtype=np.uint8)
    padded[:, :nbytes] = codes
    # Big-endian words keep the MSB-first bit order: bit k is bit 63 - k % 64 of word k // 64.
    big = padded.view(">u8").astype(np.uint64)
    bounds = [s * n_bits // n_substrings for s in range(n_substrings + 1)]
    keys = np.zeros((n_substrings, n), dtype=np.uint64)
    for s in range(n_substrings):
        lo, hi = bounds[s], bounds[s + 1]
        key = np.zeros(n, dtype=np.uint64)
        for w in range(lo // 64, (hi - 1) // 64 + 1):
            seg_lo, seg_hi = max(lo, 64 * w), min(hi, 64 * w + 64)
            width = seg_hi - seg_lo
            part = big[:, w] >> np.uint64(64 * w + 64 - seg_hi)
            if width < 64:
                part &= np.uint64((1 << width) - 1)
                key <<= np.uint64(width)
            key |= part
        keys[s] = key
    return keys


def build_index(codes: np.ndarray, radius: int) -> MihIndex:
    """Bucket the codes by every substring; counts the candidates for the cost model."""
    n_bits = 8 * codes.shape[1]
    m = n_substrings(n_bits, radius)
    if m > n_bits:
        raise ValueError(
            f"multi-index hashing needs radius + 1 <= bits ({n_bits}), got radius {radius}"
        )
    keys = substring_keys(codes, m)
    orders, starts, stops = [], [], []
    n_candidates = 0
    for s in range(m):
        order = np.argsort(keys[s], kind="stable")
        sorted_keys = keys[s][order]
        edges = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
        lo = np.concatenate(([0], edges)).astype(np.int64)
        hi = np.concatenate((edges, [len(order)])).astype(np.int64)
        sizes = hi - lo
        multi = sizes >= 2
        orders.append(order.astype(np.int64))
        starts.append(lo[multi])
        stops.append(hi[multi])
        n_candidates += int((sizes[multi] * (sizes[multi] - 1) // 2).sum())
    return MihIndex(keys, orders, starts, stops, n_candidates)


def verify_tasks(index: MihIndex, n_tasks: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Split the buckets into ``n_tasks`` groups of similar work, per substring.

    Buckets are dealt round-robin in order of decreasing work, so the big buckets
    (e.g. many identical codes) spread over the tasks first.
    """
    tasks = []
    for s in range(len(index.orders)):
        lo, hi = index.starts[s], index.stops[s]
        by_cost = np.argsort(-(hi - lo), kind="stable")
        for t in range(min(n_tasks, lo.size)):
            mine = np.sort(by_cost[t::n_tasks])
            tasks.append((s, lo[mine], hi[mine]))
    return tasks


def verify(words: tuple, index: MihIndex, task: tuple, radius: int):
    """Run one verification task (see :func:`verify_tasks`)."""
    s, lo, hi = task
    return kernels.mih_verify(words, index.keys, s, index.orders[s], lo, hi, radius)
