"""Keypoint features of an image at a reduced size, computed once per image per run."""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

DETECTORS = ("orb", "sift", "akaze")
Loader = Callable[[Hashable], "Image.Image | np.ndarray"]


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
    points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
    if descriptors is None:
        width = 128 if detector == "sift" else 32
        descriptors = np.zeros((0, width), np.float32 if detector == "sift" else np.uint8)
    return ImageFeatures(points, descriptors, (gray.shape[1], gray.shape[0]), (w, h))


class FeatureCache:
    """Features computed at most once per image key for the lifetime of the cache.

    Parameters
    ----------
    loader : callable
        ``loader(key) -> PIL image or uint8 array``; e.g. the pipeline's image loader
        applied to a path. An exception raised by it, or an image it returns that
        :func:`extract_features` cannot use, marks the image as failed (see
        ``failures``); verification then reports its pairs as ``"unverifiable"``.
    max_side, detector, n_features, max_gain
        Passed to :func:`extract_features`.

    Notes
    -----
    Thread-safe: concurrent requests for the same key wait for one extraction.
    Memory is about ``n_features * (descriptor bytes + 8)`` per image (~80 KB for
    2000 ORB features); call :meth:`evict` for images no longer needed.
    """

    def __init__(self, loader: Loader, max_side: int = 640, detector: str = "orb",
                 n_features: int = 2000, max_gain: float = 4.0) -> None:
        if not callable(loader):
            raise ValueError("loader must be a callable key -> image")
        _check_settings(max_side, detector, n_features, max_gain)
        self.loader = loader
        self.settings = {"max_side": max_side, "detector": detector,
                         "n_features": n_features, "max_gain": max_gain}
        self.failures: dict[Hashable, str] = {}
        self.n_computed = 0
        self._entries: dict[Hashable, Future] = {}
        self._lock = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> ImageFeatures | None:
        """Features of ``key`` (computed on first request), or None if loading failed."""
        with self._lock:
            future = self._entries.get(key)
            owner = future is None
            if owner:
                future = self._entries[key] = Future()
                self.n_computed += 1
        if owner:
            future.set_result(self._compute(key))
        return future.result()

    def _compute(self, key: Hashable) -> ImageFeatures | None:
        try:
            return extract_features(self.loader(key), **self.settings)
        except Exception as error:  # noqa: BLE001 - a bad image is a reported per-image skip
            self.failures[key] = f"{type(error).__name__}: {error}"
            return None

    def evict(self, key: Hashable) -> None:
        """Forget the features of ``key`` (a later ``get`` recomputes them)."""
        with self._lock:
            self._entries.pop(key, None)

    def prefetch(self, keys: Sequence[Hashable], workers: int = 1, progress: bool = False) -> None:
        """Compute the features of all ``keys`` not yet cached, ``workers`` at a time."""
        todo = list(dict.fromkeys(k for k in keys if k not in self._entries))
        bar = tqdm(total=len(todo), desc="features", unit="img", disable=not progress)
        if workers <= 1:
            for key in todo:
                self.get(key)
                bar.update()
        else:
            # OpenCV and PIL release the GIL while decoding and detecting, so threads scale.
            with ThreadPoolExecutor(workers) as pool:
                for _ in pool.map(self.get, todo):
                    bar.update()
        bar.close()
