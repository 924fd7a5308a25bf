"""Persistent encodings cache: a re-run encodes only new or changed images.

:class:`CachedEncoder` wraps any :class:`~.encoders.Encoder`. Codes are stored
per ``(encoder identity and tags, absolute path, file size, mtime_ns)`` in one
SQLite file, ``<cache_dir>/encodings.sqlite``. Why SQLite (stdlib ``sqlite3``)
rather than per-chunk files renamed into place:

* a transaction is atomic and durable against the process dying at any point
  (Ctrl-C, SIGKILL, OOM killer): after a crash SQLite rolls the write-ahead log
  back or forward on the next open, so the file is never half-written;
* misses are encoded in chunks of a few seconds each and every chunk is one
  commit, so a killed run loses at most the chunk in flight;
* lookups are by primary key, without loading the whole cache: a cache shared
  by many folders or encoders costs a run only the rows it asks for;
* several runs may share a cache (SQLite's locking; writers wait up to a minute).

A file that is not a usable cache (corrupt, truncated, foreign, another schema
version) is reported with an :class:`EncodingCacheWarning` and rebuilt; one
that cannot be opened or written at all (permissions, full disk) is reported and
the run continues uncached. Caching never changes a result, only its cost.

Unreadable files are not cached: their failure may be transient (permissions
fixed with ``chmod`` change neither size nor mtime; a file still being copied)
and rejecting them again is cheap. Keys use the stat of the file before it is
encoded, so a file rewritten during the run is re-encoded next time. Entries
are replaced when a file changes and never deleted otherwise; delete the file
to reclaim the space of images that no longer exist.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..validation import check_int, one_line
from .encoders import Encoder, check_encoder
from .results import EncodeResult
from .row_file import DiskRows

__all__ = ["CACHE_FILENAME", "SPILL_BYTES", "CachedEncodeResult", "CachedEncoder",
           "EncodingCacheWarning"]

CACHE_FILENAME = "encodings.sqlite"
_SCHEMA_VERSION = 2
_SCHEMA = (
    "CREATE TABLE encoders (id INTEGER PRIMARY KEY, identity TEXT NOT NULL, "
    "tags TEXT NOT NULL, UNIQUE (identity, tags))",
    # Paths are stored as file-system bytes: names need not be valid UTF-8.
    "CREATE TABLE entries (encoder INTEGER NOT NULL, path BLOB NOT NULL, "
    "size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, codes BLOB NOT NULL, "
    "digest BLOB NOT NULL, PRIMARY KEY (encoder, path)) WITHOUT ROWID",
)
# Misses are encoded in chunks that take about this long, so a killed run loses
# little work while per-chunk costs (worker start-up, a commit) stay negligible.
_TARGET_CHUNK_SECONDS = 5.0
_MAX_CHUNK = 4096
# A chunk's rows pass through a few copies (the encoder's, the table's, the cache's):
# feature rows of 40 KB would make 4096 of them 160 MB each.
_MAX_CHUNK_BYTES = 32 << 20
#: Feature rows beyond this are kept on disk, not in memory (``CachedEncoder(spill_bytes=)``).
SPILL_BYTES = 256 << 20
# How long to wait for another run that holds the cache's schema or journal-mode lock.
_LOCK_WAIT_S = 30.0
# SQLite primary result codes meaning "this file is not a sound database".
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


class EncodingCacheWarning(UserWarning):
    """The encodings cache was rebuilt or could not be used; results are unaffected."""


class _Unusable(Exception):
    """The cache file exists but is not a sound cache of this schema."""


@dataclass
class CachedEncodeResult(EncodeResult):
    """An :class:`~.encoders.EncodeResult` that says what came from the cache.

    Attributes
    ----------
    n_cached : int
        Images whose codes were read from the cache instead of being encoded.
    cache_path : pathlib.Path or None
        The cache file, or ``None`` when it could not be used in this run.
    """

    n_cached: int = 0
    cache_path: Path | None = None


def _is_corruption(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc)
    return "malformed" in text or "not a database" in text


def _warn(message: str) -> None:
    warnings.warn(message, EncodingCacheWarning, stacklevel=3)


def _row_digest(encoder_id: int, path: bytes, size: int, mtime_ns: int, codes: bytes) -> bytes:
    # A checksum per row: an edited row (same length, other codes) must never be used.
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{encoder_id}|{size}|{mtime_ns}|{len(path)}|".encode())
    digest.update(path)
    digest.update(codes)
    return digest.digest()


class _Store:
    """One open cache file, scoped to one encoder (identity and tags)."""

    def __init__(self, path: Path, identity: str, tags: dict[str, int]) -> None:
        self.conn = sqlite3.connect(path, timeout=60.0)
        self.n_damaged = 0
        try:
            self._prepare()
            key = (identity, json.dumps(tags))
            with self.conn:
                self.conn.execute("INSERT OR IGNORE INTO encoders (identity, tags) "
                                  "VALUES (?, ?)", key)
            self.encoder_id = self.conn.execute(
                "SELECT id FROM encoders WHERE identity = ? AND tags = ?", key).fetchone()[0]
        except UnicodeDecodeError as exc:
            # A damaged header can make SQLite return text that is not UTF-8.
            self.conn.close()
            raise _Unusable(f"unreadable text in the file ({one_line(exc)})") from None
        except BaseException:
            self.conn.close()
            raise

    def _prepare(self) -> None:
        conn = self.conn
        # WAL: readers never block the writer and a crash mid-commit leaves the
        # main file intact; NORMAL sync is still crash-safe for the process
        # (only an OS crash may roll back the last commits, never corrupt).
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and not tables:
            self._create_schema()
            return
        if version != _SCHEMA_VERSION or not {"encoders", "entries"} <= tables:
            raise _Unusable(f"schema version {version}, tables {sorted(map(repr, tables))}; "
                            f"expected version {_SCHEMA_VERSION}")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise _Unusable(f"integrity check failed: {problems[0]}")

    def _create_schema(self) -> None:
        conn = self.conn
        # One explicit transaction (sqlite3 would autocommit each CREATE): a crash
        # leaves no half-made schema, and of two first runs one creates it while
        # the other waits and then finds it.
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def lookup(self, key: tuple[bytes, int, int], row_bytes: int) -> bytes | None:
        """Stored codes of an unchanged file, or ``None`` (also for a row whose
        checksum fails; :attr:`n_damaged` counts those)."""
        path, size, mtime_ns = key
        row = self.conn.execute(
            "SELECT size, mtime_ns, codes, digest FROM entries WHERE encoder = ? AND path = ?",
            (self.encoder_id, path)).fetchone()
        if row is None or row[0] != size or row[1] != mtime_ns:
            return None
        codes = row[2]
        if (not isinstance(codes, bytes) or len(codes) != row_bytes
                or row[3] != _row_digest(self.encoder_id, path, size, mtime_ns, codes)):
            self.n_damaged += 1
            return None
        return codes

    def put(self, rows: list[tuple[bytes, int, int, bytes]]) -> None:
        """Store ``(path, size, mtime_ns, codes)`` rows in one transaction."""
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO entries (encoder, path, size, mtime_ns, codes, digest) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(self.encoder_id, *row, _row_digest(self.encoder_id, *row)) for row in rows])

    def close(self) -> None:
        self.conn.close()


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _open_when_unlocked(path: Path, identity: str, tags: dict[str, int]) -> _Store:
    """Open the store, waiting out another run that is creating it or switching it to WAL.

    SQLite answers "database is locked" at once, without its busy timeout, when two
    connections change the journal mode or upgrade a read lock at the same moment;
    the other run holds that lock for milliseconds, so a short retry resolves it.
    """
    deadline = time.monotonic() + _LOCK_WAIT_S
    while True:
        try:
            return _Store(path, identity, tags)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _open_store(path: Path, identity: str, tags: dict[str, int]) -> _Store | None:
    """Open (creating or rebuilding) the cache; ``None`` with a warning if impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _warn(f"encodings cache disabled: cannot create {path.parent} "
              f"({one_line(exc.strerror or exc)}); encoding every image")
        return None
    for attempt in (1, 2):
        try:
            return _open_when_unlocked(path, identity, tags)
        except (_Unusable, sqlite3.Error) as exc:
            if attempt == 2 or not (isinstance(exc, _Unusable) or _is_corruption(exc)):
                _warn(f"encodings cache disabled: cannot use {path} ({one_line(exc)}); "
                      "encoding every image")
                return None
            _warn(f"encodings cache {path} is unusable ({one_line(exc)}); rebuilding it")
            try:
                _remove_database(path)
            except OSError as err:
                _warn(f"encodings cache disabled: cannot remove {path} "
                      f"({one_line(err.strerror or err)}); encoding every image")
                return None
    return None


