"""Hash stage: which pairs the codes name and which of them are duplicates.

:func:`find_duplicates` enumerates capture-order candidates or, order-free, searches
by radius; Otsu or a fixed threshold decides per ``group_by`` group. Without
``verify`` that decision is final; with it, the pairs are one of the candidate
sources (:mod:`.sources`) and the verified overlap decides (:mod:`.verification`).

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
from pathlib import Path

import numpy as np

from ..hashing import pair_distances, radius_pairs
from ..hashing.codes import check_codes
from .options import DedupOptions, resolve_options
from .pairing import candidate_pairs, compile_group_regex, group_indices
from .results import DuplicateSearch
from .threshold import (all_pairs_histogram, candidate_histogram, combined_threshold,
                        default_report_radius, resolve_threshold)

__all__ = ["find_duplicates", "search_codes"]


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
    return search_codes(codes, paths, resolve_options(options, settings))


def search_codes(codes: np.ndarray, paths: Sequence[str | os.PathLike],
                 options: DedupOptions) -> DuplicateSearch:
    """:func:`find_duplicates` with options the caller has resolved (the pipeline)."""
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
        if not options.ordered:
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
    source = "candidate_pairs" if options.ordered else (
        f"knn{options.knn_k}" if options.otsu_source == "knn" else "all_pairs")
    return DuplicateSearch(
        i=i[order], j=j[order], distance=d[order], duplicate=dup[order],
        threshold=combined_threshold(thresholds, populated), thresholds=thresholds,
        histogram=pooled, populated=populated, paths=names, n_bits=n_bits,
        pairing=options.pairing,
        window=options.capture_window,
        group_by=options.group_by,
        threshold_mode="otsu" if options.threshold == "otsu" else "fixed",
        histogram_source=source,
        report_radius=None if options.ordered else int(report_radius))
