"""Which images are compared: capture-order pairing and ``--group-by`` groups."""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..fileio.discover import natural_key

__all__ = ["PAIRING_MODES", "UNGROUPED", "candidate_pairs", "compile_group_regex",
           "group_indices"]

PAIRING_MODES = ("adjacent", "window", "all")

# Key of the group collecting every path the --group-by regex does not match.
UNGROUPED = "ungrouped"


def candidate_pairs(n: int, pairing: str, window: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs of ``n`` images in capture order, for ordered pairing modes.

    Parameters
    ----------
    n : int
        Number of images (positions ``0 .. n-1`` in capture order).
    pairing : {"adjacent", "window"}
        ``adjacent``: disjoint neighbours ``(0, 1), (2, 3), ...`` (the paper's
        protocol; with odd ``n`` the last image has no partner).
        ``window``: each image against its next ``window`` images.
    window : int, default 1
        Look-ahead for ``window``; ignored for ``adjacent``.

    Returns
    -------
    i, j : ndarray
        ``int64`` arrays with ``i < j``, sorted by ``(i, j)``.

    Raises
    ------
    ValueError
        For ``pairing="all"`` (that mode searches by radius, it never enumerates
        pairs), an unknown mode, negative ``n`` or ``window < 1``.

    Examples
    --------
    >>> i, j = candidate_pairs(5, "adjacent"); list(zip(i.tolist(), j.tolist()))
    [(0, 1), (2, 3)]
    >>> i, j = candidate_pairs(4, "window", 2); list(zip(i.tolist(), j.tolist()))
    [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if pairing not in _ORDERED:
        if pairing in PAIRING_MODES:
            raise ValueError(f"pairing {pairing!r} has no enumerated candidates; use radius_pairs")
        raise ValueError(f"pairing must be one of {PAIRING_MODES}, got {pairing!r}")
    return _ORDERED[pairing](int(n), window)


def _adjacent_pairs(n: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(0, n - 1, 2, dtype=np.int64)
    return i, i + 1


def _window_pairs(n: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be an int >= 1, got {window!r}")
    offsets = np.arange(1, int(window) + 1, dtype=np.int64)
    i = np.repeat(np.arange(n, dtype=np.int64), offsets.size)
    j = i + np.tile(offsets, n)
    inside = j < n
    return i[inside], j[inside]


# The ordered pairings and how each enumerates its pairs; the others search by radius.
_ORDERED = {"adjacent": _adjacent_pairs, "window": _window_pairs}


def compile_group_regex(pattern: str) -> re.Pattern:
    """Compile a ``--group-by`` pattern, turning ``re.error`` into a ``ValueError``."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid --group-by regular expression {pattern!r}: {exc}") from None


def group_indices(paths: Sequence[str], group_by: str | re.Pattern | None
                  ) -> dict[str, np.ndarray]:
    """Split positions ``0 .. len(paths)-1`` into groups by a regular expression.

    Parameters
    ----------
    paths : sequence of str
        Relative ``/``-separated paths in capture order.
    group_by : str or re.Pattern or None
        Searched (``re.search``) in each path. The group key is the first capture
        group when the pattern has one, else the whole match. ``None`` puts every
        path in a single group keyed ``"all"``.

    Returns
    -------
    dict of str to ndarray
        Group key -> ``int64`` positions in capture order. Keys are in natural
        order; paths the pattern does not match form the group ``"ungrouped"``,
        listed last.

    Examples
    --------
    >>> g = group_indices(["a_h01_1.jpg", "a_h00_2.jpg", "x.jpg", "a_h01_3.jpg"], r"_h(\\d+)_")
    >>> {k: v.tolist() for k, v in g.items()}
    {'00': [1], '01': [0, 3], 'ungrouped': [2]}
    """
    if group_by is None:
        return {"all": np.arange(len(paths), dtype=np.int64)}
    regex = compile_group_regex(group_by) if isinstance(group_by, str) else group_by
    members: dict[str, list[int]] = {}
    loose: list[int] = []
    for pos, path in enumerate(paths):
        match = regex.search(path)
        if match is None:
            loose.append(pos)
            continue
        key = match.group(1) if regex.groups else match.group(0)
        # An optional capture group that did not take part still means "matched".
        members.setdefault("" if key is None else key, []).append(pos)
    groups = {key: np.asarray(members[key], dtype=np.int64)
              for key in sorted(members, key=natural_key)}
    if loose:
        # A real group literally named "ungrouped" absorbs the loose paths too.
        merged = np.concatenate([groups.get(UNGROUPED, np.zeros(0, np.int64)),
                                 np.asarray(loose, dtype=np.int64)])
        groups.pop(UNGROUPED, None)
        groups[UNGROUPED] = np.sort(merged)
    return groups
