"""Robust image decoding for deduplication.

Every input a folder of inspection photos can contain is either decoded to an
upright 8-bit RGB image or rejected with :class:`UnreadableImageError` carrying a
one-line reason that ends up in ``summary.json``. Nothing here writes to disk.
"""
from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..validation import one_line

__all__ = ["UnreadableImageError", "load_image", "image_header_size", "to_rgb"]

# Transparent pixels are composited on white: what an image viewer on a white page
# shows, and it makes the hidden colour under alpha = 0 irrelevant to the hash.
_BACKGROUND = (255, 255, 255)

# Errors Pillow's decoders raise on damaged data (truncated streams raise OSError,
# broken headers SyntaxError/ValueError, some plugins struct.error or EOFError).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError,
                  TypeError, Image.DecompressionBombError)


class UnreadableImageError(Exception):
    """An input file that cannot be decoded; ``str(exc)`` is a one-line reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(one_line(reason))

    @property
    def reason(self) -> str:
        """The one-line reason."""
        return str(self)


def _check_regular_file(path: Path) -> int:
    """Return the file size, or raise for anything that is not a readable regular file.

    Checked before opening so that a FIFO named ``x.jpg`` never blocks the run.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        reason = "broken symbolic link" if os.path.islink(path) else "file not found"
        raise UnreadableImageError(reason) from None
    except PermissionError:
        raise UnreadableImageError("permission denied") from None
    except OSError as exc:
        raise UnreadableImageError(f"cannot stat file: {one_line(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UnreadableImageError("is a directory, not an image file")
    if not stat.S_ISREG(st.st_mode):
        raise UnreadableImageError("not a regular file (device, FIFO or socket)")
    if st.st_size == 0:
        raise UnreadableImageError("empty file (0 bytes)")
    return st.st_size


def _scale_to_uint8(img: Image.Image) -> Image.Image:
    """Map high-bit-depth single-channel modes onto 0..255 instead of clipping.

    Pillow's ``convert('L')`` clips 16-bit values at 255, which turns a 16-bit
    photo white. ``I;16*`` modes are 16-bit by definition (divide by 257, so
    65535 -> 255). Mode ``I`` has no declared depth: values within 0..255 are kept,
    anything larger is read as 16-bit. Mode ``F`` is stretched min..max.
    """
    arr = np.asarray(img)
    if img.mode.startswith("I;16"):
        out = arr.astype(np.float64) / 257.0
    elif img.mode == "I":
        out = arr.astype(np.float64)
        if out.size and out.max() > 255:
            out = np.clip(out, 0, 65535) / 257.0
    else:
        out = np.nan_to_num(arr.astype(np.float64))
        lo, hi = (float(out.min()), float(out.max())) if out.size else (0.0, 0.0)
        out = (out - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(out)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), mode="L")


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert a decoded image of any Pillow mode to 8-bit RGB.

    Parameters
    ----------
    img : PIL.Image.Image
        A loaded image in any mode (``1``, ``L``, ``P``, ``LA``, ``PA``, ``RGBA``,
        ``CMYK``, ``YCbCr``, ``I;16``, ``I``, ``F``, ...).

    Returns
    -------
    PIL.Image.Image
        RGB image of the same size. Alpha (including palette transparency) is
        composited on white; high-bit-depth grey is scaled, not clipped.

    Raises
    ------
    UnreadableImageError
        If Pillow cannot convert the mode to RGB (e.g. ``LAB``).
    """
    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I") or mode == "F":
        return _scale_to_uint8(img).convert("RGB")
    if (mode == "P" and "transparency" in img.info) or mode == "PA":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, _BACKGROUND)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    try:
        return img.convert("RGB")
    except (ValueError, OSError) as exc:
        raise UnreadableImageError(
            f"unsupported colour mode {mode}: {one_line(exc)}") from None


def _check_pixels(size: tuple[int, int], max_pixels: int | None) -> None:
    if max_pixels is not None and size[0] * size[1] > max_pixels:
        raise UnreadableImageError(
            f"image too large: {size[0]}x{size[1]} = {size[0] * size[1]} pixels exceeds "
            f"the decompression-bomb limit of {max_pixels} pixels")


def image_header_size(path: str | os.PathLike) -> tuple[int, int]:
    """Return the stored ``(width, height)`` of an image from its header only.

    Parameters
    ----------
    path : str or os.PathLike
        Image file.

    Returns
    -------
    tuple of int
        Width and height as stored (EXIF orientation not applied; the pixel count
        is the same either way).

    Raises
    ------
    UnreadableImageError
        If the file is not a readable image.
    """
    path = Path(path)
    _check_regular_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return img.size
    except PermissionError:
        raise UnreadableImageError("permission denied") from None
    except UnidentifiedImageError:
        raise UnreadableImageError("not a recognised image format") from None
    except _DECODE_ERRORS as exc:
        raise UnreadableImageError(f"corrupt image header: {one_line(exc)}") from None


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a damaged EXIF block leaves the pixels as stored
    (the picture is still usable, only its rotation tag is not)."""
    try:
        return ImageOps.exif_transpose(img)
    except _DECODE_ERRORS:
        return img.copy()


