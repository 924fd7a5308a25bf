"""Which pairs are compared and which are duplicates: hash search, retrieval, verification.

:func:`find_duplicates` runs the hash stage (capture-order or all-pairs candidates,
Otsu or a fixed threshold, per ``group_by`` group). With ``verify`` the hash stage
only proposes pairs: :func:`feature_candidates` finds the images that share keypoint
descriptors (any file order, :mod:`.retrieval`), :func:`verification_candidates` adds
the codes' own candidates, and :func:`verify_search` replaces the hash decision by
the measured overlap.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..hashing import pair_distances, radius_pairs
from ..hashing.codes import check_codes
from ..validation import check_int, check_number
from .options import DedupOptions, resolve_options
from .pairing import candidate_pairs, compile_group_regex, group_indices
from .results import DuplicateSearch
from .retrieval import RetrievalSettings, match_counts, retrieval_descriptors, select_candidates
from .state import STATUS_CODES, SurveyState
from .threshold import (all_pairs_histogram, candidate_histogram, combined_threshold,
                        resolve_threshold)
from .verify import FeatureStore, verify_pairs
from .verify.geometry import invert_homographies

__all__ = ["default_report_radius", "feature_candidates", "find_duplicates",
           "verification_candidates", "verify_search"]


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


def feature_candidates(store: FeatureStore, ids: np.ndarray, new: np.ndarray,
                       state: SurveyState, settings: RetrievalSettings, *, workers: int = 1,
                       progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of images that share keypoint descriptors, whatever their file order.

    The descriptors of the ``new`` images are added to ``state.index`` and queried;
    the pairs they surface are scored exactly (:func:`~.retrieval.match_counts`)
    and their votes stored in ``state``; candidates are then chosen among all pairs
    of current images (:func:`~.retrieval.select_candidates`).

    Parameters
    ----------
    store : FeatureStore
        Features of the current images.
    ids, new : ndarray
        From :meth:`~.state.SurveyState.assign_ids`.
    state : SurveyState
        The survey's index and votes (updated).
    settings : RetrievalSettings
        Descriptors, radius, votes, cap.
    workers : int
        Threads for rescoring.
    progress : bool
        Progress bar while rescoring.

    Returns
    -------
    i, j, votes : ndarray
        ``int64`` positions into the current images, ``i < j``, and their votes.
    """
    descriptors = [retrieval_descriptors(store[k], settings) for k in range(len(store))]
    added = np.flatnonzero(new)
    state.index.add(ids[added], [descriptors[k] for k in added])
    state.index.grow(ids, descriptors)
    # Surfaced matches only propose: a pair's exact votes (both directions) decide.
    query, other, _ = state.index.surfaced_pairs(
        ids[added], [descriptors[k] for k in added], settings.radius,
        min_count=max(1, settings.min_votes // 2))
    position = {int(image): pos for pos, image in enumerate(ids.tolist())}
    todo = sorted({(min(a, b), max(a, b)) for a, b in zip(query.tolist(), other.tolist())
                   if b in position} - set(state.votes))

    def score(pair: tuple[int, int]) -> int:
        return min(match_counts(descriptors[position[pair[0]]], descriptors[position[pair[1]]],
                                settings.radius))

    with ThreadPoolExecutor(workers) as pool:
        scores = list(tqdm(pool.map(score, todo), total=len(todo), desc="retrieval",
                           unit="pair", disable=not progress))
    # Only pairs that can become candidates are kept: a pair is scored once, when its
    # newer image is queried, so a weaker one is never proposed again.
    state.votes.update((pair, v) for pair, v in zip(todo, scores) if v >= settings.min_votes)
    current = [(position[a], position[b], v) for (a, b), v in state.votes.items()
               if a in position and b in position]
    if not current:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    a, b, v = (np.array(col, dtype=np.int64) for col in zip(*current))
    return select_candidates(a, b, v, settings)


def verify_search(search: DuplicateSearch, codes: np.ndarray, i: np.ndarray, j: np.ndarray,
                  features: FeatureStore, state: SurveyState, ids: np.ndarray, *,
                  min_overlap: float = 0.5, workers: int = 1, progress: bool = False
                  ) -> DuplicateSearch:
    """Replace the hash decision by the verified overlap of the pairs ``(i, j)``.

    Parameters
    ----------
    search : DuplicateSearch
        Hash-stage result (its threshold and histogram are kept for the report).
    codes : ndarray
        Codes of ``search`` (distances of the new pairs).
    i, j : ndarray
        Pairs to verify, positions with ``i < j``.
    features : FeatureStore
        Features of the images of ``search``.
    state : SurveyState
        Verifications of earlier runs and earlier tags, keyed by image ids; pairs
        not in it are verified and added.
    ids : ndarray
        Image id of each position.
    min_overlap : float, default 0.5
        A pair is a duplicate iff its verified overlap is ``>=`` this; an
        unverifiable pair (NaN) never is.
    workers : int, default 1
        Threads for matching.
    progress : bool, default False
        Progress bar.

    Returns
    -------
    DuplicateSearch
        ``search`` with the pairs ``(i, j)``, their Hamming distances, the
        verification fields and each pair's homography (first -> second image).
    """
    min_overlap = check_number(min_overlap, "min_overlap", 0.0, 1.0, low_open=True)
    if len(features) != len(search.paths):
        raise ValueError(f"{len(features)} features for {len(search.paths)} searched paths")
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    # Each pair is measured in the orientation its feature digests give, whatever the
    # file order; results are turned back to (i, j) below.
    digest = features.content_keys()
    flip = digest[i] > digest[j]
    first, second = np.where(flip, j, i), np.where(flip, i, j)
    keys = list(zip(ids[first].tolist(), ids[second].tolist()))
    wanted = [key for key in dict.fromkeys(keys) if key not in state.verified]
    if wanted:
        where = {key: p for p, key in enumerate(keys)}
        rows = np.array([where[key] for key in wanted], dtype=np.int64)
        found = verify_pairs(features, first[rows], second[rows], workers=workers,
                             progress=progress)
        for k, key in enumerate(wanted):
            state.verified[key] = (float(found.overlap[k]), int(found.inliers[k]),
                                   STATUS_CODES.index(str(found.status[k])),
                                   found.homography[k])
    rows = [state.verified[key] for key in keys]
    overlap = np.array([r[0] for r in rows], dtype=np.float64)
    inliers = np.array([r[1] for r in rows], dtype=np.int64)
    status = np.array([STATUS_CODES[r[2]] for r in rows], dtype="<U13")
    homography = np.array([r[3] for r in rows], dtype=np.float64).reshape(-1, 3, 3)
    if flip.any():
        homography[flip] = invert_homographies(homography[flip])
    distance = pair_distances(codes, i, j) if i.size else np.zeros(0, np.int64)
    # NaN >= x is False: an unverifiable pair is never removed on.
    return replace(search, i=i, j=j, distance=np.asarray(distance, dtype=np.int64),
                   duplicate=overlap >= min_overlap, overlap=overlap, inliers=inliers,
                   verify_status=status, homography=homography,
                   min_overlap=float(min_overlap), image_sizes=features.original_sizes())
