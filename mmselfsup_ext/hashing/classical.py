"""Classical perceptual hashes (aHash, dHash, pHash, wHash) through ImageHash.

Each hash is returned as one packed code row (see :mod:`.codes`), ``hash_size ** 2`` bits,
in ImageHash's own bit order, so ``codes_to_hex`` equals ``str(imagehash.<method>(...))``.
"""
from __future__ import annotations

from collections.abc import Callable

import imagehash
import numpy as np
from PIL import Image

__all__ = ["CLASSICAL_METHODS", "classical_hash", "classical_tag", "min_decode_size"]

CLASSICAL_METHODS = ("ahash", "dhash", "phash", "whash")

# ImageHash's pHash takes the DCT of a (4 * hash_size)^2 image and keeps the low corner.
_PHASH_HIGHFREQ_FACTOR = 4
# ImageHash's wHash resizes to the largest power of two below the image's short side by
# default, which makes the hash depend on the decoded resolution (and so on JPEG draft
# mode). A fixed working scale makes it resolution independent; 256 px is the scale
# imagededup uses, and only the hash_size x hash_size low-pass band survives anyway.
_WHASH_MIN_SCALE = 256


def _check(method: str, hash_size: int) -> None:
    if method not in CLASSICAL_METHODS:
        raise ValueError(f"method must be one of {CLASSICAL_METHODS}, got {method!r}")
    if isinstance(hash_size, bool) or not isinstance(hash_size, (int, np.integer)):
        raise ValueError(f"hash_size must be an integer, got {hash_size!r}")
    if hash_size < 2:
        raise ValueError(f"hash_size must be >= 2, got {hash_size}")
    if method == "whash" and hash_size & (hash_size - 1):
        raise ValueError(f"whash needs a power-of-two hash_size, got {hash_size}")


def _whash_scale(hash_size: int) -> int:
    return max(_WHASH_MIN_SCALE, int(hash_size))


def _hash_function(method: str, hash_size: int) -> Callable[[Image.Image], imagehash.ImageHash]:
    if method == "ahash":
        return lambda image: imagehash.average_hash(image, hash_size=hash_size)
    if method == "dhash":
        return lambda image: imagehash.dhash(image, hash_size=hash_size)
    if method == "phash":
        return lambda image: imagehash.phash(
            image, hash_size=hash_size, highfreq_factor=_PHASH_HIGHFREQ_FACTOR
        )
    scale = _whash_scale(hash_size)
    return lambda image: imagehash.whash(image, hash_size=hash_size, image_scale=scale)


def classical_hash(image: Image.Image, method: str, hash_size: int = 8) -> np.ndarray:
    """Hash one image with a classical perceptual hash.

    Parameters
    ----------
    image : PIL.Image.Image
        Any mode; ImageHash converts it to greyscale.
    method : {"ahash", "dhash", "phash", "whash"}
        Average, difference, DCT (perceptual) or Haar-wavelet hash.
    hash_size : int, default 8
        Side of the hash grid; the code has ``hash_size ** 2`` bits. wHash needs a
        power of two.

    Returns
    -------
    ndarray
        ``uint8`` array of shape ``(ceil(hash_size ** 2 / 8),)``.

    Examples
    --------
    >>> from PIL import Image
    >>> classical_hash(Image.new("L", (64, 64), 128), "dhash").shape
    (8,)
    """
    _check(method, hash_size)
    bits = _hash_function(method, int(hash_size))(image).hash.reshape(1, -1)
    return np.packbits(bits, axis=1)[0]


def classical_tag(method: str, hash_size: int = 8) -> str:
    """Output tag of a method and size, e.g. ``classical_tag("phash", 8) == "phash64"``."""
    _check(method, hash_size)
    return f"{method}{int(hash_size) ** 2}"


def min_decode_size(method: str, hash_size: int = 8) -> int:
    """Smallest image side a method resizes to, so loaders may decode at reduced scale.

    Every method first resizes the greyscale image to a fixed working size; decoding
    at any resolution whose short side is at least this value (e.g. JPEG draft mode)
    loses nothing the hash uses.

    Examples
    --------
    >>> min_decode_size("phash", 8)
    32
    """
    _check(method, hash_size)
    hash_size = int(hash_size)
    if method == "ahash":
        return hash_size
    if method == "dhash":
        return hash_size + 1
    if method == "phash":
        return hash_size * _PHASH_HIGHFREQ_FACTOR
    return _whash_scale(hash_size)
