"""Sub-quadratic distance statistics from uniform samples, with stated error bounds.

Exact histograms need all N(N-1)/2 pairs (or all N rows for k-NN), which is minutes
at a million codes. Sampling ``n`` items uniformly *with replacement* gives i.i.d.
draws from the exact distribution, so the Dvoretzky-Kiefer-Wolfowitz inequality
(with Massart's constant) bounds the error of the sampled CDF at every distance:

    P( max_d |F_sample(d) - F_exact(d)| > eps ) <= 2 exp(-2 n eps^2),

i.e. ``eps = dkw_epsilon(n, alpha)`` holds with probability ``1 - alpha``.
:func:`~mmselfsup_ext.hashing.otsu.otsu_threshold_bounds` turns that into an interval
that contains the exact Otsu threshold with the same probability.
"""
from __future__ import annotations

import math

import numpy as np

from .codes import check_codes
from ..validation import check_int
from .hamming import _knn_of_rows, pair_distances

__all__ = ["dkw_epsilon", "sampled_distance_histogram", "sampled_knn_distances"]


def dkw_epsilon(n_samples: int, alpha: float = 0.05) -> float:
    """Uniform CDF error of ``n_samples`` i.i.d. draws at confidence ``1 - alpha``.

    Examples
    --------
    >>> round(dkw_epsilon(1_000_000, 0.05), 5)
    0.00136
    """
    n_samples = check_int(n_samples, "n_samples")
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return math.sqrt(math.log(2 / alpha) / (2 * n_samples))


def sampled_distance_histogram(
    codes: np.ndarray, n_pairs: int, seed: int | None = None
) -> np.ndarray:
    """Histogram of ``n_pairs`` unordered pairs drawn uniformly with replacement.

    Each draw picks ``i`` uniformly and ``j`` uniformly among the other rows, so every
    unordered pair ``{i, j}`` has the same probability; the histogram is then an
    i.i.d. sample of :func:`distance_histogram`'s distribution (see the module notes
    for the error bound).

    Parameters
    ----------
    codes : ndarray
        ``uint8`` codes of shape ``(N, nbytes)``, ``N >= 2``.
    n_pairs : int
        Number of pairs to draw, ``>= 1``.
    seed : int, optional
        Seed of the random generator (reproducible samples).

    Returns
    -------
    ndarray
        ``int64`` counts of length ``8 * nbytes + 1`` summing to ``n_pairs``.

    Examples
    --------
    >>> codes = np.zeros((5, 8), dtype=np.uint8)
    >>> int(sampled_distance_histogram(codes, 100, seed=0)[0])
    100
    """
    codes = check_codes(codes)
    n_pairs = check_int(n_pairs, "n_pairs")
    n = codes.shape[0]
    if n < 2:
        raise ValueError(f"need at least 2 codes to sample pairs, got {n}")
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=n_pairs)
    j = rng.integers(0, n - 1, size=n_pairs)
    j += j >= i  # uniform over the rows other than i
    d = pair_distances(codes, i, j)
    return np.bincount(d, minlength=8 * codes.shape[1] + 1).astype(np.int64)


def sampled_knn_distances(
    codes: np.ndarray, n_rows: int, k: int = 1, seed: int | None = None
) -> np.ndarray:
    """Exact k-NN distances of ``n_rows`` rows drawn uniformly with replacement.

    The rows of the result are i.i.d. draws from the rows of
    :func:`knn_distances`, so the histogram of column ``k - 1`` estimates the
    k-NN histogram (docs/design.md §5's Otsu input for ``--pairing all``) within the DKW
    bound, at cost ``n_rows * N`` instead of ``N ** 2``.

    Parameters
    ----------
    codes : ndarray
        ``uint8`` codes of shape ``(N, nbytes)``.
    n_rows : int
        Number of rows to draw, ``>= 1``.
    k : int, default 1
        Neighbours per row, ``1 <= k <= N - 1``.
    seed : int, optional
        Seed of the random generator.

    Returns
    -------
    ndarray
        ``int64`` array of shape ``(n_rows, k)``, each row ascending.

    Examples
    --------
    >>> codes = np.array([[0], [1], [3]], dtype=np.uint8)
    >>> sampled_knn_distances(codes, 4, seed=0).shape
    (4, 1)
    """
    codes = check_codes(codes)
    n_rows = check_int(n_rows, "n_rows")
    k = check_int(k, "k")
    n = codes.shape[0]
    if n_rows < 1:
        raise ValueError(f"n_rows must be >= 1, got {n_rows}")
    if not 1 <= k <= n - 1:
        raise ValueError(f"k must be in [1, N - 1] = [1, {n - 1}] for {n} codes, got {k}")
    rows = np.random.default_rng(seed).integers(0, n, size=n_rows).astype(np.int64)
    return _knn_of_rows(codes, rows, k)
