"""What a survey's earlier runs learned, kept for the next run: incremental deduplication.

:class:`SurveyState` holds, per image file (absolute path, size and mtime, as the
encodings cache keys it):

* a stable image id;
* the retrieval index of the images' descriptors (:class:`~.retrieval.DescriptorIndex`);
* the exact retrieval votes of every image pair that reached ``min_votes``;
* the verification of every pair verified so far (overlap, inliers, status, homography).

A re-run after new photos arrive therefore extracts features for the new photos only
(the encodings cache), adds only their descriptors to the index, queries only them,
and verifies only pairs that involve them; votes and verifications depend on the two
images alone, so the result equals a from-scratch run. Images that were changed or
deleted are dropped from the index and from every table.

The state is one ``.npz`` file of plain arrays, read with ``allow_pickle=False`` (a
cache is data, never code) and replaced atomically (written to a temporary file,
then renamed), so a run killed while saving leaves the previous state. A file that
is truncated, corrupt, edited (a SHA-256 of its content is stored with it, and its
tables are checked for consistent shapes, lengths and ids), from another version or
built with other settings is reported
with a :class:`SurveyStateWarning` and replaced; a state held by a concurrent run
(an advisory lock) is not used by this run, which then works from scratch and does
not save. None of these ever changes a result, only its cost.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..validation import one_line
from .retrieval import DescriptorIndex

__all__ = ["STATE_FILENAME", "STATUS_CODES", "SurveyState", "SurveyStateWarning", "file_key"]

STATE_FILENAME = "survey_state.npz"
_VERSION = 2
#: Verification statuses as stored (index = code).
STATUS_CODES = ("ok", "no_homography", "unverifiable")

FileKey = tuple[bytes, int, int]


class SurveyStateWarning(UserWarning):
    """The survey state was rebuilt or could not be used; results are unaffected."""


def file_key(path: str | os.PathLike) -> FileKey | None:
    """``(absolute path bytes, size, mtime_ns)``, or ``None`` if the file cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.fsencode(os.path.abspath(path)), int(st.st_size), int(st.st_mtime_ns)


# Bytes per piece when a stored index is read back.
_PIECE = 16 << 20


class _IndexBytes:
    """The retrieval index as the ``uint8`` array :meth:`DescriptorIndex.serialize` gives,
    produced a piece at a time: saved whole, it would be a second copy of the index
    (12 KB per image) beside the first."""

    dtype = np.dtype(np.uint8)

    def __init__(self, index: DescriptorIndex) -> None:
        self.index = index
        sizes: list[int] = []
        index.write(lambda piece: sizes.append(len(piece)))
        self.shape = (sum(sizes),)

    def feed(self, write) -> None:
        """Pass the bytes to ``write`` in pieces."""
        self.index.write(write)


class _StoredBytes:
    """A ``uint8`` vector member of a state file, read a piece at a time (the index:
    loaded whole and then parsed, it would be held twice)."""

    dtype = np.dtype(np.uint8)

    def __init__(self, archive: zipfile.ZipFile, member: str) -> None:
        self.archive, self.member = archive, member
        with archive.open(member) as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(fh)
            self.start = fh.tell()
        if dtype != self.dtype or len(shape) != 1:
            raise ValueError(f"{member} holds {dtype} {shape}, expected a uint8 vector")
        self.shape = tuple(shape)

    def open(self):
        """The member's file object, positioned at its first byte of data."""
        fh = self.archive.open(self.member)
        fh.read(self.start)
        return fh

    def feed(self, write) -> None:
        """Pass the bytes to ``write`` in pieces."""
        with self.open() as fh:
            while piece := fh.read(_PIECE):
                write(piece)


