"""Keep policies and modes: which image of a duplicate group is preferred, components."""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..fileio.loading import UnreadableImageError, image_header_size, load_image

__all__ = ["KEEP_POLICIES", "KEEP_MODES", "LEGACY_KEEP_MODES", "SHARPNESS_SIDE", "duplicate_components",
           "choose_keepers", "priority_order", "policy_score", "sharpness", "size_key"]

KEEP_POLICIES = ("first", "sharpest", "largest")
# ``surface`` (with verification): an image goes only if the kept images, projected
# into it through verified homographies, still show (almost) all of its surface.
# ``pairwise``: greedy in policy order, an image goes only if a kept image is its
# duplicate (a chain A~B~C with A, C disjoint keeps A and C). ``component``: one image
# per connected component (the paper), which drops C's surface in that chain.
KEEP_MODES = ("surface", "pairwise", "component")
#: The modes' names before 2026-12 (``coverage`` and ``cover`` read too alike); still
#: accepted, with a warning.
LEGACY_KEEP_MODES = {"coverage": "surface", "cover": "pairwise"}

# Sharpness is measured at a common scale: the variance of the Laplacian depends
# on resolution, so a 20 MP and a 5 MP copy are compared after both are reduced
# to this short side (JPEG draft mode keeps the reduction cheap).
SHARPNESS_SIDE = 512


def duplicate_components(n: int, i: np.ndarray, j: np.ndarray) -> list[np.ndarray]:
    """Connected components of the duplicate graph that have more than one image.

    Parameters
    ----------
    n : int
        Number of images (graph nodes ``0 .. n-1``).
    i, j : array_like of int
        Duplicate edges.

    Returns
    -------
    list of ndarray
        Each component's nodes ascending (capture order); components ordered by
        their first node. Singletons (images with no duplicate) are omitted.

    Examples
    --------
    >>> [c.tolist() for c in duplicate_components(6, [0, 1, 4], [1, 2, 5])]
    [[0, 1, 2], [4, 5]]
    """
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    if i.shape != j.shape or i.ndim != 1:
        raise ValueError(f"i and j must be 1-D of equal length, got {i.shape} and {j.shape}")
    if i.size and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n):
        raise ValueError(f"edge endpoints must lie in [0, {n})")
    if n == 0 or i.size == 0:
        return []
    graph = coo_matrix((np.ones(i.size, dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    sizes = np.bincount(labels)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    comps = [order[s:s + c] for s, c in zip(starts, sizes) if c > 1]
    comps.sort(key=lambda comp: int(comp[0]))
    return comps


def sharpness(path: str | os.PathLike) -> float:
    """Variance of the Laplacian of the greyscale image at a common scale.

    Higher is sharper (more high-frequency energy). The image is decoded with
    its short side reduced to :data:`SHARPNESS_SIDE` (when larger), so images of
    different resolutions are compared on the same footing.

    Raises
    ------
    UnreadableImageError
        If the file cannot be decoded.
    """
    img = load_image(path, min_size=SHARPNESS_SIDE)
    short = min(img.size)
    if short > SHARPNESS_SIDE:
        scale = SHARPNESS_SIDE / short
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.BILINEAR)
    grey = np.asarray(img.convert("L"), dtype=np.float32)
    return float(ndimage.laplace(grey).var())


def size_key(path: str | os.PathLike) -> tuple[int, int]:
    """``(pixel count, file size in bytes)`` from the header; larger is preferred."""
    width, height = image_header_size(path)
    return width * height, os.path.getsize(path)


def choose_keepers(components: Sequence[np.ndarray], policy: str,
                   score: Callable[[int], object] | None = None) -> list[int]:
    """Pick the kept image of each duplicate component.

    Parameters
    ----------
    components : sequence of ndarray
        Node indices of each component, ascending.
    policy : {"first", "sharpest", "largest"}
        ``first`` keeps the earliest image in capture order. ``sharpest`` and
        ``largest`` keep the image with the highest ``score``; ties go to the
        earliest image.
    score : callable, optional
        Node index -> comparable score (higher is better); required for
        ``sharpest`` and ``largest``, unused for ``first``.

    Returns
    -------
    list of int
        One kept node per component.

    Examples
    --------
    >>> choose_keepers([np.array([2, 3, 7])], "largest", {2: 5, 3: 9, 7: 9}.get)
    [3]
    """
    if policy not in KEEP_POLICIES:
        raise ValueError(f"keep policy must be one of {KEEP_POLICIES}, got {policy!r}")
    if policy == "first":
        return [int(comp[0]) for comp in components]
    if score is None:
        raise ValueError(f"keep policy {policy!r} needs a score function")
    # max() returns the first maximal item, and components are in capture order.
    return [int(max(comp.tolist(), key=score)) for comp in components]


def priority_order(n: int, components: Sequence[np.ndarray],
                   score: Callable[[int], object] | None = None) -> np.ndarray:
    """Images in keep preference: component members by descending score, then the rest.

    Parameters
    ----------
    n : int
        Number of images.
    components : sequence of ndarray
        Duplicate components (only their members need a score).
    score : callable, optional
        Node index -> comparable score (higher is preferred); None: capture order.

    Returns
    -------
    ndarray
        ``int64`` permutation of ``range(n)``; ties keep capture order. Images
        outside every component have no duplicate, so their place does not matter.

    Examples
    --------
    >>> priority_order(4, [np.array([1, 2, 3])], {1: 0.5, 2: 2.0, 3: 2.0}.get).tolist()
    [2, 3, 1, 0]
    """
    if score is None:
        return np.arange(n, dtype=np.int64)
    members = sorted({int(p) for comp in components for p in comp})
    # sorted(reverse=True) is stable: equal scores stay in capture order.
    ranked = sorted(members, key=score, reverse=True)
    rest = np.setdiff1d(np.arange(n, dtype=np.int64), np.asarray(members, dtype=np.int64))
    return np.concatenate([np.asarray(ranked, dtype=np.int64), rest])


def policy_score(policy: str, path: str | os.PathLike) -> object:
    """Score of one image for a keep policy; unreadable files score lowest.

    A file that decoded during encoding but fails now (changed on disk) must not
    be kept in preference to a readable duplicate.
    """
    try:
        if policy == "sharpest":
            return sharpness(path)
        if policy == "largest":
            return size_key(path)
    except (UnreadableImageError, OSError):
        return float("-inf") if policy == "sharpest" else (-1, -1)
    raise ValueError(f"policy {policy!r} has no score; expected 'sharpest' or 'largest'")
