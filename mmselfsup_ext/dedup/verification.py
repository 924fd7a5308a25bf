"""Verification stage: the hash decision replaced by the measured overlap of candidate pairs.

Pairs already verified by an earlier run or an earlier tag are read from the survey
state; the others are matched (:func:`~.verify.verify_pairs`) and added to it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..hashing import pair_distances
from ..validation import check_number
from .results import DuplicateSearch
from .state import STATUS_CODES, SurveyState
from .verify import FeatureStore, VerifiedPairs, verify_pairs
from .verify.geometry import invert_homographies

__all__ = ["verify_search"]


def verify_search(search: DuplicateSearch, codes: np.ndarray, i: np.ndarray, j: np.ndarray,
                  features: FeatureStore, state: SurveyState, ids: np.ndarray, *,
                  min_overlap: float = 0.5, workers: int = 1, progress: bool = False,
                  match: Callable[..., VerifiedPairs] = verify_pairs) -> DuplicateSearch:
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
    match : callable, default :func:`~.verify.verify_pairs`
        What matches the pairs not yet verified, called as ``verify_pairs`` is (e.g.
        ``DistributedEncoder.verify_pairs``, which shards them across ranks).

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
        found = match(features, first[rows], second[rows], workers=workers, progress=progress)
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
