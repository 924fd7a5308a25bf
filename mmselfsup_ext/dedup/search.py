"""Which pairs are compared and which are duplicates: hash search, then verification.

:func:`find_duplicates` runs the hash stage (capture-order or all-pairs candidates,
Otsu or a fixed threshold, per ``group_by`` group). With ``verify`` the hash stage
only proposes pairs: :func:`verification_candidates` chooses them and
:func:`verify_search` replaces the hash decision by the measured overlap.

Examples
--------
>>> codes = np.array([[0], [0], [255], [254]], dtype=np.uint8)
>>> s = find_duplicates(codes, ["a", "b", "c", "d"], pairing="adjacent", threshold=1)
>>> s.i.tolist(), s.j.tolist(), s.duplicate.tolist()
([0, 2], [1, 3], [True, True])
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..hashing import pair_distances, radius_pairs
from ..hashing.codes import check_codes
from ..validation import check_int, check_number
from .options import DedupOptions, resolve_options
from .pairing import candidate_pairs, compile_group_regex, group_indices
from .results import DuplicateSearch
from .threshold import (all_pairs_histogram, candidate_histogram, combined_threshold,
                        resolve_threshold)
from .verify import FeatureCache, verify_pairs

__all__ = ["default_report_radius", "find_duplicates", "verification_candidates",
           "verify_search"]


def default_report_radius(n_bits: int) -> int:
    """Reporting margin for ``pairing="all"``: ``n_bits // 8`` (8 of 64 bits).

    ``pairs.csv`` under ``all`` lists every pair with distance
    ``<= max(T, margin)``, so near-misses just above a low (or ``-1``) threshold
    are visible for review and threshold sweeps, while two unrelated codes
    (about ``n_bits / 2`` apart) almost never fall inside it and the file stays
    O(N), never N².
    """
    return max(0, int(n_bits) // 8)


def _names(paths: Sequence[str | os.PathLike]) -> list[str]:
    return [Path(p).as_posix() if isinstance(p, os.PathLike) else str(p) for p in paths]


def find_duplicates(codes: np.ndarray, paths: Sequence[str | os.PathLike],
                    options: DedupOptions | None = None, **settings: object) -> DuplicateSearch:
    """Find duplicate pairs among binary codes.

    Parameters
    ----------
    codes : ndarray
        ``uint8`` packed codes ``(N, nbytes)``, rows in capture order.
    paths : sequence of str or path-like
        One name per row (``group_by`` is matched against ``str(path)`` with
        ``/`` separators).
    options : DedupOptions, optional
        Settings; the ones used here are ``pairing``, ``window``, ``threshold``,
        ``group_by``, ``otsu_on``, ``knn_k`` and ``report_radius``.
    **settings
        Keyword settings of :class:`~.options.DedupOptions` (applied on top of
        ``options``).

    Returns
    -------
    DuplicateSearch

    Notes
    -----
    Otsu runs per capture group on the candidate distances (``adjacent``,
    ``window``) or, for ``all``, on each image's ``knn_k`` nearest-neighbour
    distances (``otsu_on="knn"``) or on all pair distances (``"pairs"``, see
    :func:`~.threshold.all_pairs_histogram`). ``all`` lists the pairs within
    ``max(T, report_radius)``, searched by radius: never an N x N matrix.
    """
    options = resolve_options(options, settings)
    codes = check_codes(codes)
    names = _names(paths)
    if len(names) != codes.shape[0]:
        raise ValueError(f"{len(names)} paths for {codes.shape[0]} codes")
    n_bits = 8 * codes.shape[1]
    report_radius = (default_report_radius(n_bits) if options.report_radius is None
                     else options.report_radius)
    regex = compile_group_regex(options.group_by) if options.group_by is not None else None

    parts_i, parts_j, parts_d, parts_dup = [], [], [], []
    thresholds: dict[str, int] = {}
    populated: dict[str, bool] = {}
    pooled = np.zeros(n_bits + 1, dtype=np.int64)
    for key, members in group_indices(names, regex).items():
        sub = codes[members]
        if options.pairing == "all":
            hist = all_pairs_histogram(sub, options.otsu_source, options.knn_k)
            t = resolve_threshold(hist, options.threshold)
            li, lj, ld = radius_pairs(sub, max(t, report_radius))
        else:
            li, lj = candidate_pairs(len(members), options.pairing, options.window)
            ld = pair_distances(sub, li, lj)
            hist = candidate_histogram(ld, n_bits)
            t = resolve_threshold(hist, options.threshold)
        thresholds[key] = int(t)
        populated[key] = bool(hist.sum() > 0)
        pooled += hist
        parts_i.append(members[li])
        parts_j.append(members[lj])
        parts_d.append(ld)
        parts_dup.append(ld <= t)
    i, j, d = (np.concatenate(p).astype(np.int64) if p else np.zeros(0, np.int64)
               for p in (parts_i, parts_j, parts_d))
    dup = np.concatenate(parts_dup).astype(bool) if parts_dup else np.zeros(0, bool)
    order = np.lexsort((j, i))
    source = "candidate_pairs" if options.pairing != "all" else (
        f"knn{options.knn_k}" if options.otsu_source == "knn" else "all_pairs")
    return DuplicateSearch(
        i=i[order], j=j[order], distance=d[order], duplicate=dup[order],
        threshold=combined_threshold(thresholds, populated), thresholds=thresholds,
        histogram=pooled, populated=populated, paths=names, n_bits=n_bits,
        pairing=options.pairing,
        window=options.window if options.pairing == "window" else None,
        group_by=options.group_by,
        threshold_mode="otsu" if options.threshold == "otsu" else "fixed",
        histogram_source=source,
        report_radius=int(report_radius) if options.pairing == "all" else None)


def _knn_pairs(codes: np.ndarray, k: int, i: np.ndarray, j: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (x, y) with y among the ``k`` nearest codes of x that ``(i, j)`` lacks.

    An image with at least ``k`` neighbours among the radius pairs ``(i, j)`` has
    its ``k`` nearest among them already; only the others are scanned (O(N) each),
    so the cost stays O(N) per isolated image and never builds an N x N matrix.
    """
    n = codes.shape[0]
    k = min(k, n - 1)
    if k < 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    degree = np.bincount(np.concatenate([i, j]).astype(np.int64), minlength=n)
    everyone = np.arange(n, dtype=np.int64)
    parts_i, parts_j = [], []
    for x in np.flatnonzero(degree < k).tolist():
        d = pair_distances(codes, np.full(n, x, dtype=np.int64), everyone)
        d[x] = np.iinfo(np.int64).max  # an image is not its own neighbour
        nearest = np.argsort(d, kind="stable")[:k]
        parts_i.append(np.full(k, x, dtype=np.int64))
        parts_j.append(nearest.astype(np.int64))
    if not parts_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(parts_i), np.concatenate(parts_j)


