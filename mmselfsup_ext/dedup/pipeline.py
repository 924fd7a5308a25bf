"""The deduplication pipeline: codes -> candidate pairs -> threshold -> groups -> keep.

With verification the hash stage only proposes pairs: :func:`verification_candidates`
picks them, :func:`verify_search` measures their overlap, and the ``cover`` keep
mode removes an image only when a kept image is its verified duplicate.

Three functions cover notebook use (imagededup-style)::

    search = find_duplicates(codes, paths, pairing="window", window=3, threshold="otsu")
    decision = select_keepers(search, keep="first")
    to_remove = find_duplicates_to_remove(codes, paths)          # both steps at once

and :func:`deduplicate_folder` runs discovery, encoding and every writer of the
output contract (DESIGN §5) for a folder.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from ..hashing import pair_distances, radius_pairs
from .actions import is_within
from .cache import CachedEncodeResult, CachedEncoder
from .discover import IMAGE_EXTENSIONS, discover_images, relative_posix
from .encoders import EncodeResult, Encoder
from .grouping import (KEEP_MODES, KEEP_POLICIES, choose_keepers, duplicate_components,
                       policy_score, priority_order)
from .loading import load_image
from .pairing import PAIRING_MODES, candidate_pairs, compile_group_regex, group_indices
from .parallel import ordered_map
from .threshold import (OTSU_SOURCES, all_pairs_histogram, candidate_histogram,
                        combined_threshold, parse_threshold, resolve_threshold)
from .verify import FeatureCache, coverage_keep, verify_pairs
from .writers import (write_codes_csv, write_pairs_csv, write_path_list, write_summary_csv,
                      write_summary_json)

__all__ = ["DuplicateSearch", "KeepDecision", "TagOutcome", "DedupRun", "find_duplicates",
           "select_keepers", "find_duplicates_to_remove", "verification_candidates",
           "verify_search", "deduplicate_folder", "default_report_radius", "method_of_tag"]

_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def default_report_radius(n_bits: int) -> int:
    """Reporting margin for ``pairing="all"``: ``n_bits // 8`` (8 of 64 bits).

    ``pairs.csv`` under ``all`` lists every pair with distance
    ``<= max(T, margin)``, so near-misses just above a low (or ``-1``) threshold
    are visible for review and threshold sweeps, while two unrelated codes
    (about ``n_bits / 2`` apart) almost never fall inside it and the file stays
    O(N), never N².
    """
    return max(0, int(n_bits) // 8)


def method_of_tag(tag: str) -> str:
    """Method name of an output tag: the tag without its trailing bit count
    (``"phash64" -> "phash"``, ``"hashclr128" -> "hashclr"``)."""
    return tag.rstrip("0123456789") or tag


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
    min_overlap : float or None
        Overlap threshold of the verification.
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
    min_overlap: float | None = None

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
    """

    components: list[np.ndarray]
    keepers: list[int]
    keep: np.ndarray
    remove: np.ndarray
    policy: str
    mode: str = "component"


