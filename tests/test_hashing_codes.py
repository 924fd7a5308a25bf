"""Packed codes: bit order, round trips, hex form and argument checks."""
import numpy as np
import pytest

from mmselfsup_ext.hashing import codes_to_hex, hex_to_codes, pack_bits, unpack_bits
from mmselfsup_ext.hashing.codes import check_codes


@pytest.mark.parametrize("n_bits", [1, 7, 8, 32, 64, 96, 128])
def test_pack_unpack_round_trip(n_bits):
    bits = np.random.default_rng(n_bits).random((5, n_bits)) < 0.5
    codes = pack_bits(bits)
    assert codes.dtype == np.uint8
    assert codes.shape == (5, -(-n_bits // 8))
    np.testing.assert_array_equal(unpack_bits(codes, n_bits), bits)


def test_pack_is_msb_first():
    bits = np.zeros((1, 16), dtype=bool)
    bits[0, 0] = bits[0, 15] = True  # first bit -> 0x80 of byte 0, last -> 0x01 of byte 1
    np.testing.assert_array_equal(pack_bits(bits), [[0x80, 0x01]])
    assert codes_to_hex(pack_bits(bits)) == ["8001"]


def test_pack_accepts_integer_bits():
    np.testing.assert_array_equal(pack_bits(np.array([[1, 0, 2, 0, 0, 0, 0, 0]])), [[0xA0]])


@pytest.mark.parametrize("nbytes", [1, 4, 12, 16])
def test_hex_round_trip(nbytes):
    codes = np.random.default_rng(nbytes).integers(0, 256, (6, nbytes), dtype=np.uint8)
    hexes = codes_to_hex(codes)
    assert all(len(h) == 2 * nbytes for h in hexes)
    assert hexes[0] == "".join(f"{b:02x}" for b in codes[0])
    np.testing.assert_array_equal(hex_to_codes(hexes), codes)


def test_hex_to_codes_accepts_uppercase():
    np.testing.assert_array_equal(hex_to_codes(["FF0a"]), [[255, 10]])


@pytest.mark.parametrize(
    "bad, match",
    [([], "empty"), (["abc"], "even"), (["ab", "abcd"], "length"), (["zz"], "hexadecimal")],
)
def test_hex_to_codes_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        hex_to_codes(bad)


@pytest.mark.parametrize(
    "bad",
    [np.zeros(8, np.uint8), np.zeros((2, 8), np.int64), np.zeros((2, 0), np.uint8)],
)
def test_check_codes_rejects_bad_arrays(bad):
    with pytest.raises(ValueError, match="uint8 array of shape"):
        check_codes(bad)


def test_unpack_rejects_too_many_bits():
    with pytest.raises(ValueError, match="n_bits"):
        unpack_bits(np.zeros((1, 2), np.uint8), 17)


def test_pack_rejects_1d():
    with pytest.raises(ValueError, match="2-D"):
        pack_bits(np.zeros(8, bool))


@pytest.mark.parametrize("name", ["codes", "classical", "hamming", "otsu", "sampling"])
def test_docstring_examples(name):
    import doctest
    import importlib

    module = importlib.import_module(f"mmselfsup_ext.hashing.{name}")
    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
