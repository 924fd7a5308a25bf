"""Path relations the image folders and their outputs are checked with."""
from __future__ import annotations

import os

__all__ = ["is_within"]


def is_within(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """True if ``path`` is ``folder`` or lies below it (symbolic links resolved).

    Examples
    --------
    >>> is_within("/data/photos/a.jpg", "/data/photos"), is_within("/data/out", "/data/photos")
    (True, False)
    """
    real_path = os.path.realpath(path)
    real_folder = os.path.realpath(folder)
    return os.path.commonpath([real_path, real_folder]) == real_folder
