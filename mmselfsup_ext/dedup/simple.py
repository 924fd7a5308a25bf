"""Codes in, paths to remove out: the one-call API (in the style of imagededup's).

For codes already computed elsewhere; a folder on disk goes through
:func:`~.pipeline.deduplicate_folder`, which also writes the output contract.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .hash_search import search_codes
from .keep import keep_images
from .options import DedupOptions, resolve_options

__all__ = ["find_duplicates_to_remove"]


def find_duplicates_to_remove(codes: np.ndarray, paths: Sequence[str | os.PathLike],
                              options: DedupOptions | None = None,
                              files: Sequence[str | os.PathLike] | None = None,
                              **settings: object) -> list[str]:
    """Paths to remove: :func:`~.hash_search.find_duplicates` then :func:`~.keep.select_keepers`.

    Examples
    --------
    >>> codes = np.array([[0], [1], [255]], dtype=np.uint8)
    >>> find_duplicates_to_remove(codes, ["a", "b", "c"], pairing="all", threshold=1)
    ['b']
    """
    options = resolve_options(options, settings)
    search = search_codes(codes, paths, options)
    decision = keep_images(search, options, files)
    return [search.paths[p] for p in decision.remove]