def _check_choice(value: str, choices: Sequence[str], name: str) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def find_duplicates(codes: np.ndarray, paths: Sequence[str | os.PathLike], *,
                    pairing: str = "window", window: int = 3,
                    threshold: str | int = "otsu", group_by: str | None = None,
                    otsu_on: str = "knn", k: int = 1,
                    report_radius: int | None = None) -> DuplicateSearch:
    """Find duplicate pairs among binary codes.

    Parameters
    ----------
    codes : ndarray
        ``uint8`` packed codes ``(N, nbytes)``, rows in capture order.
    paths : sequence of str or path-like
        One name per row (``--group-by`` is matched against ``str(path)`` with
        ``/`` separators).
    pairing : {"window", "adjacent", "all"}, default "window"
        Candidate pairs within each capture group: the next ``window`` images,
        disjoint neighbours (0,1),(2,3),..., or every pair (searched by radius,
        never an N x N matrix).
    window : int, default 3
        Look-ahead of ``window`` pairing.
    threshold : "otsu" or int, default "otsu"
        Duplicate iff ``distance <= T``. Otsu runs per capture group on the
        candidate distances (``adjacent``/``window``) or, for ``all``, on the
        histogram chosen by ``otsu_on``.
    group_by : str, optional
        Regular expression; pairing and Otsu run separately per key (first
        capture group, else whole match); unmatched paths form ``"ungrouped"``.
    otsu_on : {"knn", "pairs"}, default "knn"
        ``all`` only: Otsu on each image's ``k`` nearest-neighbour distances, or
        on all pair distances (see :func:`~.threshold.all_pairs_histogram`).
    k : int, default 1
        Neighbours per image for ``otsu_on="knn"``.
    report_radius : int, optional
        ``all`` only: candidate pairs are those within ``max(T, report_radius)``;
        default :func:`default_report_radius`.

    Returns
    -------
    DuplicateSearch

    Examples
    --------
    >>> codes = np.array([[0], [0], [255], [254]], dtype=np.uint8)
    >>> s = find_duplicates(codes, ["a", "b", "c", "d"], pairing="adjacent", threshold=1)
    >>> s.i.tolist(), s.j.tolist(), s.duplicate.tolist()
    ([0, 2], [1, 3], [True, True])
    """
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.dtype != np.uint8:
        raise ValueError(f"codes must be a uint8 array (N, nbytes), got {codes.dtype} "
                         f"{codes.shape}")
    names = [Path(p).as_posix() if isinstance(p, os.PathLike) else str(p) for p in paths]
    if len(names) != codes.shape[0]:
        raise ValueError(f"{len(names)} paths for {codes.shape[0]} codes")
    _check_choice(pairing, PAIRING_MODES, "pairing")
    _check_choice(otsu_on, OTSU_SOURCES, "otsu_on")
    window = _check_positive_int(window, "window")
    k = _check_positive_int(k, "k")
    threshold = parse_threshold(threshold)
    n_bits = 8 * codes.shape[1]
    if report_radius is None:
        report_radius = default_report_radius(n_bits)
    elif isinstance(report_radius, bool) or not isinstance(report_radius, (int, np.integer)) \
            or report_radius < 0:
        raise ValueError(f"report_radius must be a non-negative int, got {report_radius!r}")
    regex = compile_group_regex(group_by) if group_by is not None else None

    parts_i, parts_j, parts_d, parts_dup = [], [], [], []
    thresholds: dict[str, int] = {}
    populated: dict[str, bool] = {}
    pooled = np.zeros(n_bits + 1, dtype=np.int64)
    for key, members in group_indices(names, regex).items():
        sub = codes[members]
        if pairing == "all":
            hist = all_pairs_histogram(sub, otsu_on, k)
            t = resolve_threshold(hist, threshold)
            li, lj, ld = radius_pairs(sub, max(t, int(report_radius)))
        else:
            li, lj = candidate_pairs(len(members), pairing, window)
            ld = pair_distances(sub, li, lj)
            hist = candidate_histogram(ld, n_bits)
            t = resolve_threshold(hist, threshold)
        thresholds[key] = int(t)
        populated[key] = bool(hist.sum() > 0)
        pooled += hist
        parts_i.append(members[li])
        parts_j.append(members[lj])
        parts_d.append(ld)
        parts_dup.append(ld <= t)
    i = np.concatenate(parts_i) if parts_i else np.zeros(0, np.int64)
    j = np.concatenate(parts_j) if parts_j else np.zeros(0, np.int64)
    d = np.concatenate(parts_d) if parts_d else np.zeros(0, np.int64)
    dup = np.concatenate(parts_dup) if parts_dup else np.zeros(0, bool)
    order = np.lexsort((j, i))
    source = "candidate_pairs" if pairing != "all" else (
        f"knn{k}" if otsu_on == "knn" else "all_pairs")
    return DuplicateSearch(
        i=i[order].astype(np.int64), j=j[order].astype(np.int64),
        distance=d[order].astype(np.int64), duplicate=dup[order].astype(bool),
        threshold=combined_threshold(thresholds, populated), thresholds=thresholds,
        histogram=pooled, populated=populated, paths=names, n_bits=n_bits, pairing=pairing,
        window=window if pairing == "window" else None, group_by=group_by,
        threshold_mode="otsu" if threshold == "otsu" else "fixed",
        histogram_source=source, report_radius=int(report_radius) if pairing == "all" else None)