def load_image(path: str | os.PathLike, min_size: int | None = None, *,
               max_pixels: int | None = Image.MAX_IMAGE_PIXELS) -> Image.Image:
    """Decode an image file to an upright 8-bit RGB image.

    Parameters
    ----------
    path : str or os.PathLike
        Image file.
    min_size : int, optional
        Smallest side the caller needs. For JPEG the decoder then runs in draft
        mode (DCT scaling by 1/2, 1/4 or 1/8), keeping both sides >= ``min_size``;
        this is several times faster for 20 MP photos hashed at 32 px. Other
        formats are decoded at full size. ``None`` always decodes at full size.
    max_pixels : int or None, optional
        Decompression-bomb guard on the stored pixel count (default
        ``PIL.Image.MAX_IMAGE_PIXELS``, about 89 MP); ``None`` disables it, leaving
        only Pillow's own hard stop at twice ``MAX_IMAGE_PIXELS``.

    Returns
    -------
    PIL.Image.Image
        Fully loaded RGB image with its EXIF orientation applied.

    Raises
    ------
    UnreadableImageError
        For an empty, truncated, corrupt, non-image, unreadable (permission),
        non-regular (directory, FIFO) or oversized file; the message is a
        one-line reason.

    Examples
    --------
    >>> img = load_image("shot_0001.jpg", min_size=64)  # doctest: +SKIP
    >>> img.mode, min(img.size) >= 64  # doctest: +SKIP
    ('RGB', True)
    """
    if min_size is not None and (not isinstance(min_size, (int, np.integer)) or min_size < 1):
        raise ValueError(f"min_size must be a positive int or None, got {min_size!r}")
    path = Path(path)
    _check_regular_file(path)
    try:
        with warnings.catch_warnings():
            # The explicit max_pixels check below replaces Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with open(path, "rb") as fh, Image.open(fh) as img:
                _check_pixels(img.size, max_pixels)
                if min_size is not None and img.format == "JPEG":
                    img.draft("RGB", (int(min_size), int(min_size)))
                # load() forces the full decode, so truncation is detected here
                # rather than silently padded with grey.
                img.load()
                return to_rgb(_upright(img))
    except UnreadableImageError:
        raise
    except PermissionError:
        raise UnreadableImageError("permission denied") from None
    except IsADirectoryError:
        raise UnreadableImageError("is a directory, not an image file") from None
    except UnidentifiedImageError:
        raise UnreadableImageError("not a recognised image format") from None
    except Image.DecompressionBombError as exc:
        raise UnreadableImageError(f"image too large: {one_line(exc)}") from None
    except MemoryError:
        raise UnreadableImageError("out of memory while decoding") from None
    except _DECODE_ERRORS as exc:
        raise UnreadableImageError(
            f"truncated or corrupt image data: {one_line(exc)}") from None
