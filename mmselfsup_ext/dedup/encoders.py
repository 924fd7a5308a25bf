"""The encoder protocol the pipeline consumes, and the classical-hash encoder.

The encoder's result type, :class:`~.results.EncodeResult`, lives with the other result
types; it is importable from here too, beside the protocol that returns it.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Protocol, runtime_checkable

import imagehash
import numpy as np

from ..hashing import CLASSICAL_METHODS, classical_hash, classical_tag, min_decode_size
from ..fileio.loading import UnreadableImageError, load_image
from .parallel import ordered_map
from .results import EncodeResult

__all__ = ["EncodeResult", "Encoder", "ClassicalEncoder", "check_encoder"]


@runtime_checkable
class Encoder(Protocol):
    """What the dedup pipeline needs from an encoder (classical or deep)."""

    tags: dict[str, int]
    identity: str

    def encode(self, paths: Sequence[Path], workers: int = 1,
               progress: bool = True) -> EncodeResult:
        """Encode ``paths``; unreadable files go to ``EncodeResult.unreadable``, never raised.

        Parameters
        ----------
        paths : sequence of pathlib.Path
            Image files, in the order the codes should have.
        workers : int, default 1
            Worker processes (or decoding workers).
        progress : bool, default True
            tqdm progress bar on stderr.

        Returns
        -------
        EncodeResult
            Codes by tag, rows aligned with ``ok_paths``; ``unreadable`` with a reason
            per file, in input order.
        """
        ...


def check_encoder(encoder: object) -> Encoder:
    """``encoder`` if it implements :class:`Encoder`, else a ``ValueError`` saying so."""
    if not isinstance(encoder, Encoder):
        raise ValueError(f"encoder must implement the Encoder protocol (tags, identity, "
                         f"encode), got {type(encoder).__name__}")
    return encoder


def _hash_file(path: Path, methods: tuple[str, ...], hash_size: int, min_size: int
               ) -> tuple[bool, object, float, list[float]]:
    """Worker: decode once, hash with every method.

    Returns ``(ok, codes_or_reason, decode_seconds, hash_seconds_per_method)``.
    """
    start = time.perf_counter()
    try:
        image = load_image(path, min_size=min_size)
    except UnreadableImageError as exc:
        return False, exc.reason, 0.0, []
    decode_s = time.perf_counter() - start
    rows, hash_s = [], []
    for method in methods:
        start = time.perf_counter()
        try:
            rows.append(classical_hash(image, method, hash_size))
        except (ValueError, OSError, MemoryError, ArithmeticError) as exc:
            # One pathological image (e.g. an unhashable size) must not abort a
            # run of thousands; it is reported like an undecodable file.
            return False, f"{method} failed: {type(exc).__name__}: {exc}", 0.0, []
        hash_s.append(time.perf_counter() - start)
    return True, rows, decode_s, hash_s


class ClassicalEncoder:
    """Classical perceptual hashes (aHash/dHash/pHash/wHash) of image files.

    Each image is decoded once, with JPEG draft mode at the largest working size
    the requested methods need, and hashed by every method.

    Parameters
    ----------
    methods : sequence of str, default all four
        Subset of ``("ahash", "dhash", "phash", "whash")``, in output order.
    hash_size : int, default 8
        Hash grid side; codes have ``hash_size ** 2`` bits.

    Examples
    --------
    >>> enc = ClassicalEncoder(["phash", "dhash"], hash_size=8)
    >>> enc.tags
    {'phash64': 64, 'dhash64': 64}
    >>> result = enc.encode(paths, workers=2)  # doctest: +SKIP
    """

    def __init__(self, methods: Sequence[str] = CLASSICAL_METHODS, hash_size: int = 8) -> None:
        if isinstance(methods, str):
            methods = [methods]
        methods = tuple(methods)
        if not methods:
            raise ValueError(f"methods must name at least one of {CLASSICAL_METHODS}")
        unknown = [m for m in methods if m not in CLASSICAL_METHODS]
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; expected some of {CLASSICAL_METHODS}")
        if len(set(methods)) != len(methods):
            raise ValueError(f"methods must not repeat, got {list(methods)}")
        # classical_tag validates hash_size (int >= 2, power of two for whash).
        self.tags: dict[str, int] = {classical_tag(m, hash_size): int(hash_size) ** 2
                                     for m in methods}
        self.methods = methods
        self.hash_size = int(hash_size)
        self.min_size = max(min_decode_size(m, self.hash_size) for m in methods)
        self.identity = (f"classical/{'+'.join(methods)}/hash_size={self.hash_size}"
                         f"/decode=jpeg-draft-{self.min_size}/imagehash={imagehash.__version__}")

    def __repr__(self) -> str:
        return f"ClassicalEncoder(methods={list(self.methods)}, hash_size={self.hash_size})"

    def encode(self, paths: Sequence[Path], workers: int = 1,
               progress: bool = True) -> EncodeResult:
        """Hash every file, as :meth:`Encoder.encode` says.

        ``timings[tag]`` estimates the wall time of encoding with that method
            alone: the measured wall time of the shared run, apportioned by the
            per-image decode time (shared by all tags) plus that method's own
            hashing time.
        """
        paths = [Path(p) for p in paths]
        task = partial(_hash_file, methods=self.methods, hash_size=self.hash_size,
                       min_size=self.min_size)
        start = time.perf_counter()
        rows: dict[str, list[np.ndarray]] = {tag: [] for tag in self.tags}
        ok_paths: list[Path] = []
        unreadable: list[tuple[Path, str]] = []
        decode_total, hash_total = 0.0, np.zeros(len(self.methods))
        for path, (ok, payload, decode_s, hash_s) in zip(
                paths, ordered_map(task, paths, workers, progress, desc="hashing")):
            if not ok:
                unreadable.append((path, payload))
                continue
            ok_paths.append(path)
            for tag, row in zip(self.tags, payload):
                rows[tag].append(row)
            decode_total += decode_s
            hash_total += hash_s
        wall = time.perf_counter() - start
        nbytes = {tag: (bits + 7) // 8 for tag, bits in self.tags.items()}
        codes = {tag: (np.stack(r) if r else np.zeros((0, nbytes[tag]), np.uint8))
                 for tag, r in rows.items()}
        busy = decode_total + hash_total.sum()
        timings = {tag: (wall * (decode_total + own) / busy if busy > 0 else wall)
                   for tag, own in zip(self.tags, hash_total)}
        return EncodeResult(codes=codes, ok_paths=ok_paths, unreadable=unreadable,
                            timings=timings)
