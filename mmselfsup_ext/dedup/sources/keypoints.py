"""Keypoint retrieval (``--candidates features``, the default): images that share
descriptors, in any file order, at partial overlap.

The descriptors of the images a run adds go into the survey's inverted index
(:mod:`..retrieval`); the pairs they surface are scored exactly and their votes kept in
the survey state, so a later run queries only its new images.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import numpy as np
from tqdm import tqdm

from ..results import DuplicateSearch
from ..retrieval import RetrievalSettings, match_counts, retrieval_descriptors, select_candidates
from ..state import SurveyState
from ..verify import FeatureStore
from .base import Proposal, as_pairs

__all__ = ["KeypointRetrieval", "feature_candidates"]


class KeypointRetrieval:
    """Retrieval candidates, found once per run and shared by every tag."""

    after_verification: ClassVar[bool] = False

    def __init__(self) -> None:
        self._pairs: np.ndarray | None = None

    def propose(self, proposal: Proposal, verified: DuplicateSearch | None = None
                ) -> np.ndarray:
        """:func:`feature_candidates` of the run (its seconds go to ``retrieval_s``)."""
        if self._pairs is None:
            start = time.perf_counter()
            i, j, _ = feature_candidates(proposal.features, proposal.ids, proposal.new,
                                         proposal.state, RetrievalSettings(),
                                         workers=proposal.options.workers,
                                         progress=proposal.options.progress)
            self._pairs = as_pairs(i, j)
            proposal.timings["retrieval_s"] = time.perf_counter() - start
        return self._pairs


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
