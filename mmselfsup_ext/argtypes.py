"""Argument types and the one-line-error parser shared by every command-line tool.

Torch-free, so the classical tools start fast. Each type function parses the text
and checks the value with :mod:`mmselfsup_ext.validation`, raising
``argparse.ArgumentTypeError`` with a message that says what was expected.
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn

from .validation import check_int, check_number, one_line

__all__ = ["OneLineArgumentParser", "dimensions", "int_at_least", "non_negative_int",
           "number_in", "positive_int"]


class OneLineArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one ``error: ...`` line (exit status 2).

    The same form as the errors the tools report at run time, so a user (or a
    script reading stderr) sees one kind of message, never a usage block.
    """

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {one_line(message)} (see --help)\n")
        sys.exit(2)


def int_at_least(minimum: int) -> Callable[[str], int]:
    """Type function accepting integers ``>= minimum``.

    Examples
    --------
    >>> int_at_least(32)("64")
    64
    """
    def parse(text: str) -> int:
        try:
            return check_int(int(text), "value", minimum)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {minimum}, got {text!r}") from None

    parse.__name__ = f"int_at_least_{minimum}"
    return parse


def number_in(low: float, high: float = math.inf, *, low_open: bool = False
              ) -> Callable[[str], float]:
    """Type function accepting real numbers in ``[low, high]`` (``(low, high]`` if ``low_open``).

    Examples
    --------
    >>> number_in(0.0, 1.0, low_open=True)("0.5")
    0.5
    """
    span = f"{'(' if low_open else '['}{low:g}, {high:g}]"

    def parse(text: str) -> float:
        try:
            return check_number(float(text), "value", low, high, low_open=low_open)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number in {span}, got {text!r}") from None

    parse.__name__ = "number"
    return parse


def dimensions(minimum: int = 1) -> Callable[[str], tuple[int, int]]:
    """Type function accepting ``WIDTHxHEIGHT`` with both integers ``>= minimum``.

    Examples
    --------
    >>> dimensions(16)("320x256")
    (320, 256)
    """
    def parse(text: str) -> tuple[int, int]:
        width, sep, height = text.lower().partition("x")
        try:
            size = (int(width), int(height))
        except ValueError:
            size = None
        if not sep or size is None or min(size) < minimum:
            raise argparse.ArgumentTypeError(
                f"expected WIDTHxHEIGHT with integers >= {minimum} (e.g. 320x256), "
                f"got {text!r}")
        return size

    parse.__name__ = "dimensions"
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)
