"""Keypoint retrieval (``--candidates features``, the default): images that share
descriptors, in any file order, at partial overlap.

The descriptors of the images a run adds go into the survey's inverted index
(:mod:`..retrieval`); the pairs they surface are scored exactly and their votes kept in
the survey state, so a later run queries only its new images.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import numpy as np
from tqdm import tqdm

from ..results import DuplicateSearch
from ..retrieval import (DescriptorIndex, RetrievalSettings, match_counts, retrieval_descriptors,
                         select_candidates)
from ..state import SurveyState
from ..verify import FeatureStore
from .base import Proposal, as_pairs, pair_keys, sorted_contains

__all__ = ["KeypointRetrieval", "StoreDescriptors", "feature_candidates", "retrieval_votes"]

# Surfaced pairs given to the scoring threads at a time.
_SCORE_CHUNK = 8192


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
                                         progress=proposal.options.progress,
                                         shards=proposal.shards)
            self._pairs = as_pairs(i, j)
            proposal.timings["retrieval_s"] = time.perf_counter() - start
        return self._pairs


class StoreDescriptors(Sequence):
    """The retrieval descriptors of images of a store, read when asked for.

    Held, they would cost 9.6 KB per image (300 ORB descriptors) beside the index
    that already holds them; read from the store (in memory or on disk) they cost
    one row read each time.

    Parameters
    ----------
    store : FeatureStore
        The run's features.
    settings : RetrievalSettings
        How many descriptors an image contributes.
    positions : ndarray, optional
        Which images of ``store``, in order; default all.
    """

    def __init__(self, store: FeatureStore, settings: RetrievalSettings,
                 positions: np.ndarray | None = None) -> None:
        self.store, self.settings = store, settings
        self.positions = (np.arange(len(store)) if positions is None
                          else np.asarray(positions, np.int64))

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, k: int) -> np.ndarray:
        if not isinstance(k, (int, np.integer)):
            raise TypeError(f"StoreDescriptors takes an int position, got {k!r}")
        return retrieval_descriptors(self.store[int(self.positions[k])], self.settings)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[k] for k in range(len(self)))


def _surfaced_pairs(index: DescriptorIndex, image_ids: np.ndarray,
                    descriptors: Sequence[np.ndarray], radius: int, min_count: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`DescriptorIndex.surfaced_pairs` in this process."""
    return index.surfaced_pairs(image_ids, descriptors, radius, min_count=min_count)


def retrieval_votes(descriptors: Sequence[np.ndarray], a: np.ndarray, b: np.ndarray,
                    radius: int, *, workers: int = 1, progress: bool = False) -> np.ndarray:
    """Exact votes of the pairs ``(a[p], b[p])``: :func:`~..retrieval.match_counts`' smaller
    direction, positions into ``descriptors``.

    Returns
    -------
    ndarray
        ``int64`` votes, one per pair.
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)

    def score(p: int) -> int:
        return min(match_counts(descriptors[int(a[p])], descriptors[int(b[p])], radius))

    votes = np.zeros(len(a), np.int64)
    with ThreadPoolExecutor(workers) as pool, tqdm(total=len(a), desc="retrieval", unit="pair",
                                                    disable=not progress) as bar:
        # A chunk at a time: the executor holds a future per pair it is given.
        for start in range(0, len(a), _SCORE_CHUNK):
            stop = min(start + _SCORE_CHUNK, len(a))
            votes[start:stop] = list(pool.map(score, range(start, stop)))
            bar.update(stop - start)
    return votes


def feature_candidates(store: FeatureStore, ids: np.ndarray, new: np.ndarray,
                       state: SurveyState, settings: RetrievalSettings, *, workers: int = 1,
                       progress: bool = False, shards: object | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    shards : optional
        What spreads the queries and the rescoring over ``torchrun`` ranks: an object
        with ``surfaced_pairs(index, image_ids, descriptors, radius, min_count)`` and
        ``retrieval_votes`` (as :func:`retrieval_votes`), such as
        :class:`~mmselfsup_ext.apis.distributed.DistributedEncoder`; default this process.

    Returns
    -------
    i, j, votes : ndarray
        ``int64`` positions into the current images, ``i < j``, and their votes.
    """
    descriptors = StoreDescriptors(store, settings)
    added = np.flatnonzero(new)
    # Sized for every current image first, so a new survey never fills the exact index.
    if not state.index.grow(ids, descriptors):
        state.index.add(ids[added], StoreDescriptors(store, settings, added))
    # Surfaced matches only propose: a pair's exact votes (both directions) decide.
    surface = getattr(shards, "surfaced_pairs", _surfaced_pairs)
    query, other, _ = surface(state.index, ids[added], StoreDescriptors(store, settings, added),
                              settings.radius, max(1, settings.min_votes // 2))
    # Positions of image ids (-1: not a current image), as an array: a dict of every
    # image and sets of every surfaced pair would cost ~15 KB per image in objects.
    position = np.full(int(ids.max()) + 1 if len(ids) else 0, -1, np.int64)
    position[ids] = np.arange(len(ids))

    def where(image_ids: np.ndarray) -> np.ndarray:
        inside = image_ids < len(position)
        return np.where(inside, position[np.where(inside, image_ids, 0)], -1)

    current = where(other) >= 0
    todo = np.unique(np.stack([np.minimum(query, other)[current],
                               np.maximum(query, other)[current]], axis=1), axis=0)
    known = np.array(list(state.votes), dtype=np.int64).reshape(-1, 2)
    todo = todo[~sorted_contains(np.sort(pair_keys(known[:, 0], known[:, 1])),
                                 pair_keys(todo[:, 0], todo[:, 1]))]

    votes_of = getattr(shards, "retrieval_votes", retrieval_votes)
    scores = votes_of(descriptors, position[todo[:, 0]], position[todo[:, 1]], settings.radius,
                      workers=workers, progress=progress)
    # Only pairs that can become candidates are kept: a pair is scored once, when its
    # newer image is queried, so a weaker one is never proposed again.
    strong = scores >= settings.min_votes
    state.votes.update(zip(map(tuple, todo[strong].tolist()), scores[strong].tolist()))
    pairs = np.array(list(state.votes), dtype=np.int64).reshape(-1, 2)
    votes = np.fromiter(state.votes.values(), np.int64, len(state.votes))
    a, b = where(pairs[:, 0]), where(pairs[:, 1])
    current = (a >= 0) & (b >= 0)
    if not current.any():
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    a, b, v = a[current], b[current], votes[current]
    return select_candidates(a, b, v, settings)
