"""Keypoint features of an image at a reduced size, computed once per image.

:func:`extract_features` detects keypoints and descriptors, strongest first.
:class:`FeatureEncoder` does it for image files behind the pipeline's
:class:`~mmselfsup_ext.dedup.encoders.Encoder` protocol, packing each image's
features into one fixed-size row, so the encodings cache stores them beside the
codes (a re-run extracts only new images) and ``torchrun`` ranks shard them like
codes. :class:`FeatureStore` holds the rows of a run and unpacks one image's
features when verification or retrieval asks for them.
"""
from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ...fileio import UnreadableImageError, load_image
from ..results import EncodeResult
from ..row_file import DiskRows
from ..parallel import ordered_map

DETECTORS = ("orb", "sift", "akaze")
# Bytes of one descriptor per detector in a packed row (SIFT: 128 float32).
_DESCRIPTOR_BYTES = {"orb": 32, "akaze": 61, "sift": 512}
# Row header: keypoint count, reduced width and height, original width and height.
_HEADER = 5


@dataclass(frozen=True)
class ImageFeatures:
    """Keypoints and descriptors of one image at a reduced size.

    Attributes
    ----------
    keypoints : np.ndarray
        float32 (K, 2) keypoint positions (x, y) in reduced-image pixels.
    descriptors : np.ndarray
        (K, D) descriptors: uint8 for binary detectors (ORB, AKAZE), float32 for SIFT.
    size : tuple of int
        (width, height) of the reduced image the features were computed on.
    original_size : tuple of int
        (width, height) of the image as given.
    """

    keypoints: np.ndarray
    descriptors: np.ndarray
    size: tuple[int, int]
    original_size: tuple[int, int]

    @property
    def scale(self) -> float:
        """Original pixels per reduced pixel (>= 1; the image is never upscaled)."""
        return max(self.original_size) / max(self.size)

    @property
    def n_keypoints(self) -> int:
        """Number of keypoints found."""
        return int(self.keypoints.shape[0])

    def to_original(self) -> np.ndarray:
        """3x3 matrix mapping reduced-image pixel coordinates to original ones."""
        sx = self.original_size[0] / self.size[0]
        sy = self.original_size[1] / self.size[1]
        return np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]])


def _to_gray(image: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("L"))
    if not isinstance(image, np.ndarray):
        raise ValueError(f"expected a PIL image or a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 array, got dtype {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_RGB2GRAY if image.shape[2] == 3 else cv2.COLOR_RGBA2GRAY
        return cv2.cvtColor(image, code)
    raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) array, got shape {image.shape}")


def _stretch_contrast(gray: np.ndarray, max_gain: float) -> np.ndarray:
    """Map the 1st..99th percentile range to 0..255, amplifying by at most ``max_gain``.

    FAST (ORB's detector) thresholds absolute grey-level differences, so a dim or hazy
    shot of concrete yields few keypoints: measured on a simulated flight, 82 instead
    of ~870, enough to miss a 64 % overlap. The gain cap keeps sensor noise on a blank
    wall from being blown up into keypoints.
    """
    lo, hi = np.percentile(gray, (1, 99))
    gain = min(max_gain, 255.0 / max(hi - lo, 1e-6))
    stretched = (gray.astype(np.float32) - (lo + hi) / 2) * gain + 127.5
    return np.clip(stretched, 0, 255).astype(np.uint8)


def _make_detector(detector: str, n_features: int) -> cv2.Feature2D:
    if detector == "orb":
        return cv2.ORB_create(nfeatures=n_features)
    if detector == "sift":
        return cv2.SIFT_create(nfeatures=n_features)
    # AKAZE has no feature budget; its detector threshold is the knob instead.
    return cv2.AKAZE_create()


def _check_settings(max_side: int, detector: str, n_features: int, max_gain: float) -> None:
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
    if max_side < 32:
        raise ValueError(f"max_side must be >= 32 pixels, got {max_side}")
    if n_features < 1:
        raise ValueError(f"n_features must be >= 1, got {n_features}")
    if max_gain < 1:
        raise ValueError(f"max_gain must be >= 1, got {max_gain}")
    if detector == "akaze" and not hasattr(cv2, "AKAZE_create"):
        raise ValueError("detector 'akaze' needs an OpenCV build with AKAZE (OpenCV 5 moved it "
                         "to opencv-contrib); use 'orb' or 'sift'")


