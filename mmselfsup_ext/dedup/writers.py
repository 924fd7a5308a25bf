"""Writers for the output contract (docs/design.md §5); scripts and benchmarks parse these files.

Every file is written to a temporary name and renamed into place, so a reader
never sees a half-written file and an interrupted run leaves the previous one.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import numpy as np

from ..hashing import codes_to_hex

__all__ = ["CODES_COLUMNS", "PAIRS_COLUMNS", "VERIFY_COLUMNS", "SUMMARY_KEYS",
           "atomic_open", "atomic_write_text", "write_codes_csv",
           "write_pairs_csv", "write_path_list", "write_summary_json", "write_summary_csv"]

CODES_COLUMNS = ("path", "code_hex")
PAIRS_COLUMNS = ("path_a", "path_b", "distance", "duplicate")
# Appended to PAIRS_COLUMNS only when pairs were geometrically verified (--verify).
VERIFY_COLUMNS = ("overlap", "inliers", "verify_status")
# Keys summary.json always has (extra keys may follow them).
SUMMARY_KEYS = ("method", "bits", "pairing", "threshold", "histogram", "n_images",
                "n_unreadable", "unreadable", "n_duplicate_pairs", "n_groups", "n_removed",
                "dedup_rate", "timings")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[TextIO]:
    """Open a UTF-8 text file that appears at ``path`` only once fully written.

    Writes go to a temporary file in the same folder, renamed over ``path`` on a
    clean exit and removed on an exception.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; outputs get the mode a plain open() would give.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path) as fh:
        fh.write(text)
    return Path(path)


def _write_csv(path: str | os.PathLike, header: Sequence[str],
               rows: Iterable[Sequence[object]]) -> Path:
    # Streamed row by row: pairs.csv of a large 'all' run can hold millions of rows.
    with atomic_open(path) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return Path(path)


def write_codes_csv(path: str | os.PathLike, rel_paths: Sequence[str], codes: np.ndarray) -> Path:
    """Write ``codes.csv``: ``path,code_hex``, one row per encoded image, input order."""
    if len(rel_paths) != len(codes):
        raise ValueError(f"{len(rel_paths)} paths but {len(codes)} codes")
    hexes = codes_to_hex(codes) if len(codes) else []
    return _write_csv(path, CODES_COLUMNS, zip(rel_paths, hexes))


def write_pairs_csv(path: str | os.PathLike, rel_paths: Sequence[str], i: np.ndarray,
                    j: np.ndarray, distance: np.ndarray, duplicate: np.ndarray,
                    verification: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                    ) -> Path:
    """Write ``pairs.csv``: ``path_a,path_b,distance,duplicate`` (duplicate is 1 or 0).

    ``path_a`` is the earlier image in capture order. With ``verification`` =
    ``(overlap, inliers, status)`` the :data:`VERIFY_COLUMNS` follow: overlap with
    4 decimals (empty when NaN, i.e. unverifiable), inlier count and status.
    """
    n = len(i)
    if not n == len(j) == len(distance) == len(duplicate):
        raise ValueError("i, j, distance and duplicate must have equal lengths")
    base = zip(np.asarray(i).tolist(), np.asarray(j).tolist(), np.asarray(distance).tolist(),
               np.asarray(duplicate).tolist())
    if verification is None:
        rows = ((rel_paths[a], rel_paths[b], int(d), int(bool(dup))) for a, b, d, dup in base)
        return _write_csv(path, PAIRS_COLUMNS, rows)
    overlap, inliers, status = (np.asarray(v) for v in verification)
    if not n == len(overlap) == len(inliers) == len(status):
        raise ValueError("verification arrays must have one entry per pair")
    rows = ((rel_paths[a], rel_paths[b], int(d), int(bool(dup)),
             "" if np.isnan(ov) else f"{ov:.4f}", int(inl), str(st))
            for (a, b, d, dup), ov, inl, st in zip(base, overlap.tolist(), inliers.tolist(),
                                                   status.tolist()))
    return _write_csv(path, PAIRS_COLUMNS + VERIFY_COLUMNS, rows)


def write_path_list(path: str | os.PathLike, rel_paths: Iterable[str]) -> Path:
    """Write ``keep.txt`` / ``remove.txt``: one relative path per line."""
    with atomic_open(path) as fh:
        fh.writelines(f"{p}\n" for p in rel_paths)
    return Path(path)


def _jsonable(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def _dumps_compact_lists(value: object, indent: int = 0) -> str:
    """JSON with 2-space indentation, but lists of scalars on one line.

    A 129-bin histogram then takes one line instead of 129.
    """
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, Mapping) and value:
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: "
                 f"{_dumps_compact_lists(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, (Mapping, list, tuple))
                                                for v in value):
        items = [f"{inner}{_dumps_compact_lists(v, indent + 2)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False, default=_jsonable)


def write_summary_json(path: str | os.PathLike, summary: Mapping[str, object]) -> Path:
    """Write ``summary.json`` after checking it has every contract key."""
    missing = [key for key in SUMMARY_KEYS if key not in summary]
    if missing:
        raise ValueError(f"summary is missing contract keys: {missing}")
    return atomic_write_text(path, _dumps_compact_lists(summary) + "\n")


def write_summary_csv(path: str | os.PathLike, rows: Sequence[Mapping[str, object]]) -> Path:
    """Write the top-level ``summary.csv``: one row per tag (see :func:`~.summary.summary_row`).

    The columns are the union of the rows' keys in order of appearance; a row
    without a column leaves its cell empty.
    """
    columns = list(dict.fromkeys(key for row in rows for key in row))
    body = [[row.get(col, "") for col in columns] for row in rows]
    return _write_csv(path, columns, body)