def _content_digest(arrays: dict[str, np.ndarray | _IndexBytes | _StoredBytes]) -> str:
    """SHA-256 over every array but ``meta``: names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        if name == "meta":
            continue
        array = arrays[name]
        pieces = isinstance(array, (_IndexBytes, _StoredBytes))
        if not pieces:
            array = np.ascontiguousarray(array)
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        if pieces:
            array.feed(digest.update)
        elif array.size:
            # The array's own buffer, not a copy of it.
            digest.update(array.reshape(-1).view(np.uint8))
    return digest.hexdigest()


def _write_npz(fh, arrays: dict[str, np.ndarray | _IndexBytes]) -> None:
    """What ``np.savez(fh, **arrays)`` writes (``np.load`` reads it), the index in pieces."""
    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                if isinstance(array, _IndexBytes):
                    np.lib.format.write_array_header_1_0(
                        member, {"descr": array.dtype.str, "fortran_order": False,
                                 "shape": array.shape})
                    array.feed(member.write)
                else:
                    np.lib.format.write_array(member, np.asanyarray(array),
                                              allow_pickle=False)


def _check_consistent(arrays: dict[str, np.ndarray]) -> None:
    """Raise ValueError unless the tables agree in shape, length and ids."""
    def same_length(*names: str) -> int:
        lengths = {arrays[n].shape[0] if arrays[n].ndim else -1 for n in names}
        if len(lengths) != 1 or any(arrays[n].ndim != 1 for n in names if n != "homography"):
            raise ValueError(f"arrays {', '.join(names)} differ in length or shape")
        return lengths.pop()
    n_keys = same_length("key_paths", "key_sizes", "key_mtimes")
    same_length("vote_a", "vote_b", "votes")
    n_done = same_length("verified_a", "verified_b", "overlap", "inliers", "status",
                         "homography")
    if arrays["homography"].shape != (n_done, 3, 3):
        raise ValueError(f"homography has shape {arrays['homography'].shape}, "
                         f"expected ({n_done}, 3, 3)")
    for name in ("vote_a", "vote_b", "verified_a", "verified_b"):
        ids = arrays[name]
        if ids.size and (ids.min() < 0 or ids.max() >= n_keys):
            raise ValueError(f"{name} names images outside the {n_keys} known")
    status = arrays["status"]
    if status.size and (status.min() < 0 or status.max() >= len(STATUS_CODES)):
        raise ValueError("unknown verification status codes")
    overlap = arrays["overlap"]
    # NaN is "unverifiable"; verification clips every other overlap to [0, 1].
    if overlap.dtype.kind != "f" or not np.all(np.isnan(overlap) | ((overlap >= 0)
                                                                   & (overlap <= 1))):
        raise ValueError("overlaps outside [0, 1]")
    if (arrays["inliers"].size and arrays["inliers"].min() < 0) or (
            arrays["votes"].size and arrays["votes"].min() < 1):
        raise ValueError("negative inlier or vote counts")


def _warn(message: str) -> None:
    warnings.warn(message, SurveyStateWarning, stacklevel=3)


class SurveyState:
    """Image ids, the retrieval index, pair votes and verifications of a survey.

    Parameters
    ----------
    fingerprint : str
        Everything that shapes the stored content (feature extractor, retrieval and
        verification settings); a stored state with another fingerprint is replaced.
    n_bits : int
        Descriptor length of the retrieval index.
    """

    def __init__(self, fingerprint: str, n_bits: int = 256) -> None:
        self.fingerprint = fingerprint
        self.keys: list[FileKey | None] = []
        self.index = DescriptorIndex(n_bits)
        self.votes: dict[tuple[int, int], int] = {}
        self.verified: dict[tuple[int, int], tuple[float, int, int, np.ndarray]] = {}
        self.path: Path | None = None
        self._lock: int | None = None

    # --- image ids -----------------------------------------------------------------
    def assign_ids(self, keys: Sequence[FileKey | None]) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the current images; images gone or changed since are forgotten.

        Parameters
        ----------
        keys : sequence
            :func:`file_key` of each current image (None: not stat-able, always new).

        Returns
        -------
        ids : ndarray
            ``int64`` id per current image.
        new : ndarray
            ``bool`` per current image: not known before (its descriptors must be
            indexed and queried).
        """
        known = {key: k for k, key in enumerate(self.keys) if key is not None}
        current = set(k for k in keys if k is not None)
        gone = [k for key, k in known.items() if key not in current]
        self.forget(gone)
        ids = np.empty(len(keys), np.int64)
        new = np.zeros(len(keys), bool)
        for pos, key in enumerate(keys):
            if key is not None and key in known:
                ids[pos] = known[key]
            else:
                ids[pos] = len(self.keys)
                self.keys.append(key)
                new[pos] = True
        return ids, new

    def forget(self, ids: Sequence[int]) -> None:
        """Drop images from the index, the votes and the verifications."""
        dropped = set(int(k) for k in ids)
        if not dropped:
            return
        for k in dropped:
            self.keys[k] = None
        self.index.remove(sorted(dropped))
        self.votes = {p: v for p, v in self.votes.items() if not dropped & set(p)}
        self.verified = {p: v for p, v in self.verified.items() if not dropped & set(p)}

    # --- persistence ---------------------------------------------------------------
    @classmethod
    def open(cls, folder: str | os.PathLike | None, fingerprint: str,
             n_bits: int = 256) -> SurveyState:
        """The state stored in ``folder`` for these settings, or an empty one.

        With ``folder`` None (no cache) the state lives for this run only. The file
        is locked until :meth:`close`; a file another run holds is left alone.
        """
        state = cls(fingerprint, n_bits)
        if folder is None:
            return state
        path = Path(folder) / STATE_FILENAME
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            _warn(f"survey state disabled: cannot use {path.parent} "
                  f"({one_line(exc.strerror or exc)}); this run starts from scratch")
            return state
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock)
            _warn(f"survey state {path} is in use by another run; this run starts from "
                  "scratch and leaves it unchanged")
            return state
        state.path, state._lock = path, lock
        if path.exists():
            try:
                state._read(path)
            except Exception as exc:  # numpy's and faiss's readers raise many kinds
                _warn(f"survey state {path} is unusable ({one_line(exc)}); rebuilding it")
                state.__init__(fingerprint, n_bits)
                state.path, state._lock = path, lock
        return state

    def _read(self, path: Path) -> None:
        with zipfile.ZipFile(path) as archive:
            self._read_archive(archive)

    def _read_archive(self, archive: zipfile.ZipFile) -> None:
        data: dict[str, np.ndarray | _StoredBytes] = {}
        for member in archive.namelist():
            name, suffix = os.path.splitext(member)
            if suffix != ".npy":
                raise ValueError(f"unexpected member {member!r}")
            if name == "index":
                data[name] = _StoredBytes(archive, member)
            else:
                with archive.open(member) as fh:
                    data[name] = np.lib.format.read_array(fh, allow_pickle=False)
        meta = json.loads(bytes(data["meta"]).decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("version") != _VERSION:
            raise ValueError(f"version {meta.get('version') if isinstance(meta, dict) else '?'}, "
                             f"expected {_VERSION}")
        if meta.get("fingerprint") != self.fingerprint:
            raise ValueError("built with other settings")
        # Checked before anything is parsed: an edited or damaged file is rebuilt, never
        # half-used (the index bytes go to faiss only once they are known to be ours).
        if meta.get("sha256") != _content_digest(data):
            raise ValueError("content checksum mismatch (edited or damaged)")
        _check_consistent(data)
        paths = [bytes(p) for p in data["key_paths"]]
        sizes, mtimes = data["key_sizes"], data["key_mtimes"]
        self.keys = [None if s < 0 else (p, int(s), int(m))
                     for p, s, m in zip(paths, sizes.tolist(), mtimes.tolist())]
        with data["index"].open() as fh:
            self.index = DescriptorIndex.read(fh.read, self.index.n_bits, int(meta["nlist"]))
        a, b, v = data["vote_a"], data["vote_b"], data["votes"]
        self.votes = dict(zip(zip(a.tolist(), b.tolist()), v.tolist()))
        va, vb = data["verified_a"].tolist(), data["verified_b"].tolist()
        rows = zip(data["overlap"].tolist(), data["inliers"].tolist(),
                   data["status"].tolist(), data["homography"])
        self.verified = dict(zip(zip(va, vb), ((o, n, s, h) for o, n, s, h in rows)))
        if len(self.keys) and max((len(p) for p in paths), default=0) == 0:
            raise ValueError("no image keys")

    def save(self) -> None:
        """Write the state atomically (no-op for a run without a usable state file)."""
        if self.path is None:
            return
        paths = [b"" if k is None else k[0] for k in self.keys]
        width = max([len(p) for p in paths] + [1])
        pairs = sorted(self.votes)
        done = sorted(self.verified)
        arrays = {
            "key_paths": np.array(paths, dtype=f"S{width}"),
            "key_sizes": np.array([-1 if k is None else k[1] for k in self.keys], np.int64),
            "key_mtimes": np.array([-1 if k is None else k[2] for k in self.keys], np.int64),
            "index": _IndexBytes(self.index),
            "vote_a": np.array([p[0] for p in pairs], np.int64),
            "vote_b": np.array([p[1] for p in pairs], np.int64),
            "votes": np.array([self.votes[p] for p in pairs], np.int64),
            "verified_a": np.array([p[0] for p in done], np.int64),
            "verified_b": np.array([p[1] for p in done], np.int64),
            "overlap": np.array([self.verified[p][0] for p in done], np.float64),
            "inliers": np.array([self.verified[p][1] for p in done], np.int64),
            "status": np.array([self.verified[p][2] for p in done], np.int8),
            "homography": np.array([self.verified[p][3] for p in done],
                                   np.float64).reshape(-1, 3, 3),
        }
        meta = {"version": _VERSION, "fingerprint": self.fingerprint,
                "nlist": self.index.nlist, "sha256": _content_digest(arrays)}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                       dir=self.path.parent)
        except OSError as exc:
            _warn(f"survey state not saved: {one_line(exc.strerror or exc)} "
                  f"({self.path.parent}); the next run starts from scratch")
            return
        try:
            with os.fdopen(fd, "wb") as fh:
                _write_npz(fh, arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            _warn(f"survey state not saved: {one_line(exc.strerror or exc)} ({self.path}); "
                  "the next run starts from scratch")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        """Release the lock on the state file."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
