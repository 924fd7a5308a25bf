"""Argument checks shared by the library, its command lines and its error messages.

scikit-image style: a public function validates its arguments first and raises a
``ValueError`` that says what was expected and what it got. Every check of an int,
a choice or a number in the project goes through these few functions, so the
messages read the same everywhere. Torch-free and dependency-free but for numpy.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["check_choice", "check_int", "check_number", "one_line"]


def one_line(text: object) -> str:
    """``text`` (or an exception) as a single line; the exception's type if it is empty.

    Examples
    --------
    >>> one_line("no such\\n  file")
    'no such file'
    >>> one_line(KeyError())
    'KeyError'
    """
    flat = " ".join(str(text).split())
    return flat or (type(text).__name__ if isinstance(text, BaseException) else flat)


def check_int(value: object, name: str, minimum: int | None = None) -> int:
    """``value`` as an ``int``, refusing bools, floats and values below ``minimum``.

    Examples
    --------
    >>> check_int(np.int64(3), "window", minimum=1)
    3
    >>> check_int(0, "window", minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: window must be an int >= 1, got 0
    """
    expected = "an int" if minimum is None else f"an int >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_choice(value: object, choices: Sequence[str], name: str) -> str:
    """``value`` if it is one of ``choices``.

    Examples
    --------
    >>> check_choice("all", ("window", "all"), "pairing")
    'all'
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return str(value)


def check_number(value: object, name: str, low: float = -math.inf, high: float = math.inf,
                 *, low_open: bool = False) -> float:
    """``value`` as a ``float`` in ``[low, high]`` (``(low, high]`` with ``low_open``).

    Examples
    --------
    >>> check_number(0.5, "min_overlap", 0.0, 1.0, low_open=True)
    0.5
    >>> check_number(0, "min_overlap", 0.0, 1.0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: min_overlap must be a number in (0, 1], got 0
    """
    span = f"{'(' if low_open else '['}{low:g}, {high:g}]"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in {span}, got {value!r}")
    number = float(value)
    inside = (low < number if low_open else low <= number) and number <= high
    if math.isnan(number) or not inside:
        raise ValueError(f"{name} must be a number in {span}, got {value!r}")
    return number
