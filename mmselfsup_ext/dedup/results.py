"""Result types of a deduplication run: the search, the keep decision, each tag, the run.

Plain dataclasses with no behaviour beyond derived counts, so every stage (encode,
propose, verify, select, write, report) can import them without importing another.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["CoverageSelection", "DedupRun", "DuplicateSearch", "EncodeResult", "KeepDecision",
           "TagOutcome"]


@dataclass
class EncodeResult:
    """Codes of the readable inputs and the reasons the others were skipped.

    Attributes
    ----------
    codes : dict of str to ndarray
        Tag -> ``uint8`` codes ``(n_ok, nbytes)``, rows aligned with ``ok_paths``.
    ok_paths : list of pathlib.Path
        Readable inputs, input order preserved.
    unreadable : list of (pathlib.Path, str)
        Skipped inputs with a one-line reason.
    timings : dict of str to float
        Optional per-tag encode seconds; a tag missing here is charged the
        wall time of the whole ``encode`` call by the pipeline.
    """

    codes: dict[str, np.ndarray]
    ok_paths: list[Path]
    unreadable: list[tuple[Path, str]]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class CoverageSelection:
    """Outcome of :func:`~.coverage.coverage_keep`.

    Attributes
    ----------
    keep : ndarray
        ``bool`` (N,) keep mask.
    coverage : ndarray
        ``float64`` (N,): fraction of each image's cells shown by the kept images
        other than itself (1 - what removing it would lose).
    coverers : dict of int to list of int
        Removed image -> the kept images whose projections cover it.
    doubtful_pairs : set of (int, int)
        Pairs left out because their projection disagreed with a chain through a
        third image.
    retained : float
        Estimated surface of the kept images / surface of all images, from the same
        projections (the union of a set is built image by image in index order, each
        adding the cells its earlier members do not show).
    min_coverage : float
        The required share of a removed image.
    """

    keep: np.ndarray
    coverage: np.ndarray
    coverers: dict[int, list[int]]
    doubtful_pairs: set[tuple[int, int]]
    retained: float
    min_coverage: float


@dataclass
class DuplicateSearch:
    """Candidate pairs, their distances and the duplicate decision.

    Attributes
    ----------
    i, j, distance : ndarray
        ``int64`` candidate pairs (positions into ``paths``), ``i < j``, sorted by
        ``(i, j)``.
    duplicate : ndarray
        ``bool``, ``distance <= threshold`` of the pair's capture group.
    threshold : int
        The summary threshold (see :func:`~.threshold.combined_threshold`).
    thresholds : dict of str to int
        Threshold of each capture group (``--group-by`` key, ``"all"`` without it).
    histogram : ndarray
        Sum over capture groups of the histograms Otsu saw (``histogram_source``).
    populated : dict of str to bool
        Whether each capture group's histogram had any mass.
    paths : list of str
        The paths the positions refer to.
    n_bits : int
        Code length.
    pairing, window, group_by, threshold_mode, histogram_source, report_radius
        The settings used (``window`` only for ``window`` pairing,
        ``report_radius`` only for ``all``).
    overlap, inliers, verify_status : ndarray or None
        After :func:`verify_search`: each pair's verified overlap (``float64``, NaN
        when unverifiable), model inliers and status; ``duplicate`` is then
        ``overlap >= min_overlap``. None for a hash-only search.
    homography : ndarray or None
        After verification: ``(P, 3, 3)`` map from the first image's original
        pixels to the second's (NaN where no plausible model was found).
    min_overlap : float or None
        Overlap threshold of the verification.
    image_sizes : ndarray or None
        After verification: ``(N, 2)`` original ``(width, height)`` of each image.
    """

    i: np.ndarray
    j: np.ndarray
    distance: np.ndarray
    duplicate: np.ndarray
    threshold: int
    thresholds: dict[str, int]
    histogram: np.ndarray
    populated: dict[str, bool]
    paths: list[str]
    n_bits: int
    pairing: str
    window: int | None
    group_by: str | None
    threshold_mode: str
    histogram_source: str
    report_radius: int | None
    overlap: np.ndarray | None = None
    inliers: np.ndarray | None = None
    verify_status: np.ndarray | None = None
    homography: np.ndarray | None = None
    min_overlap: float | None = None
    image_sizes: np.ndarray | None = None

    @property
    def n_duplicate_pairs(self) -> int:
        """Number of candidate pairs judged duplicates."""
        return int(self.duplicate.sum())


@dataclass
class KeepDecision:
    """Which images are kept and which removed.

    Attributes
    ----------
    components : list of ndarray
        Duplicate components of size > 1 (positions ascending).
    keepers : list of int
        The policy's preferred image of each component (always kept; in ``cover``
        mode a component can keep more images, see ``keep``).
    keep, remove : ndarray
        ``int64`` positions kept / removed, ascending; together every position.
    policy : str
        Keep policy used.
    mode : str
        Keep mode used (see :func:`select_keepers`).
    coverage : CoverageSelection or None
        ``coverage`` mode: what each removed image is covered by, the coverage
        estimates and the doubtful pairs.
    n_pairwise_removed : int or None
        ``coverage`` mode: images the pairwise ``cover`` rule would have removed.
    """

    components: list[np.ndarray]
    keepers: list[int]
    keep: np.ndarray
    remove: np.ndarray
    policy: str
    mode: str
    coverage: CoverageSelection | None = None
    n_pairwise_removed: int | None = None


@dataclass
class TagOutcome:
    """Everything computed and written for one tag."""

    tag: str
    bits: int
    search: DuplicateSearch
    decision: KeepDecision
    summary: dict
    folder: Path

    @property
    def keep_paths(self) -> list[str]:
        """Relative paths of kept images."""
        return [self.search.paths[p] for p in self.decision.keep]

    @property
    def remove_paths(self) -> list[str]:
        """Relative paths of removed images."""
        return [self.search.paths[p] for p in self.decision.remove]


@dataclass
class DedupRun:
    """Result of :func:`deduplicate_folder`."""

    root: Path
    out: Path
    n_images: int
    encoded: EncodeResult
    outcomes: dict[str, TagOutcome] = field(default_factory=dict)
    report_path: Path | None = None
