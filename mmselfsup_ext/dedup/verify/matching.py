"""Nearest-neighbour descriptor matching with Lowe's ratio test.

Binary descriptors (ORB, AKAZE) are matched by a numba kernel instead of
cv2.BFMatcher: on 900 x 900 ORB descriptors it takes 1.8 ms against 10.5 ms for
``BFMatcher(NORM_HAMMING).knnMatch`` (this OpenCV wheel's popcount is not vectorised)
and it releases the GIL, so pairs verify in parallel threads. Matching dominates the
cost of a verification, so this is the number that sets pairs per second.
"""
from __future__ import annotations

import cv2
import numba
import numpy as np

from ...hashing.kernels import popcount
from ...hashing.codes import as_words


@numba.njit(cache=True, nogil=True)
def _best_two(a: np.ndarray, b_t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row of ``a`` (n, W) the nearest column of ``b_t`` (W, m) and two distances.

    ``b_t`` is word-major so the inner loop reads contiguous memory and vectorises;
    unsigned loop indices avoid numba's negative-index check, which blocks that.
    """
    n, n_words = a.shape
    m = b_t.shape[1]
    nearest = np.empty(n, np.int64)
    first = np.empty(n, np.int64)
    second = np.empty(n, np.int64)
    buf = np.empty(m, np.int64)
    for i in range(n):
        x = a[i, 0]
        row = b_t[0]
        for k in range(m):
            buf[np.uint64(k)] = popcount(x ^ row[np.uint64(k)])
        for w in range(1, n_words):
            x = a[i, w]
            row = b_t[w]
            for k in range(m):
                buf[np.uint64(k)] += popcount(x ^ row[np.uint64(k)])
        d1 = d2 = 1 << 62
        j1 = -1
        for k in range(m):
            d = buf[k]
            if d < d1:
                d2, d1, j1 = d1, d, k
            elif d < d2:
                d2 = d
        nearest[i], first[i], second[i] = j1, d1, d2
    return nearest, first, second


def ratio_matches(da: np.ndarray, db: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(ia, ib)`` of matches passing Lowe's ratio test.

    Parameters
    ----------
    da, db : np.ndarray
        (Ka, D) and (Kb, D) descriptors; uint8 ones are compared by Hamming
        distance, float ones by Euclidean distance.
    ratio : float
        A match is kept if its distance < ``ratio`` x the distance to the second-nearest.

    Returns
    -------
    ia, ib : np.ndarray
        int64 indices into ``da`` and ``db``; empty if ``db`` has fewer than two rows.
    """
    if len(da) == 0 or len(db) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if da.dtype == np.uint8:
        nearest, first, second = _best_two(as_words(da), np.ascontiguousarray(as_words(db).T))
    else:
        pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(da, db, k=2)
        nearest = np.array([p[0].trainIdx for p in pairs])
        first = np.array([p[0].distance for p in pairs])
        second = np.array([p[1].distance for p in pairs])
    keep = np.flatnonzero(first < ratio * second)
    return keep.astype(np.int64), nearest[keep].astype(np.int64)