def _file_key(path: Path) -> tuple[bytes, int, int] | None:
    """``(absolute path bytes, size, mtime_ns)``, or ``None`` if the file cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.fsencode(os.path.abspath(path)), int(st.st_size), int(st.st_mtime_ns)


def _compact(table: np.ndarray | DiskRows, keep: list[int]) -> np.ndarray | DiskRows:
    """The rows ``keep`` (ascending) of ``table``, moved up in place: no second table."""
    if isinstance(table, DiskRows):
        return table if len(keep) == len(table) else table.view(np.asarray(keep, np.int64))
    for dst, src in enumerate(keep):
        if dst != src:
            table[dst] = table[src]
    return table[:len(keep)]


def _split_rows(table: np.ndarray | DiskRows, widths: dict[str, int]
                ) -> dict[str, np.ndarray | DiskRows]:
    """Per-tag ``uint8`` code arrays from a table of all tags' bytes, side by side.

    A single tag's array is the table itself (a view), not a copy.
    """
    if isinstance(table, DiskRows):
        return {tag: table for tag in widths}
    codes, offset = {}, 0
    for tag, width in widths.items():
        codes[tag] = np.ascontiguousarray(table[:, offset:offset + width])
        offset += width
    return codes


def _aligned_ok(chunk: Sequence[Path], ok_paths: Sequence[Path]) -> list[int]:
    """Positions in ``chunk`` of ``ok_paths`` (an ordered subsequence of it)."""
    positions, k = [], 0
    for pos, path in enumerate(chunk):
        if k < len(ok_paths) and Path(ok_paths[k]) == path:
            positions.append(pos)
            k += 1
    if k != len(ok_paths):
        raise RuntimeError("the wrapped encoder returned ok_paths that are not an ordered "
                           "subsequence of its input")
    return positions


def _aligned_unreadable(chunk: Sequence[int], chunk_paths: Sequence[Path], ok: Sequence[int],
                        unreadable: Sequence[tuple[Path, str]]) -> list[tuple[int, str]]:
    """``(input index, reason)`` of the chunk's inputs the wrapped encoder rejected."""
    ok_set = set(ok)
    bad = [pos for pos in range(len(chunk)) if pos not in ok_set]
    if len(bad) != len(unreadable) or any(Path(p) != chunk_paths[pos]
                                          for pos, (p, _) in zip(bad, unreadable)):
        raise RuntimeError("the wrapped encoder must return every input either in ok_paths "
                           "or in unreadable, in input order")
    return [(chunk[pos], reason) for pos, (_, reason) in zip(bad, unreadable)]


