"""Deduplicate a folder: discover -> encode -> propose -> verify -> select -> write -> report.

:func:`deduplicate_folder` only orchestrates (docs/design.md has the picture); each stage
lives in its own module and calls back into neither this one nor another stage:

- discover: :func:`~mmselfsup_ext.fileio.discover_images`;
- encode: the encoder (:mod:`.encoders`, :mod:`.cache`) and, with ``verify``, keypoint
  features (:mod:`.verify`);
- propose: the hash search (:mod:`.hash_search`, :mod:`.spatial`) and, with ``verify``,
  the candidate sources of :attr:`~.options.DedupOptions.sources` (:mod:`.sources`);
- verify: :mod:`.verification`;
- select: :mod:`.keep`;
- write and report: :mod:`.writers`, :mod:`.summary`, :mod:`.report`.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..fileio import discover_images, is_within, relative_posix
from .cache import SPILL_BYTES, CachedEncodeResult, CachedEncoder
from .encoders import EncodeResult, Encoder, check_encoder
from .hash_search import search_codes
from .keep import keep_images
from .options import DedupOptions, resolve_options
from .results import DedupRun, DuplicateSearch, TagOutcome
from .retrieval import RetrievalSettings
from . import sources as source_registry
from .sources import CandidateSource, Proposal
from .spatial import SpatialCodes, search_cells, spatial_codes, spatial_distances
from .state import SurveyState, file_key
from .summary import build_summary, run_rows
from .verification import verify_search
from .verify import FeatureEncoder, FeatureStore, VerifiedPairs, verify_pairs
from .writers import (write_codes_csv, write_pairs_csv, write_path_list, write_summary_csv,
                      write_summary_json)

__all__ = ["check_folders", "deduplicate_folder"]

_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: Verification rounds at most for the sources that read verified pairs (each round
#: verifies what the previous one led them to propose; bounded for pathological graphs).
CLOSURE_ROUNDS = 8


def check_folders(image_dir: str | os.PathLike, out: str | os.PathLike) -> None:
    """Refuse a missing input folder, an output inside the input, or a file as output.

    An output inside the input would be discovered as input by a later run (with
    another ``--out``), so it is refused rather than only skipped by this run.

    Raises
    ------
    ValueError
        With a one-line message naming the folder.
    """
    root, out = Path(image_dir), Path(out)
    if not root.is_dir():
        raise ValueError(f"image folder {str(root)!r} does not exist or is not a directory")
    if os.path.realpath(out) == os.path.realpath(root):
        raise ValueError("the output folder must not be the input folder itself")
    if is_within(out, root):
        raise ValueError(f"output folder {str(out)!r} lies inside the input folder "
                         f"{str(root)!r}; a later run would read its files as photos: "
                         "choose a folder outside it")
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {str(out)!r} exists and is not a directory")


def _check_encoder(encoder: Encoder) -> None:
    check_encoder(encoder)
    bad_tags = [t for t in encoder.tags if not _TAG.match(t)]
    if bad_tags:
        raise ValueError(f"encoder tags must be plain folder names, got {bad_tags}")


@dataclass
class _Verification:
    """The run-wide part of verification: features, the survey state, the sources."""

    store: FeatureStore
    match: Callable[..., VerifiedPairs]
    state: SurveyState
    ids: np.ndarray
    new: np.ndarray
    sources: list[CandidateSource]
    timings: dict[str, float] = field(default_factory=dict)
    shards: object | None = None


def _prepare_verification(encoded: EncodeResult, options: DedupOptions,
                          feature_encoder: Encoder | None, spatial: bool) -> _Verification:
    """Features of every readable image, the survey state and the run's sources."""
    extractor = FeatureEncoder(max_side=options.verify_max_side,
                               n_features=options.max_features)
    encoder = extractor if feature_encoder is None else feature_encoder
    if options.cache_dir is not None:
        # Feature rows (40 KB per image) wait for verification on disk, not in memory.
        encoder = CachedEncoder(encoder, options.cache_dir, spill_bytes=SPILL_BYTES)
    start = time.perf_counter()
    found = encoder.encode(encoded.ok_paths, workers=options.workers, progress=options.progress)
    store = FeatureStore.from_encoding(found, encoded.ok_paths, extractor)
    timings = {"features_s": time.perf_counter() - start}
    state = SurveyState.open(options.cache_dir,
                             f"{extractor.identity}|{RetrievalSettings().fingerprint}|verify=v1")
    ids, new = state.assign_ids([file_key(p) for p in encoded.ok_paths])
    sources = source_registry.build_sources(options.sources, spatial)
    # An encoder that shards extraction across ranks shards the matching and retrieval too.
    match = getattr(feature_encoder, "verify_pairs", verify_pairs)
    shards = feature_encoder if hasattr(feature_encoder, "surfaced_pairs") else None
    return _Verification(store, match, state, ids, new, sources, timings, shards)


