"""Duplicate thresholds: a fixed integer or Otsu on the right distance histogram."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..hashing import (distance_histogram, knn_distances, otsu_threshold,
                       sampled_distance_histogram, sampled_knn_distances)

__all__ = ["OTSU_SOURCES", "parse_threshold", "candidate_histogram", "all_pairs_histogram",
           "resolve_threshold", "combined_threshold", "default_report_radius"]

# What the Otsu histogram is built from under pairing 'all' (docs/design.md §5).
OTSU_SOURCES = ("knn", "pairs")
# Above this many images in a group, the Otsu histogram under pairing ``all`` is
# estimated from a uniform sample instead of all N rows (N^2 work). With
# SAMPLE_SIZE draws, the DKW inequality bounds the error of the estimated
# distance CDF by sqrt(ln(2 / 0.05) / (2 * SAMPLE_SIZE)) = 0.0061 with 95 %
# probability, so the threshold moves only where the valley is that flat.
EXACT_HISTOGRAM_MAX = 100_000
SAMPLE_SIZE = 50_000


def parse_threshold(value: str | int) -> str | int:
    """Parse ``--threshold``: the string ``"otsu"`` or a non-negative integer.

    Examples
    --------
    >>> parse_threshold("otsu"), parse_threshold("12")
    ('otsu', 12)
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        number = int(value)
    elif isinstance(value, str) and value.strip().lower() == "otsu":
        return "otsu"
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"threshold must be 'otsu' or a non-negative integer, "
                             f"got {value!r}") from None
    if number < 0:
        raise ValueError(f"threshold must be 'otsu' or a non-negative integer, got {value!r}")
    return number


def candidate_histogram(distances: np.ndarray, n_bits: int) -> np.ndarray:
    """Histogram (length ``n_bits + 1``) of candidate-pair distances (adjacent/window)."""
    distances = np.asarray(distances, dtype=np.int64)
    return np.bincount(distances, minlength=n_bits + 1).astype(np.int64)


def all_pairs_histogram(codes: np.ndarray, otsu_on: str = "knn", k: int = 1
                        ) -> np.ndarray:
    """Otsu histogram of a group under pairing ``all``, without an N x N matrix.

    Parameters
    ----------
    codes : ndarray
        ``uint8`` codes ``(N, nbytes)`` of one group.
    otsu_on : {"knn", "pairs"}, default "knn"
        ``knn``: distances of each image to its ``k`` nearest neighbours (N * k
        values), so the duplicate mode (~N pairs) and the background (also ~N
        values) stay comparable in mass. ``pairs``: all N(N-1)/2 distances; Otsu
        then splits the random-distance peak for large N (docs/design.md §5), kept for
        comparison with the paper.
    k : int, default 1
        Neighbours per image; clipped to ``N - 1`` for tiny groups.

    Notes
    -----
    Groups of more than ``EXACT_HISTOGRAM_MAX`` images use a seeded uniform sample
    of ``SAMPLE_SIZE`` rows (knn) or pairs (pairs): sub-quadratic, deterministic,
    with the DKW error bound stated at ``SAMPLE_SIZE``.

    Returns
    -------
    ndarray
        ``int64`` counts of length ``8 * nbytes + 1``; all zero when ``N < 2``.
    """
    if otsu_on not in OTSU_SOURCES:
        raise ValueError(f"otsu_on must be one of {OTSU_SOURCES}, got {otsu_on!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    n, n_bits = codes.shape[0], 8 * codes.shape[1]
    if n < 2:
        return np.zeros(n_bits + 1, dtype=np.int64)
    sampled = n > EXACT_HISTOGRAM_MAX
    if otsu_on == "pairs":
        if sampled:
            return sampled_distance_histogram(codes, SAMPLE_SIZE, seed=0)
        return distance_histogram(codes)
    k = min(int(k), n - 1)
    if sampled:
        nearest = sampled_knn_distances(codes, SAMPLE_SIZE, k, seed=0)
    else:
        nearest = knn_distances(codes, k)
    return candidate_histogram(nearest.ravel(), n_bits)


def resolve_threshold(hist: np.ndarray, threshold: str | int) -> int:
    """Threshold of one group: ``otsu_threshold(hist)`` for ``"otsu"``, else the integer.

    Returns ``-1`` (nothing is a duplicate) for Otsu on a degenerate histogram, as
    documented in :func:`mmselfsup_ext.hashing.otsu_threshold`.
    """
    threshold = parse_threshold(threshold)
    return otsu_threshold(hist) if threshold == "otsu" else int(threshold)


def combined_threshold(thresholds: Mapping[str, int], populated: Mapping[str, bool]) -> int:
    """The single ``threshold`` reported in ``summary.json`` for several groups.

    The lower median of the thresholds of groups whose histogram had any mass:
    a value actually used by a typical group (a mean could be a threshold no
    group used), robust to one odd strip. Empty groups (a single image) are
    ignored; ``-1`` when no group had a histogram. With one group it is that
    group's threshold; with a fixed threshold every group has the same value.

    Examples
    --------
    >>> combined_threshold({"00": 9, "01": 12, "02": 10}, {"00": True, "01": True, "02": True})
    10
    """
    used = sorted(int(t) for key, t in thresholds.items() if populated.get(key, False))
    if not used:
        values = sorted(int(t) for t in thresholds.values())
        return values[0] if values and len(set(values)) == 1 else -1
    return used[(len(used) - 1) // 2]


def default_report_radius(n_bits: int) -> int:
    """Reporting margin for ``pairing="all"``: ``n_bits // 8`` (8 of 64 bits).

    ``pairs.csv`` under ``all`` lists every pair with distance
    ``<= max(T, margin)``, so near-misses just above a low (or ``-1``) threshold
    are visible for review and threshold sweeps, while two unrelated codes
    (about ``n_bits / 2`` apart) almost never fall inside it and the file stays
    O(N), never N².
    """
    return max(0, int(n_bits) // 8)