def select_keepers(search: DuplicateSearch, keep: str = "first",
                   files: Sequence[str | os.PathLike] | None = None, *,
                   mode: str = "component", workers: int = 1, progress: bool = False,
                   score_cache: dict[str, object] | None = None) -> KeepDecision:
    """Decide which images to keep from the duplicate graph.

    Parameters
    ----------
    search : DuplicateSearch
        Result of :func:`find_duplicates` (or :func:`verify_search`).
    keep : {"first", "sharpest", "largest"}, default "first"
        Preference: ``first``: earliest in capture order. ``sharpest``: highest
        variance of the Laplacian (reduced greyscale decode). ``largest``: most
        pixels, then largest file. Ties go to the earliest image.
    mode : {"component", "cover"}, default "component"
        ``component`` (the paper): one image per connected component.
        ``cover``: images are visited in preference order and one is removed only
        if an already kept image is its duplicate (:func:`~.verify.coverage_keep`),
        so every removed image is a duplicate of a kept one; on a chain
        A~B~C~D~E with ``first`` it keeps A, C and E where ``component`` keeps A.
    files : sequence of path-like, optional
        Files to measure for ``sharpest``/``largest`` (aligned with
        ``search.paths``; default ``search.paths``). Only images in components of
        size > 1 are opened.
    workers : int, default 1
        Processes for measuring images.
    progress : bool, default False
        Progress bar while measuring.
    score_cache : dict, optional
        ``str(file)`` -> score, filled and reused (several tags share images).

    Returns
    -------
    KeepDecision
    """
    _check_choice(keep, KEEP_POLICIES, "keep")
    _check_choice(mode, KEEP_MODES, "mode")
    n = len(search.paths)
    components = duplicate_components(n, search.i[search.duplicate],
                                      search.j[search.duplicate])
    score: Callable[[int], object] | None = None
    if keep != "first" and components:
        files = list(search.paths if files is None else files)
        if len(files) != n:
            raise ValueError(f"{len(files)} files for {n} coded images")
        cache = {} if score_cache is None else score_cache

        def key(p: int) -> str:
            return f"{keep}:{files[p]}"

        members = sorted({int(p) for comp in components for p in comp})
        needed = [p for p in members if key(p) not in cache]
        scores = ordered_map(partial(policy_score, keep), [files[p] for p in needed],
                             workers, progress, desc=f"{keep} scores")
        for p, value in zip(needed, scores):
            cache[key(p)] = value

        def cached_score(p: int) -> object:
            return cache[key(p)]

        score = cached_score
    keepers = choose_keepers(components, keep, score)
    if mode == "cover":
        removed = ~coverage_keep(n, search.i, search.j, search.duplicate,
                                 priority_order(n, components, score))
    else:
        removed = np.zeros(n, dtype=bool)
        for comp, kept in zip(components, keepers):
            removed[comp] = True
            removed[kept] = False
    return KeepDecision(components=components, keepers=keepers,
                        keep=np.flatnonzero(~removed).astype(np.int64),
                        remove=np.flatnonzero(removed).astype(np.int64), policy=keep,
                        mode=mode)