def _union(parts: list[np.ndarray]) -> np.ndarray:
    """Unique ``(P, 2)`` pairs of several proposals, sorted by ``(i, j)``."""
    return np.unique(np.concatenate(parts).reshape(-1, 2), axis=0)


def _verified_search(search: DuplicateSearch, codes: np.ndarray, bits: int,
                     options: DedupOptions, run: _Verification, spatial: SpatialCodes | None
                     ) -> tuple[DuplicateSearch, dict[str, int]]:
    """The hash search judged by verified overlap on the union of the sources' pairs; and
    how many pairs the sources that read verified pairs added."""
    proposal = Proposal(options, search, codes, bits, spatial, run.store, run.state, run.ids,
                        run.new, run.timings, run.shards)
    closure = [source for source in run.sources if source.after_verification]
    pairs = _union([source.propose(proposal) for source in run.sources
                    if not source.after_verification])
    proposed = len(pairs)

    def verify(pairs: np.ndarray) -> DuplicateSearch:
        return verify_search(search, codes, pairs[:, 0], pairs[:, 1], run.store, run.state,
                             run.ids, min_overlap=options.min_overlap,
                             workers=options.workers, progress=options.progress, match=run.match)

    verified = verify(pairs)
    # Then what the verified result leads those sources to propose, until nothing new
    # (for implied pairs: a closure, the same pairs in any file order).
    for _ in range(CLOSURE_ROUNDS if closure else 0):
        more = _union([source.propose(proposal, verified) for source in closure])
        if not more.size:
            break
        pairs = _union([pairs, more])
        verified = verify(pairs)
    details = {"n_implied": int(len(verified.i) - proposed)}
    if spatial is None:
        return verified, details
    # Hamming distances of whole rows mean nothing for cell codes: report cell disagreement.
    distance = spatial_distances(codes, spatial.grid, verified.i, verified.j,
                                 spatial.rule.radius, options.min_overlap)
    return replace(verified, distance=distance), details


def deduplicate_folder(image_dir: str | os.PathLike, encoder: Encoder,
                       out: str | os.PathLike, options: DedupOptions | None = None, *,
                       feature_encoder: Encoder | None = None,
                       **settings: object) -> DedupRun:
    """Deduplicate a folder and write the output contract to ``out``.

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
    options : DedupOptions, optional
        Every setting of the run (see :class:`~.options.DedupOptions`).
    feature_encoder : Encoder, optional
        With ``verify``: what extracts the keypoint features, when it must be other
        than a plain :class:`~.verify.FeatureEncoder` of ``options`` (e.g. one that
        shards the work across ``torchrun`` ranks); its rows must be that encoder's.
        One that offers ``verify_pairs`` (as :func:`~.verify.verify_pairs`) matches
        the candidate pairs too.
    **settings
        Keyword settings of :class:`~.options.DedupOptions`, applied on top of
        ``options`` (``deduplicate_folder(d, enc, out, pairing="all")``).

    Returns
    -------
    DedupRun

    Raises
    ------
    ValueError
        For a missing input folder, a folder without images, or invalid options
        (checked before any work).

    Examples
    --------
    >>> from mmselfsup_ext.dedup import ClassicalEncoder
    >>> run = deduplicate_folder("photos/", ClassicalEncoder(["phash"]), "dedup_out",
    ...                          pairing="window", window=3)  # doctest: +SKIP
    >>> run.outcomes["phash64"].remove_paths  # doctest: +SKIP
    ['shot_0003.jpg', ...]
    """
    options = resolve_options(options, settings)
    check_folders(image_dir, out)
    _check_encoder(encoder)
    spatial = spatial_codes(encoder)
    if spatial is not None and len(encoder.tags) != 1:
        raise ValueError(f"an encoder of spatial codes must have one tag, got {list(encoder.tags)}")
    root, out = Path(image_dir), Path(out)
    if options.cache_dir is not None:
        encoder = CachedEncoder(encoder, options.cache_dir)
    files = discover_images(root, options.extensions)
    if not files:
        raise ValueError(f"no images ({', '.join(options.extensions)}) found under "
                         f"{str(root)!r}")

    start = time.perf_counter()
    encoded = encoder.encode(files, workers=options.workers, progress=options.progress)
    encode_wall = time.perf_counter() - start
    n_cached = encoded.n_cached if isinstance(encoded, CachedEncodeResult) else 0
    rel = [relative_posix(p, root) for p in encoded.ok_paths]
    unreadable = [{"path": relative_posix(p, root), "reason": reason}
                  for p, reason in encoded.unreadable]

    run = DedupRun(root=root, out=out, n_images=len(files), encoded=encoded)
    verification = (_prepare_verification(encoded, options, feature_encoder, spatial is not None)
                    if options.verify else None)
    try:
        _search_keep_write(run, encoder, rel, unreadable, n_cached, encode_wall, options,
                           verification, spatial)
        if verification is not None:
            verification.state.save()
    finally:
        if verification is not None:
            verification.state.close()
    write_summary_csv(out / "summary.csv", run_rows(run))
    if options.html_report:
        from .report import write_report  # matplotlib is imported only when needed
        run.report_path = write_report(run)
    return run


def _search_keep_write(run: DedupRun, encoder: Encoder, rel: list[str], unreadable: list[dict],
                       n_cached: int, encode_wall: float, options: DedupOptions,
                       verification: _Verification | None, spatial: SpatialCodes | None) -> None:
    """Every tag: search (and verify), keep, write its folder of the output contract."""
    encoded = run.encoded
    score_cache: dict[str, object] = {}
    for tag, bits in encoder.tags.items():
        codes = encoded.codes[tag]
        timings = {"encode_s": float(encoded.timings.get(tag, encode_wall))}
        start = time.perf_counter()
        search = (search_codes(codes, rel, options) if spatial is None
                  else search_cells(codes, rel, spatial, options))
        timings["search_s"] = time.perf_counter() - start
        details: dict[str, object] = {}
        if verification is not None:
            n_known = len(verification.state.verified)
            spent = sum(verification.timings.values())
            start = time.perf_counter()
            search, implied = _verified_search(search, codes, bits, options, verification,
                                               spatial)
            # The sources' run-wide seconds (retrieval_s) are reported apart, not twice.
            timings["verify_s"] = (time.perf_counter() - start
                                   - (sum(verification.timings.values()) - spent))
            details = {
                "candidate_sources": _source_names(options),
                **implied,
                "n_verified_now": len(verification.state.verified) - n_known,
                "n_new_images": int(verification.new.sum()),
                **{key: round(value, 6) for key, value in verification.timings.items()},
            }
        start = time.perf_counter()
        decision = keep_images(search, options, encoded.ok_paths, score_cache=score_cache)
        timings["keep_s"] = time.perf_counter() - start
        summary = build_summary(tag, bits, search, decision, n_images=run.n_images,
                                unreadable=unreadable, timings=timings,
                                encoder=encoder.identity, n_cached=n_cached)
        summary.update(details)
        outcome = TagOutcome(tag, int(bits), search, decision, summary, run.out / tag)
        write_codes_csv(outcome.folder / "codes.csv", rel, codes)
        write_pairs_csv(outcome.folder / "pairs.csv", rel, search.i, search.j,
                        search.distance, search.duplicate,
                        None if search.overlap is None else
                        (search.overlap, search.inliers, search.verify_status))
        write_path_list(outcome.folder / "keep.txt", outcome.keep_paths)
        write_path_list(outcome.folder / "remove.txt", outcome.remove_paths)
        write_summary_json(outcome.folder / "summary.json", summary)
        run.outcomes[tag] = outcome


def _source_names(options: DedupOptions) -> list[str]:
    """The sources of a tag's verified pairs, for ``summary.json`` (those that read
    verified pairs are counted in ``n_implied`` instead)."""
    return [name for name in options.sources
            if not source_registry.SOURCES[name].after_verification]
