"""Shared argument types: accepted ranges and their one-line messages."""
import argparse
import math

import pytest

from mmselfsup_ext.argtypes import (OneLineArgumentParser, dimensions, int_at_least, number_in,
                                    positive_int)


@pytest.mark.parametrize("text, ok", [("1", True), ("7", True), ("0", False), ("-3", False),
                                      ("1.5", False), ("x", False)])
def test_positive_int(text, ok):
    if ok:
        assert positive_int(text) == int(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match=">= 1"):
            positive_int(text)


def test_int_at_least_bound_is_inclusive():
    assert int_at_least(32)("32") == 32
    with pytest.raises(argparse.ArgumentTypeError, match=">= 32, got '31'"):
        int_at_least(32)("31")


@pytest.mark.parametrize("low_open, text, ok", [
    (False, "0", True), (True, "0", False), (True, "1", True), (True, "1.01", False),
    (True, "nan", False), (False, "x", False), (False, "0.25", True)])
def test_number_in_unit_interval(low_open, text, ok):
    parse = number_in(0.0, 1.0, low_open=low_open)
    if ok:
        assert parse(text) == float(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match=r"expected a number in [\[(]0, 1\]"):
            parse(text)


@pytest.mark.parametrize("text, expected", [("320x256", (320, 256)), ("16X16", (16, 16)),
                                            ("15x16", None), ("320", None), ("320x", None),
                                            ("axb", None), ("320x256x3", None)])
def test_dimensions(text, expected):
    if expected:
        assert dimensions(16)(text) == expected
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="WIDTHxHEIGHT with integers >= 16"):
            dimensions(16)(text)


def test_number_without_upper_bound():
    assert number_in(0.0, low_open=True)("1e9") == 1e9
    assert math.isinf(number_in(0.0)("inf"))


def test_one_line_parser_error(capsys):
    parser = OneLineArgumentParser(prog="tool")
    parser.add_argument("--n", type=positive_int)
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--n", "0"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == ("error: argument --n: expected an integer >= 1, got '0' "
                                       "(see --help)\n")