def find_duplicates_to_remove(codes: np.ndarray, paths: Sequence[str | os.PathLike], *,
                              keep: str = "first",
                              files: Sequence[str | os.PathLike] | None = None,
                              mode: str = "component", **search_options) -> list[str]:
    """Paths to remove (by default one image per duplicate component remains).

    ``search_options`` are those of :func:`find_duplicates`; ``keep``, ``files``
    and ``mode`` those of :func:`select_keepers`.

    Examples
    --------
    >>> codes = np.array([[0], [1], [255]], dtype=np.uint8)
    >>> find_duplicates_to_remove(codes, ["a", "b", "c"], pairing="all", threshold=1)
    ['b']
    """
    search = find_duplicates(codes, paths, **search_options)
    decision = select_keepers(search, keep, files, mode=mode)
    return [search.paths[p] for p in decision.remove]


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
    if search.pairing != "all":
        return search.i, search.j
    regex = compile_group_regex(search.group_by) if search.group_by is not None else None
    parts_i, parts_j = [search.i], [search.j]
    for key, members in group_indices(search.paths, regex).items():
        sub = codes[members]
        li, lj, _ = radius_pairs(sub, max(0, search.thresholds[key] + int(margin)))
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
    if not 0.0 < min_overlap <= 1.0:
        raise ValueError(f"min_overlap must be in (0, 1], got {min_overlap!r}")
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
    summary_rows: list[dict] = field(default_factory=list)
    report_path: Path | None = None


def _summary(tag: str, bits: int, search: DuplicateSearch, decision: KeepDecision,
             n_images: int, unreadable: list[dict], encode_s: float, search_s: float,
             keep_s: float, identity: str, n_cached: int,
             verify_s: float | None = None) -> dict:
    n_removed = int(decision.remove.size)
    summary = {
        # Contract keys first, in DESIGN §5 order.
        "method": method_of_tag(tag),
        "bits": int(bits),
        "pairing": search.pairing,
        "threshold": int(search.threshold),
        "histogram": search.histogram.tolist(),
        # Every discovered file, readable or not; keep.txt + remove.txt list the
        # n_images - n_unreadable encoded ones.
        "n_images": int(n_images),
        "n_unreadable": len(unreadable),
        "unreadable": unreadable,
        "n_duplicate_pairs": search.n_duplicate_pairs,
        # Duplicate groups: connected components with more than one image.
        "n_groups": len(decision.components),
        "n_removed": n_removed,
        "dedup_rate": n_removed / n_images if n_images else 0.0,
        "timings": {"encode_s": round(encode_s, 6), "search_s": round(search_s, 6),
                    "keep_s": round(keep_s, 6)},
        "tag": tag,
        "window": search.window,
        "group_by": search.group_by,
        "thresholds": search.thresholds,
        "threshold_mode": search.threshold_mode,
        "histogram_source": search.histogram_source,
        "report_radius": search.report_radius,
        "n_candidate_pairs": int(search.i.size),
        "n_kept": int(decision.keep.size),
        "keep_policy": decision.policy,
        "keep_mode": decision.mode,
        "encoder": identity,
        # Images whose codes came from the encodings cache (encode_s covers the rest).
        "n_cached": int(n_cached),
        "verified": search.overlap is not None,
    }
    if search.overlap is not None:
        summary.update({
            "n_verified": int(search.i.size),
            "verify_s": round(float(verify_s or 0.0), 6),
            "min_overlap": search.min_overlap,
            "n_unverifiable": int(np.sum(search.verify_status == "unverifiable")),
        })
    return summary


