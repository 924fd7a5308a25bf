"""The per-tag summary (``summary.json``) and its one-line form (``summary.csv``, tables).

One schema: :func:`build_summary` makes the summary of a tag, and every shorter view
of it (the top-level CSV, the printed table, the report's table) is a projection by
:func:`summary_row`, so no key is computed twice.
"""
from __future__ import annotations

import re

from collections.abc import Mapping

import numpy as np

from .results import DedupRun, DuplicateSearch, KeepDecision

__all__ = ["ROW_COLUMNS", "build_summary", "method_of_tag", "run_rows",
           "summary_row"]

# Columns of summary.csv (one row per tag); the timings come from summary["timings"].
ROW_COLUMNS = ("tag", "method", "bits", "pairing", "threshold", "n_images", "n_unreadable",
               "n_duplicate_pairs", "n_groups", "n_removed", "dedup_rate", "encode_s",
               "search_s")


def method_of_tag(tag: str) -> str:
    """Method name of an output tag: the tag without its trailing bit count (and cell grid).

    Examples
    --------
    >>> method_of_tag("phash64"), method_of_tag("hashclr128"), method_of_tag("spatialhash64x8x8")
    ('phash', 'hashclr', 'spatialhash')
    """
    return re.sub(r"\d+(x\d+x\d+)?$", "", tag) or tag


def build_summary(tag: str, bits: int, search: DuplicateSearch, decision: KeepDecision, *,
                  n_images: int, unreadable: list[dict], timings: Mapping[str, float],
                  encoder: str, n_cached: int) -> dict:
    """The ``summary.json`` content of one tag.

    Parameters
    ----------
    tag, bits : str, int
        Output tag and code length.
    search, decision : DuplicateSearch, KeepDecision
        What was found and decided.
    n_images : int
        Every discovered file, readable or not (``keep.txt`` + ``remove.txt`` list
        the ``n_images - n_unreadable`` encoded ones).
    unreadable : list of dict
        ``{"path", "reason"}`` of each skipped file.
    timings : mapping
        Seconds per stage: ``encode_s``, ``search_s``, ``keep_s`` and, after
        verification, ``verify_s``.
    encoder : str
        The encoder's identity.
    n_cached : int
        Images whose codes came from the encodings cache.

    Returns
    -------
    dict
        The contract keys first, in the order of the output contract, then the
        details.
    """
    n_removed = int(decision.remove.size)
    summary = {
        "method": method_of_tag(tag),
        "bits": int(bits),
        "pairing": search.pairing,
        "threshold": int(search.threshold),
        "histogram": search.histogram.tolist(),
        "n_images": int(n_images),
        "n_unreadable": len(unreadable),
        "unreadable": unreadable,
        "n_duplicate_pairs": search.n_duplicate_pairs,
        # Duplicate groups: connected components with more than one image.
        "n_groups": len(decision.components),
        "n_removed": n_removed,
        "dedup_rate": n_removed / n_images if n_images else 0.0,
        "timings": {key: round(float(timings[key]), 6)
                    for key in ("encode_s", "search_s", "keep_s")},
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
        "encoder": encoder,
        "n_cached": int(n_cached),
        "verified": search.overlap is not None,
    }
    selection = decision.coverage
    if selection is not None:
        removed = selection.coverage[~selection.keep]
        summary.update({
            "min_coverage": selection.min_coverage,
            "estimated_coverage_retained": round(float(selection.retained), 6),
            "removed_coverage_min": round(float(removed.min()), 6) if removed.size else None,
            "n_pairwise_removed": decision.n_pairwise_removed,
            "n_doubtful_pairs": len(selection.doubtful_pairs),
        })
    if search.overlap is not None:
        summary.update({
            "n_verified": int(search.i.size),
            "verify_s": round(float(timings["verify_s"]), 6),
            "min_overlap": search.min_overlap,
            "n_unverifiable": int(np.sum(search.verify_status == "unverifiable")),
        })
    return summary


def summary_row(summary: Mapping[str, object]) -> dict:
    """The one-line form of a summary: :data:`ROW_COLUMNS`, then ``n_verified`` and
    ``verify_s`` when the tag's pairs were geometrically verified.

    Examples
    --------
    >>> row = summary_row({"tag": "phash64", "method": "phash", "bits": 64,
    ...                    "pairing": "window", "threshold": 9, "n_images": 4,
    ...                    "n_unreadable": 0, "n_duplicate_pairs": 1, "n_groups": 1,
    ...                    "n_removed": 1, "dedup_rate": 0.25,
    ...                    "timings": {"encode_s": 0.12345, "search_s": 0.001}})
    >>> row["encode_s"], list(row)[-1]
    (0.123, 'search_s')
    """
    timings = summary["timings"]
    row = {key: summary[key] for key in ROW_COLUMNS if key in summary}
    row["dedup_rate"] = round(float(summary["dedup_rate"]), 6)
    row["encode_s"] = round(float(timings["encode_s"]), 3)
    row["search_s"] = round(float(timings["search_s"]), 3)
    if summary.get("verified"):
        row["n_verified"] = summary["n_verified"]
        row["verify_s"] = round(float(summary["verify_s"]), 3)
    return row


def run_rows(run: DedupRun) -> list[dict]:
    """:func:`summary_row` of every tag of a run, in tag order."""
    return [summary_row(outcome.summary) for outcome in run.outcomes.values()]