def extract_features(image: Image.Image | np.ndarray, max_side: int = 640,
                     detector: str = "orb", n_features: int = 2000,
                     max_gain: float = 4.0) -> ImageFeatures:
    """Detect keypoints and descriptors on a copy reduced to ``max_side``.

    Parameters
    ----------
    image : PIL.Image.Image or np.ndarray
        Any PIL mode, or a uint8 array (H, W), (H, W, 3) RGB or (H, W, 4) RGBA.
    max_side : int
        Longest side of the reduced copy; smaller images are used as they are.
    detector : {"orb", "sift", "akaze"}
        Feature type. ORB is fast and binary; SIFT is slower and float.
    n_features : int
        Keypoint budget (ignored by AKAZE).
    max_gain : float
        Largest contrast amplification when stretching the grey levels (1: none).

    Returns
    -------
    ImageFeatures
        Keypoints ordered by detector response, strongest first.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> noise = cv2.GaussianBlur(rng.integers(0, 256, (480, 960), dtype=np.uint8), (5, 5), 0)
    >>> f = extract_features(noise, max_side=320)
    >>> f.size, f.original_size, f.scale
    ((320, 160), (960, 480), 3.0)
    """
    _check_settings(max_side, detector, n_features, max_gain)
    gray = _to_gray(image)
    h, w = gray.shape
    if min(h, w) < 1:
        raise ValueError(f"image is empty: {w}x{h}")
    factor = min(1.0, max_side / max(h, w))
    if factor < 1.0:
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        # INTER_AREA averages source pixels, so the reduction does not alias texture.
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    gray = _stretch_contrast(gray, max_gain)
    keypoints, descriptors = _make_detector(detector, n_features).detectAndCompute(gray, None)
    if descriptors is None or not keypoints:
        width = _DESCRIPTOR_BYTES[detector] // (4 if detector == "sift" else 1)
        points = np.zeros((0, 2), np.float32)
        descriptors = np.zeros((0, width), np.float32 if detector == "sift" else np.uint8)
    else:
        # Strongest first (stable for equal responses): retrieval indexes a prefix.
        order = np.argsort([-k.response for k in keypoints], kind="stable")
        points = np.array([keypoints[k].pt for k in order], dtype=np.float32).reshape(-1, 2)
        descriptors = np.ascontiguousarray(descriptors[order])
    return ImageFeatures(points, descriptors, (gray.shape[1], gray.shape[0]), (w, h))


def feature_row_bytes(detector: str, n_features: int) -> int:
    """Bytes of one packed row: a header, then ``n_features`` keypoints and descriptors."""
    return 4 * _HEADER + n_features * (8 + _DESCRIPTOR_BYTES[detector])


def pack_features(features: ImageFeatures, detector: str, n_features: int) -> np.ndarray:
    """One image's features as a ``uint8`` row of :func:`feature_row_bytes` (zero padded)."""
    n = min(features.n_keypoints, n_features)
    row = np.zeros(feature_row_bytes(detector, n_features), np.uint8)
    header = np.array([n, *features.size, *features.original_size], dtype=np.int32)
    points = np.ascontiguousarray(features.keypoints[:n], dtype=np.float32)
    descriptors = np.ascontiguousarray(features.descriptors[:n])
    start = 4 * _HEADER
    row[:start] = header.view(np.uint8)
    row[start:start + 8 * n] = points.view(np.uint8).ravel()
    offset = start + 8 * n_features
    row[offset:offset + descriptors.nbytes] = descriptors.view(np.uint8).ravel()
    return row