def deduplicate_folder(image_dir: str | os.PathLike, encoder: Encoder,
                       out: str | os.PathLike, *, pairing: str = "window", window: int = 3,
                       threshold: str | int = "otsu", group_by: str | None = None,
                       otsu_on: str = "knn", k: int = 1, report_radius: int | None = None,
                       keep: str = "first", keep_mode: str = "cover", verify: bool = False,
                       min_overlap: float = 0.5, verify_max_side: int = 640,
                       verify_margin: int | None = None, verify_knn: int = 4,
                       workers: int = 1, progress: bool = True,
                       extensions: Sequence[str] = IMAGE_EXTENSIONS,
                       html_report: bool = True,
                       cache_dir: str | os.PathLike | None = None) -> DedupRun:
    """Deduplicate a folder and write the output contract (DESIGN §5) to ``out``.

    Writes ``out/<tag>/{codes.csv,pairs.csv,keep.txt,remove.txt,summary.json}``
    for every tag of ``encoder``, ``out/summary.csv`` and (``html_report``)
    ``out/report.html``. Nothing in ``image_dir`` is touched. When ``out`` lies
    inside ``image_dir`` it is excluded from discovery.

    Parameters
    ----------
    image_dir : path-like
        Input folder (searched recursively).
    encoder : Encoder
        Any object with ``tags``, ``identity`` and ``encode`` (see
        :class:`~.encoders.Encoder`).
    out : path-like
        Output folder.
    pairing, window, threshold, group_by, otsu_on, k, report_radius
        See :func:`find_duplicates`.
    keep : {"first", "sharpest", "largest"}
        See :func:`select_keepers`.
    keep_mode : {"cover", "component"}, default "cover"
        See :func:`select_keepers` (``mode``); ``verify`` requires ``cover``.
    verify : bool, default False
        Check candidate pairs (:func:`verification_candidates`) geometrically
        after the hash stage; a pair is then a duplicate iff its verified overlap
        is ``>= min_overlap``. Features are computed once per image for all tags.
    min_overlap : float, default 0.5
        Overlap (shared surface / smaller footprint) that makes a duplicate.
    verify_max_side : int, default 640
        Longest side images are reduced to for keypoint detection.
    verify_margin : int, optional
        ``all`` pairing: bits added to T for verification candidates; default
        ``bits // 8``.
    verify_knn : int, default 4
        ``all`` pairing: nearest codes per image also verified.
    workers : int, default 1
        Processes for encoding and keep scores (threads for verification).
    progress : bool, default True
        Progress bars on stderr.
    extensions : sequence of str
        Image suffixes to discover.
    html_report : bool, default True
        Also write ``report.html``.
    cache_dir : path-like, optional
        Encodings cache folder (:class:`~.cache.CachedEncoder`): images whose
        path, size and mtime match an earlier run with the same encoder are not
        encoded again. Default: no cache.

    Returns
    -------
    DedupRun

    Raises
    ------
    ValueError
        For a missing input folder, a folder without images, or invalid options
        (checked before any work).
    """
    root = Path(image_dir)
    out = Path(out)
    if not root.is_dir():
        raise ValueError(f"image folder {str(root)!r} does not exist or is not a directory")
    _check_choice(pairing, PAIRING_MODES, "pairing")
    _check_choice(keep, KEEP_POLICIES, "keep")
    _check_choice(keep_mode, KEEP_MODES, "keep_mode")
    _check_choice(otsu_on, OTSU_SOURCES, "otsu_on")
    _check_positive_int(window, "window")
    _check_positive_int(k, "k")
    _check_positive_int(workers, "workers")
    threshold = parse_threshold(threshold)
    if group_by is not None:
        compile_group_regex(group_by)
    if os.path.realpath(out) == os.path.realpath(root):
        raise ValueError("the output folder must not be the input folder itself")
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {str(out)!r} exists and is not a directory")
    bad_tags = [t for t in encoder.tags if not _TAG.match(t)]
    if bad_tags:
        raise ValueError(f"encoder tags must be plain folder names, got {bad_tags}")
    features: FeatureCache | None = None
    if verify:
        if keep_mode != "cover":
            raise ValueError("verify needs keep_mode 'cover': an image is removed only when "
                             "a kept image covers it")
        if not 0.0 < min_overlap <= 1.0:
            raise ValueError(f"min_overlap must be in (0, 1], got {min_overlap!r}")
        _check_positive_int(verify_knn, "verify_knn")
        if verify_margin is not None and (isinstance(verify_margin, bool) or not isinstance(
                verify_margin, (int, np.integer)) or verify_margin < 0):
            raise ValueError(f"verify_margin must be a non-negative int, got {verify_margin!r}")
        # One cache for the run: every tag verifies the same images, decoded once.
        features = FeatureCache(partial(load_image, min_size=verify_max_side),
                                max_side=verify_max_side)

    if cache_dir is not None:
        encoder = CachedEncoder(encoder, cache_dir)
    excluded = [out] if is_within(out, root) else []
    files = discover_images(root, extensions, exclude=excluded)
    if not files:
        raise ValueError(f"no images ({', '.join(extensions)}) found under {str(root)!r}")

    start = time.perf_counter()
    encoded = encoder.encode(files, workers=workers, progress=progress)
    encode_wall = time.perf_counter() - start
    n_cached = encoded.n_cached if isinstance(encoded, CachedEncodeResult) else 0
    rel = [relative_posix(p, root) for p in encoded.ok_paths]
    unreadable = [{"path": relative_posix(p, root), "reason": reason}
                  for p, reason in encoded.unreadable]

    run = DedupRun(root=root, out=out, n_images=len(files), encoded=encoded)
    score_cache: dict[str, object] = {}
    verified: dict[tuple[int, int], tuple[float, int, str]] = {}
    for tag, bits in encoder.tags.items():
        codes = encoded.codes[tag]
        start = time.perf_counter()
        search = find_duplicates(codes, rel, pairing=pairing, window=window,
                                 threshold=threshold, group_by=group_by, otsu_on=otsu_on,
                                 k=k, report_radius=report_radius)
        search_s = time.perf_counter() - start
        verify_s = None
        if features is not None:
            start = time.perf_counter()
            margin = default_report_radius(bits) if verify_margin is None else verify_margin
            vi, vj = verification_candidates(search, codes, margin, verify_knn)
            search = verify_search(search, codes, vi, vj, encoded.ok_paths, features,
                                   min_overlap=min_overlap, workers=workers,
                                   progress=progress, memo=verified)
            verify_s = time.perf_counter() - start
        start = time.perf_counter()
        decision = select_keepers(search, keep, encoded.ok_paths, mode=keep_mode,
                                  workers=workers, progress=progress, score_cache=score_cache)
        keep_s = time.perf_counter() - start
        encode_s = float(encoded.timings.get(tag, encode_wall))
        summary = _summary(tag, bits, search, decision, len(files), unreadable, encode_s,
                           search_s, keep_s, encoder.identity, n_cached, verify_s)
        folder = out / tag
        write_codes_csv(folder / "codes.csv", rel, codes)
        write_pairs_csv(folder / "pairs.csv", rel, search.i, search.j, search.distance,
                        search.duplicate,
                        None if search.overlap is None else
                        (search.overlap, search.inliers, search.verify_status))
        outcome = TagOutcome(tag, int(bits), search, decision, summary, folder)
        write_path_list(folder / "keep.txt", outcome.keep_paths)
        write_path_list(folder / "remove.txt", outcome.remove_paths)
        write_summary_json(folder / "summary.json", summary)
        run.outcomes[tag] = outcome
        run.summary_rows.append({
            "tag": tag, "method": summary["method"], "bits": summary["bits"],
            "pairing": pairing, "threshold": summary["threshold"],
            "n_images": summary["n_images"], "n_unreadable": summary["n_unreadable"],
            "n_duplicate_pairs": summary["n_duplicate_pairs"],
            "n_groups": summary["n_groups"], "n_removed": summary["n_removed"],
            "dedup_rate": round(summary["dedup_rate"], 6),
            "encode_s": round(encode_s, 3), "search_s": round(search_s, 3),
            **({"n_verified": summary["n_verified"], "verify_s": round(verify_s, 3)}
               if verify_s is not None else {})})
    write_summary_csv(out / "summary.csv", run.summary_rows)
    if html_report:
        from .report import write_report  # matplotlib is imported only when needed
        run.report_path = write_report(run)
    return run
