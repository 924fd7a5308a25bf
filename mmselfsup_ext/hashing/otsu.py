"""Otsu's threshold on an integer distance histogram (duplicate iff ``d <= T``)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["otsu_threshold", "otsu_threshold_bounds"]


def otsu_threshold(hist: np.ndarray) -> int:
    """Split an integer histogram into two classes by maximal between-class variance.

    Parameters
    ----------
    hist : array_like
        Non-negative integer counts; ``hist[d]`` is the number of pairs at distance
        ``d``.

    Returns
    -------
    int
        Threshold ``T``: pairs with ``d <= T`` form the low (duplicate) class.
        Degenerate histograms give:

        * ``-1`` for an empty or zero-mass histogram (nothing is a duplicate);
        * for all mass in one bin ``v``: ``0`` if ``v == 0`` (every pair is identical,
          so each is a duplicate) else ``-1`` (no evidence of two classes, so nothing
          is removed on it).

    Notes
    -----
    ``T`` maximises the between-class variance ``w0 * w1 * (mu0 - mu1) ** 2`` (``w``
    class masses, ``mu`` class means of the bin values) over the splits that leave mass
    on both sides. Every ``T`` from the last occupied bin of the low class up to the
    bin before the first occupied bin of the high class gives the same partition; the
    lowest one is returned, so ``T`` is always a distance that occurs. Scores are
    compared in exact rational arithmetic, and among equal maxima the lowest ``T``
    wins.

    Mapping to scikit-image: ``skimage.filters.threshold_otsu(samples)``, with the
    histogram expanded into integer samples, returns a threshold ``t`` whose low class
    is ``samples <= t``. It scans the same splits in the same order and also takes the
    first maximum, so ``T == floor(t)`` (up to floating-point ties in scikit-image).

    Examples
    --------
    >>> otsu_threshold([5, 4, 0, 0, 0, 0, 3, 6, 3])
    1
    >>> otsu_threshold([0, 0, 7]), otsu_threshold([7])
    (-1, 0)
    """
    counts = _as_counts(hist)
    occupied = [d for d, c in enumerate(counts) if c > 0]
    if not occupied:
        return -1
    if len(occupied) == 1:
        return 0 if occupied[0] == 0 else -1
    total = sum(counts)
    total_moment = sum(d * c for d, c in enumerate(counts))
    best_t, best_score = -1, Fraction(-1)
    w_low = m_low = 0
    for d, c in enumerate(counts[: occupied[-1]]):
        w_low += c
        m_low += d * c
        if c == 0:
            continue  # same partition as the previous occupied bin
        w_high = total - w_low
        m_high = total_moment - m_low
        # w0*w1*(mu0-mu1)^2 == (w1*m0 - w0*m1)^2 / (w0*w1), exact with Python ints.
        score = Fraction((w_high * m_low - w_low * m_high) ** 2, w_low * w_high)
        if score > best_score:
            best_t, best_score = d, score
    return best_t


def _as_counts(hist: np.ndarray) -> list[int]:
    """Validate a histogram and return its counts as Python ints."""
    hist = np.asarray(hist)
    if hist.ndim != 1:
        raise ValueError(f"hist must be 1-D, got shape {hist.shape}")
    if hist.size == 0:
        return []
    if not (np.issubdtype(hist.dtype, np.integer) or np.issubdtype(hist.dtype, np.floating)):
        raise ValueError(f"hist must hold numbers, got dtype {hist.dtype}")
    if np.issubdtype(hist.dtype, np.floating):
        if not np.all(np.isfinite(hist)) or np.any(hist != np.round(hist)):
            raise ValueError("hist must hold whole-number counts")
    if np.any(hist < 0):
        raise ValueError("hist must hold non-negative counts")
    return [int(c) for c in hist]


def otsu_threshold_bounds(hist: np.ndarray, alpha: float = 0.05) -> tuple[int, int]:
    """Interval holding the exact Otsu threshold, from a histogram of i.i.d. samples.

    Parameters
    ----------
    hist : array_like
        Histogram of ``n = sum(hist)`` distances drawn i.i.d. (with replacement) from
        an exact histogram, e.g. :func:`sampled_distance_histogram`.
    alpha : float, default 0.05
        Allowed failure probability.

    Returns
    -------
    (low, high) : tuple of int
        With probability at least ``1 - alpha``, ``low <= T <= high`` where ``T`` is
        :func:`otsu_threshold` of the exact histogram (when that histogram has at
        least two occupied bins; the degenerate answers are not covered).
        ``(-1, -1)`` for an empty histogram.

    Notes
    -----
    By the DKW inequality the exact CDF ``F`` lies within ``eps = dkw_epsilon(n,
    alpha)`` of the sampled one at every distance, with probability ``1 - alpha``.
    Otsu's score of a split ``T`` is a function of ``F`` alone: with ``w = F(T)``, the
    low-class moment ``M(T) = T F(T) - sum_{d<T} F(d)`` (summation by parts) and the
    mean ``mu = B - sum_{d<B} F(d)``, it is ``(M(T) - w mu)^2 / (w (1 - w))``.
    Interval arithmetic over the band ``F +- eps`` bounds every split's exact score
    from below and above (the upper bound also uses ``score <= w (1 - w) B^2``); the exact maximiser ``T`` must have an upper bound at least
    the largest lower bound, and ``(low, high)`` spans the splits that do. It is
    conservative (a flat valley between the modes gives a wide interval), never
    optimistic.

    Examples
    --------
    >>> hist = np.zeros(65, dtype=np.int64)
    >>> hist[[2, 3, 4]] = 30_000
    >>> hist[[30, 32, 34]] = 300_000
    >>> otsu_threshold_bounds(hist)
    (4, 29)
    """
    from .sampling import dkw_epsilon  # sampling imports the engine; keep otsu light

    counts = np.asarray(_as_counts(hist), dtype=np.float64)
    n = counts.sum()
    if n == 0:
        return -1, -1
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    eps = dkw_epsilon(int(n), alpha)
    n_bits = counts.size - 1
    cdf = np.cumsum(counts) / n
    f_lo = np.clip(cdf - eps, 0.0, 1.0)
    f_hi = np.clip(cdf + eps, 0.0, 1.0)
    f_lo[-1] = f_hi[-1] = 1.0  # F(B) = 1 exactly
    t = np.arange(n_bits)  # candidate splits: low class d <= t, t in [0, B)
    below_lo = np.concatenate(([0.0], np.cumsum(f_lo)[:-1]))  # sum_{d<t} F_lo(d)
    below_hi = np.concatenate(([0.0], np.cumsum(f_hi)[:-1]))
    m_lo = t * f_lo[t] - below_hi[t]
    m_hi = t * f_hi[t] - below_lo[t]
    mu_lo = n_bits - below_hi[n_bits]
    mu_hi = n_bits - below_lo[n_bits]
    x_lo = m_lo - f_hi[t] * mu_hi
    x_hi = m_hi - f_lo[t] * mu_lo
    sq_hi = np.maximum(x_lo**2, x_hi**2)
    sq_lo = np.where((x_lo <= 0) & (x_hi >= 0), 0.0, np.minimum(x_lo**2, x_hi**2))

    def spread(w: np.ndarray) -> np.ndarray:
        return w * (1.0 - w)

    d_max = spread(np.clip(0.5, f_lo[t], f_hi[t]))
    d_min = np.minimum(spread(f_lo[t]), spread(f_hi[t]))
    with np.errstate(divide="ignore", invalid="ignore"):
        # w0 w1 (mu1 - mu0)^2 <= w0 w1 B^2 also holds, and stays finite as w -> 0 or 1.
        upper = np.minimum(np.where(d_min > 0, sq_hi / d_min, np.inf), d_max * n_bits**2)
        lower = np.where(d_max > 0, sq_lo / d_max, 0.0)
    possible = np.flatnonzero(upper >= lower.max())
    return int(possible.min()), int(possible.max())
