"""Keep decisions: which images of the duplicate graph stay and which go.

``surface`` (the default with verification, :mod:`.coverage`) removes an image only
if the kept images still show almost all of its surface. ``component`` (the paper) keeps one
image per connected group of duplicates. ``pairwise`` visits images in preference order
and removes one only if an image already kept is its duplicate, so a chain A~B~C
whose ends share nothing keeps A and C. The preference comes from the keep policy
(:mod:`.keep_policies`).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from .coverage import coverage_keep
from .keep_policies import choose_keepers, duplicate_components, policy_score, priority_order
from .options import DedupOptions, resolve_options
from .parallel import ordered_map
from .results import DuplicateSearch, KeepDecision

__all__ = ["keep_images", "pairwise_keep", "select_keepers"]


def pairwise_keep(n: int, i: np.ndarray, j: np.ndarray, duplicate: np.ndarray,
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
    >>> pairwise_keep(3, np.array([0, 1]), np.array([1, 2]), np.array([True, True]))
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


def _policy_scores(search: DuplicateSearch, members: list[int], policy: str,
                   files: Sequence[str | os.PathLike] | None, options: DedupOptions,
                   cache: dict[str, object]) -> Callable[[int], object] | None:
    """Score function of the images ``members`` (None for ``first``)."""
    if policy == "first" or not members:
        return None
    n = len(search.paths)
    files = list(search.paths if files is None else files)
    if len(files) != n:
        raise ValueError(f"{len(files)} files for {n} coded images")

    def key(p: int) -> str:
        return f"{policy}:{files[p]}"

    needed = [p for p in members if key(p) not in cache]
    scores = ordered_map(partial(policy_score, policy), [files[p] for p in needed],
                         options.workers, options.progress, desc=f"{policy} scores")
    for p, value in zip(needed, scores):
        cache[key(p)] = value
    return lambda p: cache[key(p)]


def select_keepers(search: DuplicateSearch, options: DedupOptions | None = None,
                   files: Sequence[str | os.PathLike] | None = None, *,
                   score_cache: dict[str, object] | None = None,
                   **settings: object) -> KeepDecision:
    """Decide which images to keep from the duplicate graph.

    Parameters
    ----------
    search : DuplicateSearch
        Result of :func:`~.hash_search.find_duplicates` (or of verification).
    options : DedupOptions, optional
        Settings; used here: ``keep`` (preference: ``first`` in capture order,
        ``sharpest`` by variance of the Laplacian, ``largest`` by pixels then
        bytes; ties go to the earliest image), ``keep_mode`` (``surface`` by
        default after verification, ``pairwise`` otherwise, or ``component``),
        ``min_coverage``, ``workers`` and ``progress`` (measuring).
    files : sequence of path-like, optional
        Files to measure for ``sharpest``/``largest`` (aligned with
        ``search.paths``; default ``search.paths``). Only images in duplicate
        groups (``surface``: with a verified neighbour) are opened.
    score_cache : dict, optional
        ``"<policy>:<file>"`` -> score, filled and reused (tags share images).
    **settings
        Keyword settings of :class:`~.options.DedupOptions`.

    Returns
    -------
    KeepDecision

    Examples
    --------
    >>> from mmselfsup_ext.dedup import find_duplicates
    >>> codes = np.array([[0], [1], [3], [7]], dtype=np.uint8)
    >>> chain = find_duplicates(codes, list("ABCD"), window=1, threshold=1)
    >>> select_keepers(chain, keep_mode="pairwise").keep.tolist()
    [0, 2]
    >>> select_keepers(chain, keep_mode="component").keep.tolist()
    [0]
    """
    return keep_images(search, resolve_options(options, settings), files, score_cache=score_cache)


def keep_images(search: DuplicateSearch, options: DedupOptions,
                files: Sequence[str | os.PathLike] | None = None, *,
                score_cache: dict[str, object] | None = None) -> KeepDecision:
    """:func:`select_keepers` with options the caller has resolved (the pipeline)."""
    n = len(search.paths)
    components = duplicate_components(n, search.i[search.duplicate],
                                      search.j[search.duplicate])
    mode = options.resolved_keep_mode
    if mode == "surface" and (search.homography is None or search.image_sizes is None):
        raise ValueError("keep_mode 'surface' needs a verified search (homographies and "
                         "image sizes): run with verify")
    if mode == "surface":
        ok = search.verify_status == "ok"
        members = sorted(set(search.i[ok].tolist()) | set(search.j[ok].tolist()))
    else:
        members = sorted({int(p) for comp in components for p in comp})
    cache = {} if score_cache is None else score_cache
    score = _policy_scores(search, members, options.keep, files, options, cache)
    keepers = choose_keepers(components, options.keep, score)
    order = priority_order(n, [np.asarray(members, dtype=np.int64)], score)
    selection = None
    pairwise = ~pairwise_keep(n, search.i, search.j, search.duplicate, order)
    if mode == "surface":
        selection = coverage_keep(n, search.i, search.j, search.homography,
                                  search.verify_status, search.image_sizes, order,
                                  options.min_coverage)
        removed = ~selection.keep
    elif mode == "pairwise":
        removed = pairwise
    else:
        removed = np.zeros(n, dtype=bool)
        for comp, kept in zip(components, keepers):
            removed[comp] = True
            removed[kept] = False
    return KeepDecision(components=components, keepers=keepers,
                        keep=np.flatnonzero(~removed).astype(np.int64),
                        remove=np.flatnonzero(removed).astype(np.int64), policy=options.keep,
                        mode=mode, coverage=selection,
                        n_pairwise_removed=int(pairwise.sum()) if selection else None)