class CachedEncoder:
    """Wrap an encoder so that images encoded before are read from a cache.

    Implements the same :class:`~.encoders.Encoder` protocol (same ``tags`` and
    ``identity``), so the pipeline cannot tell the difference except by the
    cost and by :attr:`CachedEncodeResult.n_cached`.

    Parameters
    ----------
    encoder : Encoder
        The encoder whose codes are cached; its ``identity`` must change whenever
        its codes would (method, parameters, weights).
    cache_dir : path-like
        Folder of the cache file ``encodings.sqlite`` (created if needed).
    chunk_size : int, optional
        Images encoded (and committed) per call of the wrapped encoder; default
        adapts to about five seconds of work per chunk.
    spill_bytes : int, optional
        A one-tag result larger than this is kept in an unnamed file beside the
        cache (:class:`~.row_file.DiskRows`) rather than in memory, for a reader
        that takes one (keypoint features: :data:`SPILL_BYTES`); default: never.

    Examples
    --------
    >>> from mmselfsup_ext.dedup import ClassicalEncoder
    >>> enc = CachedEncoder(ClassicalEncoder(["phash"]), "dedup_out/.cache")
    >>> enc.tags
    {'phash64': 64}
    >>> result = enc.encode(paths, workers=2)  # doctest: +SKIP
    >>> result.n_cached  # doctest: +SKIP
    0
    """

    def __init__(self, encoder: Encoder, cache_dir: str | os.PathLike,
                 chunk_size: int | None = None, spill_bytes: int | None = None) -> None:
        check_encoder(encoder)
        if chunk_size is not None and (isinstance(chunk_size, bool)
                                       or not isinstance(chunk_size, int) or chunk_size < 1):
            raise ValueError(f"chunk_size must be an int >= 1 or None, got {chunk_size!r}")
        self.encoder = encoder
        self.tags: dict[str, int] = dict(encoder.tags)
        self.identity: str = encoder.identity
        self.path = Path(cache_dir) / CACHE_FILENAME
        self.chunk_size = chunk_size
        self.spill_bytes = (None if spill_bytes is None
                            else check_int(spill_bytes, "spill_bytes", minimum=0))

    def __repr__(self) -> str:
        return f"CachedEncoder({self.encoder!r}, cache={str(self.path)!r})"

    def _table(self, n_rows: int, widths: dict[str, int]) -> np.ndarray | DiskRows:
        """The run's table of rows: in memory, or beside the cache when it is larger than
        :attr:`spill_bytes` and holds one tag (keypoint features: 4 GB at 100,000 images)."""
        row_bytes = sum(widths.values())
        if (self.spill_bytes is not None and len(widths) == 1
                and n_rows * row_bytes > self.spill_bytes):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                return DiskRows(n_rows, row_bytes, self.path.parent)
            except OSError as exc:
                _warn(f"rows of {n_rows} images kept in memory: no room for them beside the "
                      f"cache ({one_line(exc.strerror or exc)}, {self.path.parent})")
        return np.empty((n_rows, row_bytes), np.uint8)

    def encode(self, paths: Sequence[Path], workers: int = 1,
               progress: bool = True) -> CachedEncodeResult:
        """Codes of ``paths`` (:meth:`Encoder.encode`): cached where the file is unchanged.

        The result equals what the wrapped encoder returns for ``paths`` (codes,
        ``ok_paths``, ``unreadable``); ``workers`` goes to it, and the one progress bar
        counts the images that need encoding. ``timings[tag]`` is the wrapped encoder's
        time for that tag over all chunks plus the cache's own overhead.
        """
        start = time.perf_counter()
        paths = [Path(p) for p in paths]
        widths = {tag: (bits + 7) // 8 for tag, bits in self.tags.items()}
        row_bytes = sum(widths.values())
        store = _open_store(self.path, self.identity, self.tags)
        keys = [_file_key(p) for p in paths]

        # Rows are written in place into one table: a cached or fresh row is held once,
        # not as bytes and again as an array (feature rows are 40 KB per image).
        table = self._table(len(paths), widths)
        have = np.zeros(len(paths), bool)
        if store is not None:
            try:
                for n, key in enumerate(keys):
                    blob = None if key is None else store.lookup(key, row_bytes)
                    if blob is not None:
                        table[n] = np.frombuffer(blob, np.uint8)
                        have[n] = True
                if store.n_damaged:
                    _warn(f"encodings cache {self.path}: {store.n_damaged} stored rows failed "
                          "their checksum (edited or damaged); re-encoding those images")
            except sqlite3.Error as exc:
                _warn(f"encodings cache disabled: reading {self.path} failed "
                      f"({one_line(exc)}); encoding every image")
                store.close()
                store = None
                have[:] = False
        cached_ok = store is not None
        n_cached = int(have.sum())
        misses = np.flatnonzero(~have).tolist()

        reasons: dict[int, str] = {}
        inner_wall = 0.0
        inner_tag_s = dict.fromkeys(self.tags, 0.0)
        size = self.chunk_size or 8 * workers
        try:
            with tqdm(total=len(misses), desc=f"encoding ({n_cached} cached)", unit="img",
                      file=sys.stderr, disable=not progress or not misses,
                      dynamic_ncols=True) as bar:
                done = 0
                while done < len(misses):
                    chunk = misses[done:done + size]
                    done += len(chunk)
                    chunk_paths = [paths[n] for n in chunk]
                    t0 = time.perf_counter()
                    result = self.encoder.encode(chunk_paths, workers=workers, progress=False)
                    wall = time.perf_counter() - t0
                    inner_wall += wall
                    for tag in self.tags:
                        inner_tag_s[tag] += float(result.timings.get(tag, wall))
                    ok = _aligned_ok(chunk_paths, result.ok_paths)
                    rows = np.concatenate([np.asarray(result.codes[tag], np.uint8)
                                           .reshape(len(ok), widths[tag])
                                           for tag in self.tags], axis=1)
                    for pos, row in zip(ok, rows):
                        table[chunk[pos]] = row
                        have[chunk[pos]] = True
                    for n, reason in _aligned_unreadable(chunk, chunk_paths, ok,
                                                         result.unreadable):
                        reasons[n] = reason
                    if store is not None:
                        fresh = [(*keys[chunk[pos]], table[chunk[pos]].tobytes()) for pos in ok
                                 if keys[chunk[pos]] is not None]
                        try:
                            store.put(fresh)
                        except sqlite3.Error as exc:
                            _warn(f"encodings cache disabled: writing {self.path} failed "
                                  f"({one_line(exc)}); encoding continues uncached")
                            store.close()
                            store, cached_ok = None, False
                    bar.update(len(chunk))
                    if self.chunk_size is None:
                        rate = len(chunk) / max(wall, 1e-3)
                        size = int(min(_MAX_CHUNK, max(1, _MAX_CHUNK_BYTES // row_bytes),
                                       max(8 * workers, rate * _TARGET_CHUNK_SECONDS)))
        finally:
            if store is not None:
                store.close()

        ok_index = np.flatnonzero(have).tolist()
        codes = _split_rows(_compact(table, ok_index), widths)
        overhead = max(0.0, time.perf_counter() - start - inner_wall)
        return CachedEncodeResult(
            codes=codes, ok_paths=[paths[n] for n in ok_index],
            unreadable=[(paths[n], reasons[n]) for n in sorted(reasons)],
            timings={tag: s + overhead for tag, s in inner_tag_s.items()},
            n_cached=n_cached, cache_path=self.path if cached_ok else None)
