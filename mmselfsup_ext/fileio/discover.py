"""Find the images of a folder in capture order."""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

__all__ = ["IMAGE_EXTENSIONS", "discover_images", "natural_key", "relative_posix"]

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers by value (``img2`` < ``img10``).

    Text runs compare case-insensitively; the original string breaks ties so the
    order is total and deterministic.

    Examples
    --------
    >>> sorted(["b/img10.jpg", "a/IMG2.jpg", "b/img2.jpg"], key=natural_key)
    ['a/IMG2.jpg', 'b/img2.jpg', 'b/img10.jpg']
    """
    # re.split with a capture group alternates text, digits, text, ... so items at
    # the same position always have the same type and compare safely.
    parts = tuple(int(tok) if i % 2 else tok.casefold()
                  for i, tok in enumerate(_DIGITS.split(text)))
    return parts, text


def relative_posix(path: str | os.PathLike, root: str | os.PathLike) -> str:
    """Return ``path`` relative to ``root`` with ``/`` separators (the contract's path form)."""
    return Path(os.path.relpath(path, root)).as_posix()


def _normalise_extensions(extensions: Iterable[str]) -> frozenset[str]:
    if isinstance(extensions, str):
        raise ValueError("extensions must be an iterable of suffixes such as ('.jpg', '.png'), "
                         f"not the single string {extensions!r}")
    out = set()
    for ext in extensions:
        ext = str(ext).strip().casefold()
        if not ext:
            raise ValueError("extensions must not contain an empty suffix")
        out.add(ext if ext.startswith(".") else "." + ext)
    if not out:
        raise ValueError("extensions must name at least one suffix")
    return frozenset(out)


def discover_images(root: str | os.PathLike,
                    extensions: Iterable[str] = IMAGE_EXTENSIONS) -> list[Path]:
    """List image files under ``root`` recursively, in natural (capture) order.

    Parameters
    ----------
    root : str or os.PathLike
        Folder to search.
    extensions : iterable of str, optional
        File suffixes to accept, compared case-insensitively (``.JPG`` matches
        ``.jpg``); the leading dot is optional.

    Returns
    -------
    list of pathlib.Path
        ``root / relative_path`` for every matching entry that is not a directory,
        sorted by :func:`natural_key` of the ``/``-separated relative path.
        Non-regular entries (FIFOs, broken links) are listed so the loader can
        report them instead of silently dropping them.

    Raises
    ------
    ValueError
        If ``root`` is not a directory or ``extensions`` is empty.

    Notes
    -----
    Symbolic links to folders are followed, but every folder is entered at most
    once (tracked by its real path), so link loops terminate and a folder linked
    twice is not listed twice.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"image folder {str(root)!r} does not exist or is not a directory")
    wanted = _normalise_extensions(extensions)
    visited: set[str] = set()
    found: list[tuple[tuple, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in visited:
            dirnames[:] = []
            continue
        visited.add(real)
        # Prune already-seen targets early; the check above still catches the rest.
        # Sorted so that a folder reachable by two routes (a link and its target)
        # is always listed under the same one, whatever order the OS returns.
        dirnames[:] = sorted((d for d in dirnames
                              if os.path.realpath(os.path.join(dirpath, d)) not in visited),
                             key=natural_key)
        for name in filenames:
            if os.path.splitext(name)[1].casefold() in wanted:
                path = Path(dirpath) / name
                found.append((natural_key(relative_posix(path, root)), path))
    found.sort(key=lambda item: item[0])
    return [path for _, path in found]
