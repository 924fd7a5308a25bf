"""The seam every candidate source plugs into: what a source sees and what it returns.

A source proposes pairs of images worth a geometric check. The pipeline asks every
source of the run (:attr:`~..options.DedupOptions.sources`), unions their pairs,
verifies them, and then asks the sources that read verified pairs
(``after_verification``) for more, until they propose nothing new.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np

from ..results import DuplicateSearch

if TYPE_CHECKING:  # the options validate against this package's registry
    from ..options import DedupOptions
    from ..spatial import SpatialCodes
    from ..state import SurveyState
    from ..verify import FeatureStore

__all__ = ["CandidateSource", "Proposal", "as_pairs", "pair_keys", "sorted_contains"]


@dataclass
class Proposal:
    """What a source may read: the run's features and state, one tag's codes and search.

    Attributes
    ----------
    options : DedupOptions
        The run's settings, resolved once.
    search : DuplicateSearch
        The tag's hash search (its pairs, thresholds and capture groups).
    codes : ndarray
        The tag's ``uint8`` codes, rows aligned with ``search.paths``.
    bits : int
        Code length of the tag.
    spatial : SpatialCodes or None
        The cell layout and rule of spatial codes, ``None`` for whole-image codes.
    features : FeatureStore
        Keypoint features of the current images.
    state : SurveyState
        The survey's index, votes and verifications (sources may update its index
        and votes).
    ids, new : ndarray
        Each image's survey id, and which images this run adds.
    timings : dict of str to float
        Run-wide seconds a source spends once (e.g. ``retrieval_s``), for ``summary.json``.
    shards : object or None
        What spreads a source's work over ``torchrun`` ranks (the feature encoder, when
        it offers ``surfaced_pairs`` and ``retrieval_votes``); None: this process.
    """

    options: DedupOptions
    search: DuplicateSearch
    codes: np.ndarray
    bits: int
    spatial: SpatialCodes | None
    features: FeatureStore
    state: SurveyState
    ids: np.ndarray
    new: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    shards: object | None = None


class CandidateSource(Protocol):
    """A generator of candidate pairs (one module of :mod:`.sources` each).

    ``after_verification`` sources are asked again with every verified result, until
    they return no pair the verified result lacks; the others are asked once per tag.
    A source instance lives for one run, so it may keep what all tags share.
    """

    after_verification: ClassVar[bool]

    def propose(self, proposal: Proposal, verified: DuplicateSearch | None = None
                ) -> np.ndarray:
        """``(P, 2)`` ``int64`` pairs ``(i, j)``, positions with ``i < j``."""
        ...


def as_pairs(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``(P, 2)`` ``int64`` pairs from two position arrays (no reordering)."""
    return np.stack([np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)], axis=1)


def pair_keys(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One ``int64`` per pair of ids or positions below 2**31 (for membership tests)."""
    return (np.asarray(lo, dtype=np.int64) << 32) | np.asarray(hi, dtype=np.int64)


def sorted_contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each of ``keys`` is in ``sorted_keys`` (sorted ascending)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys
