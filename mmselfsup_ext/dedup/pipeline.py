"""Deduplicate a folder: discover -> encode -> search (-> verify) -> keep -> write.

:func:`deduplicate_folder` only orchestrates; each stage lives in its own module
(:mod:`.search`, :mod:`.keep`, :mod:`.summary`, :mod:`.writers`, :mod:`.report`).
"""
from __future__ import annotations

import os
import re
import time
from functools import partial
from pathlib import Path

from ..fileio import discover_images, is_within, load_image, relative_posix
from .cache import CachedEncodeResult, CachedEncoder
from .encoders import Encoder, check_encoder
from .keep import select_keepers
from .options import DedupOptions, resolve_options
from .results import DedupRun, TagOutcome
from .search import (default_report_radius, find_duplicates, verification_candidates,
                     verify_search)
from .summary import build_summary, run_rows
from .verify import FeatureCache
from .writers import (write_codes_csv, write_pairs_csv, write_path_list, write_summary_csv,
                      write_summary_json)

__all__ = ["check_folders", "deduplicate_folder"]

_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_folders(image_dir: str | os.PathLike, out: str | os.PathLike) -> None:
    """Refuse a missing input folder, an output that is the input, or a file as output.

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
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {str(out)!r} exists and is not a directory")


def _check_encoder(encoder: Encoder) -> None:
    check_encoder(encoder)
    bad_tags = [t for t in encoder.tags if not _TAG.match(t)]
    if bad_tags:
        raise ValueError(f"encoder tags must be plain folder names, got {bad_tags}")


def deduplicate_folder(image_dir: str | os.PathLike, encoder: Encoder,
                       out: str | os.PathLike, options: DedupOptions | None = None,
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
    root, out = Path(image_dir), Path(out)
    features: FeatureCache | None = None
    if options.verify:
        # One cache for the run: every tag verifies the same images, decoded once.
        features = FeatureCache(partial(load_image, min_size=options.verify_max_side),
                                max_side=options.verify_max_side)
    if options.cache_dir is not None:
        encoder = CachedEncoder(encoder, options.cache_dir)
    files = discover_images(root, options.extensions,
                            exclude=[out] if is_within(out, root) else [])
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
    score_cache: dict[str, object] = {}
    verified: dict[tuple[int, int], tuple[float, int, str]] = {}
    for tag, bits in encoder.tags.items():
        codes = encoded.codes[tag]
        timings = {"encode_s": float(encoded.timings.get(tag, encode_wall))}
        start = time.perf_counter()
        search = find_duplicates(codes, rel, options)
        timings["search_s"] = time.perf_counter() - start
        if features is not None:
            start = time.perf_counter()
            margin = (default_report_radius(bits) if options.verify_margin is None
                      else options.verify_margin)
            vi, vj = verification_candidates(search, codes, margin, options.verify_knn)
            search = verify_search(search, codes, vi, vj, encoded.ok_paths, features,
                                   min_overlap=options.min_overlap, workers=options.workers,
                                   progress=options.progress, memo=verified)
            timings["verify_s"] = time.perf_counter() - start
        start = time.perf_counter()
        decision = select_keepers(search, options, encoded.ok_paths, score_cache=score_cache)
        timings["keep_s"] = time.perf_counter() - start
        summary = build_summary(tag, bits, search, decision, n_images=len(files),
                                unreadable=unreadable, timings=timings,
                                encoder=encoder.identity, n_cached=n_cached)
        outcome = TagOutcome(tag, int(bits), search, decision, summary, out / tag)
        write_codes_csv(outcome.folder / "codes.csv", rel, codes)
        write_pairs_csv(outcome.folder / "pairs.csv", rel, search.i, search.j,
                        search.distance, search.duplicate,
                        None if search.overlap is None else
                        (search.overlap, search.inliers, search.verify_status))
        write_path_list(outcome.folder / "keep.txt", outcome.keep_paths)
        write_path_list(outcome.folder / "remove.txt", outcome.remove_paths)
        write_summary_json(outcome.folder / "summary.json", summary)
        run.outcomes[tag] = outcome
    write_summary_csv(out / "summary.csv", run_rows(run))
    if options.html_report:
        from .report import write_report  # matplotlib is imported only when needed
        run.report_path = write_report(run)
    return run