def unpack_features(row: np.ndarray, detector: str, n_features: int) -> ImageFeatures:
    """Inverse of :func:`pack_features`."""
    header = row[:4 * _HEADER].view(np.int32)
    n = int(header[0])
    start = 4 * _HEADER
    points = row[start:start + 8 * n].view(np.float32).reshape(n, 2)
    width = _DESCRIPTOR_BYTES[detector]
    offset = start + 8 * n_features
    raw = row[offset:offset + width * n]
    descriptors = (raw.view(np.float32).reshape(n, width // 4) if detector == "sift"
                   else raw.reshape(n, width))
    return ImageFeatures(points, descriptors, (int(header[1]), int(header[2])),
                         (int(header[3]), int(header[4])))


def _features_of_file(path: Path, max_side: int, detector: str, n_features: int,
                      max_gain: float) -> tuple[bool, object]:
    """Worker: ``(True, packed row)`` or ``(False, reason)`` for one image file."""
    try:
        image = load_image(path, min_size=max_side)
        found = extract_features(image, max_side, detector, n_features, max_gain)
    except UnreadableImageError as exc:
        return False, exc.reason
    except (ValueError, cv2.error, MemoryError) as exc:
        return False, f"keypoint detection failed: {type(exc).__name__}: {exc}"
    return True, pack_features(found, detector, n_features)


class FeatureEncoder:
    """Keypoint features of image files, as the pipeline's encoder protocol sees them.

    Each image becomes one ``uint8`` row (tag :attr:`TAG`) of at most ``n_features``
    keypoints with descriptors, strongest first. Through
    :class:`~mmselfsup_ext.dedup.cache.CachedEncoder` the rows are stored in the
    encodings cache beside the codes; through the distributed encoder they are
    extracted by every ``torchrun`` rank on its shard.

    Parameters
    ----------
    max_side, detector, n_features, max_gain
        As :func:`extract_features`. ``n_features`` also caps the memory: a row
        holds ``20 + n_features * 40`` bytes for ORB (40 KB at 1000).

    Examples
    --------
    >>> enc = FeatureEncoder(max_side=640, n_features=1000)
    >>> enc.tags
    {'features': 320160}
    """

    TAG = "features"

    def __init__(self, max_side: int = 640, detector: str = "orb", n_features: int = 1000,
                 max_gain: float = 4.0) -> None:
        _check_settings(max_side, detector, n_features, max_gain)
        self.settings = {"max_side": int(max_side), "detector": detector,
                         "n_features": int(n_features), "max_gain": float(max_gain)}
        self.tags: dict[str, int] = {self.TAG: 8 * feature_row_bytes(detector, n_features)}
        settings = "/".join(f"{k}={v}" for k, v in self.settings.items())
        self.identity = f"features/{settings}/opencv={cv2.__version__}/rows=v1"

    def __repr__(self) -> str:
        return f"FeatureEncoder({self.settings})"

    def encode(self, paths: Sequence[Path], workers: int = 1,
               progress: bool = True) -> EncodeResult:
        """Extract and pack the features of every file, as :class:`~..encoders.Encoder` encodes.

        ``codes[TAG]`` is ``(n_ok, row_bytes)``: one packed feature row per readable file.
        """
        paths = [Path(p) for p in paths]
        task = partial(_features_of_file, **self.settings)
        start = time.perf_counter()
        # Filled in place: a list of rows and then a stacked copy would hold every
        # image's 40 KB twice.
        rows = np.zeros((len(paths), self.tags[self.TAG] // 8), np.uint8)
        ok = np.zeros(len(paths), bool)
        unreadable = []
        for k, (path, (good, payload)) in enumerate(zip(
                paths, ordered_map(task, paths, workers, progress, desc="features"))):
            if good:
                rows[k], ok[k] = payload, True
            else:
                unreadable.append((path, payload))
        codes = rows if ok.all() else rows[ok]
        return EncodeResult(codes={self.TAG: codes},
                            ok_paths=[p for p, good in zip(paths, ok) if good],
                            unreadable=unreadable,
                            timings={self.TAG: time.perf_counter() - start})


class FeatureStore:
    """The packed feature rows of a run, unpacked one image at a time.

    Indexing gives the :class:`ImageFeatures` of an image (``None`` for one that
    could not be read), so verification and retrieval see a sequence of features
    while memory stays at one packed row per image.

    Parameters
    ----------
    rows : ndarray or DiskRows
        ``uint8`` ``(N, row_bytes)`` from :class:`FeatureEncoder`, in memory or on
        disk (then read a row at a time); a row may be missing (``present[k]``
        False) for an unreadable image.
    detector, n_features : str, int
        The encoder's settings.
    present : ndarray, optional
        ``bool`` ``(N,)``; default all True.
    """

    def __init__(self, rows: np.ndarray | DiskRows, detector: str, n_features: int,
                 present: np.ndarray | None = None) -> None:
        self.rows = rows if isinstance(rows, DiskRows) else np.asarray(rows, dtype=np.uint8)
        if self.rows.ndim != 2 or self.rows.shape[1] != feature_row_bytes(detector, n_features):
            raise ValueError(f"feature rows must be (N, {feature_row_bytes(detector, n_features)})"
                             f" for {detector} x {n_features}, got {self.rows.shape}")
        self.detector = detector
        self.n_features = int(n_features)
        self.present = (np.ones(len(self.rows), bool) if present is None
                        else np.asarray(present, dtype=bool))

    @classmethod
    def from_encoding(cls, result: EncodeResult, paths: Sequence[Path],
                      encoder: FeatureEncoder) -> FeatureStore:
        """Rows of ``result`` aligned with ``paths`` (an image the encoder rejected is absent)."""
        rows = result.codes[FeatureEncoder.TAG]
        if not isinstance(rows, DiskRows):
            rows = np.asarray(rows)
        if [Path(p) for p in result.ok_paths] == [Path(p) for p in paths]:
            return cls(rows, encoder.settings["detector"], encoder.settings["n_features"])
        where = {Path(p): k for k, p in enumerate(result.ok_paths)}
        if isinstance(rows, DiskRows) and len(rows):
            # Rows stay on disk; an absent image points at any row and is never read.
            position = np.array([where.get(Path(p), 0) for p in paths], np.int64)
            present = np.array([Path(p) in where for p in paths], bool)
            return cls(rows.view(position),
                       encoder.settings["detector"], encoder.settings["n_features"], present)
        aligned = np.zeros((len(paths), rows.shape[1]), np.uint8)
        present = np.zeros(len(paths), bool)
        for k, path in enumerate(paths):
            if Path(path) in where:
                aligned[k] = rows[where[Path(path)]]
                present[k] = True
        return cls(aligned, encoder.settings["detector"], encoder.settings["n_features"], present)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, k: int) -> ImageFeatures | None:
        if not self.present[k]:
            return None
        return unpack_features(self.rows[k], self.detector, self.n_features)

    @functools.cached_property
    def _content_keys(self) -> np.ndarray:
        return np.array([int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(),
                                        "little") if present else 0
                         for row, present in zip(self.rows, self.present)], dtype=np.uint64)

    def content_keys(self) -> np.ndarray:
        """A 64-bit digest of each image's features (0 where absent).

        Verification orients a pair by these keys, not by file names or positions, so
        a pair is measured the same way in any file order (a homography fitted from
        A to B and from B to A can differ in the last digits of the overlap). Computed
        once per store: every verification round asks, and rows may be on disk.
        """
        return self._content_keys.copy()

    @functools.cached_property
    def _headers(self) -> np.ndarray:
        """``int32`` ``(N, 5)`` row headers (see :data:`_HEADER`), read once."""
        raw = (self.rows.prefix(4 * _HEADER) if isinstance(self.rows, DiskRows)
               else self.rows[:, :4 * _HEADER].copy())
        return raw.view(np.int32).reshape(len(self), _HEADER)

    def original_sizes(self) -> np.ndarray:
        """``(N, 2)`` original ``(width, height)`` of each image (0 where absent)."""
        return np.where(self.present[:, None], self._headers[:, 3:5], 0).astype(np.int64)

    def n_keypoints(self) -> np.ndarray:
        """Keypoints per image (0 where absent)."""
        return np.where(self.present, self._headers[:, 0], 0)