def verification_candidates(search: DuplicateSearch, codes: np.ndarray, margin: int,
                            knn: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs worth a geometric check after the hash stage.

    ``window``/``adjacent``: every candidate pair of ``search`` (shifted views of
    a flight are mostly beyond any hash threshold, but few per image). ``all``:
    per capture group, the pairs within ``max(0, T + margin)`` bits, each image's
    ``knn`` nearest codes, and the pairs ``search`` already lists.

    Parameters
    ----------
    search : DuplicateSearch
        Hash-stage result for ``codes``.
    codes : ndarray
        ``uint8`` codes the search ran on.
    margin : int
        Bits added to the group threshold (``all`` only).
    knn : int
        Nearest codes per image (``all`` only).

    Returns
    -------
    i, j : ndarray
        ``int64`` unique pairs, ``i < j``, sorted by ``(i, j)``.
    """
    if codes.shape[0] != len(search.paths):
        raise ValueError(f"{codes.shape[0]} codes for {len(search.paths)} searched paths")
    margin = check_int(margin, "margin", minimum=0)
    knn = check_int(knn, "knn", minimum=1)
    if search.pairing != "all":
        return search.i, search.j
    regex = compile_group_regex(search.group_by) if search.group_by is not None else None
    parts_i, parts_j = [search.i], [search.j]
    for key, members in group_indices(search.paths, regex).items():
        sub = codes[members]
        li, lj, _ = radius_pairs(sub, max(0, search.thresholds[key] + margin))
        ki, kj = _knn_pairs(sub, knn, li, lj)
        parts_i += [members[li], members[ki]]
        parts_j += [members[lj], members[kj]]
    i = np.concatenate(parts_i).astype(np.int64)
    j = np.concatenate(parts_j).astype(np.int64)
    pairs = np.unique(np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1), axis=0)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def verify_search(search: DuplicateSearch, codes: np.ndarray, i: np.ndarray, j: np.ndarray,
                  files: Sequence[str | os.PathLike], cache: FeatureCache, *,
                  min_overlap: float = 0.5, workers: int = 1, progress: bool = False,
                  memo: dict[tuple[int, int], tuple[float, int, str]] | None = None
                  ) -> DuplicateSearch:
    """Replace the hash decision by the verified overlap of the pairs ``(i, j)``.

    Parameters
    ----------
    search : DuplicateSearch
        Hash-stage result (its threshold and histogram are kept for the report).
    codes : ndarray
        Codes of ``search`` (distances of the new pairs).
    i, j : ndarray
        Pairs to verify, ``i < j`` (e.g. from :func:`verification_candidates`).
    files : sequence of path-like
        Image files aligned with ``search.paths`` (keys of ``cache``).
    cache : FeatureCache
        Features shared by every tag of a run.
    min_overlap : float, default 0.5
        A pair is a duplicate iff its verified overlap is ``>=`` this; an
        unverifiable pair (NaN) never is.
    workers : int, default 1
        Threads for feature extraction and matching.
    progress : bool, default False
        Progress bars.
    memo : dict, optional
        ``(i, j) -> (overlap, inliers, status)``, filled and reused so a pair
        proposed by several tags is matched once.

    Returns
    -------
    DuplicateSearch
        ``search`` with the pairs ``(i, j)``, their Hamming distances and the
        verification fields set.
    """
    min_overlap = check_number(min_overlap, "min_overlap", 0.0, 1.0, low_open=True)
    if len(files) != len(search.paths):
        raise ValueError(f"{len(files)} files for {len(search.paths)} searched paths")
    memo = {} if memo is None else memo
    keys = list(zip(np.asarray(i).tolist(), np.asarray(j).tolist()))
    todo = [key for key in dict.fromkeys(keys) if key not in memo]
    if todo:
        ti, tj = (np.array(side, dtype=np.int64) for side in zip(*todo))
        found = verify_pairs(list(files), ti, tj, workers=workers, progress=progress,
                             cache=cache)
        for key, ov, inl, st in zip(todo, *(a.tolist() for a in found)):
            memo[key] = (ov, inl, st)
    overlap = np.array([memo[key][0] for key in keys], dtype=np.float64)
    inliers = np.array([memo[key][1] for key in keys], dtype=np.int64)
    status = np.array([memo[key][2] for key in keys], dtype="<U13")
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    distance = pair_distances(codes, i, j) if i.size else np.zeros(0, np.int64)
    # NaN >= x is False: an unverifiable pair is never removed on.
    return replace(search, i=i, j=j, distance=np.asarray(distance, dtype=np.int64),
                   duplicate=overlap >= min_overlap, overlap=overlap, inliers=inliers,
                   verify_status=status, min_overlap=float(min_overlap))
