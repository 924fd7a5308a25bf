"""Coverage-protecting keep rule for verified duplicate pairs."""
from __future__ import annotations

import numpy as np


def coverage_keep(n: int, i: np.ndarray, j: np.ndarray, duplicate: np.ndarray,
                  order: np.ndarray | None = None) -> np.ndarray:
    """Choose images to keep so that every removed image is covered by a kept one.

    Connected components are the wrong unit once pairs carry measured overlap: in a
    chain A~B~C where A and C share nothing, keeping only A loses C's surface. Here
    images are visited in preference ``order`` and one is removed only if an image
    already kept is its verified duplicate (overlap >= the threshold); otherwise it is
    kept. Kept images are never revisited, so the guarantee holds for the final set.

    Parameters
    ----------
    n : int
        Number of images.
    i, j : np.ndarray
        Pair indices (P,), either order.
    duplicate : np.ndarray
        bool (P,): the pair's verified overlap reaches the threshold.
    order : np.ndarray, optional
        Permutation of ``range(n)``, most preferred first (e.g. capture order for the
        ``first`` policy, descending sharpness for ``sharpest``). Default: capture order.

    Returns
    -------
    np.ndarray
        bool (n,) keep mask.

    Examples
    --------
    >>> coverage_keep(3, np.array([0, 1]), np.array([1, 2]), np.array([True, True]))
    array([ True, False,  True])
    """
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    duplicate = np.asarray(duplicate, dtype=bool)
    if not i.shape == j.shape == duplicate.shape or i.ndim != 1:
        raise ValueError(f"i, j and duplicate must be 1-d of equal length, got "
                         f"{i.shape}, {j.shape}, {duplicate.shape}")
    if i.size and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n):
        raise ValueError(f"pair indices must lie in [0, {n})")
    order = np.arange(n) if order is None else np.asarray(order, dtype=np.int64)
    if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
        raise ValueError(f"order must be a permutation of range({n})")
    a, b = i[duplicate], j[duplicate]
    # Adjacency in CSR form: neighbours of k are nbr[start[k]:start[k + 1]].
    ends = np.concatenate([a, b])
    nbr = np.concatenate([b, a])[np.argsort(ends, kind="stable")]
    start = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=n))])
    keep = np.zeros(n, dtype=bool)
    for k in order:
        keep[k] = not keep[nbr[start[k]:start[k + 1]]].any()
    return keep
