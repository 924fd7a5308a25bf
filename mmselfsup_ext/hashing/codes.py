"""Binary codes as packed bits: one ``uint8`` row of ``ceil(bits / 8)`` bytes per item.

Bits are packed most-significant-bit first, exactly like :func:`numpy.packbits`, so the
hexadecimal form of a code reads the bits left to right (the convention ImageHash uses).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["pack_bits", "unpack_bits", "codes_to_hex", "hex_to_codes", "check_codes",
           "as_words"]


def check_codes(codes: np.ndarray, name: str = "codes") -> np.ndarray:
    """Validate a packed code array and return it C-contiguous.

    Parameters
    ----------
    codes : ndarray
        ``uint8`` array of shape ``(N, nbytes)`` with ``nbytes >= 1``.
    name : str
        Argument name used in the error message.

    Returns
    -------
    ndarray
        The same codes, C-contiguous ``uint8``.

    Raises
    ------
    ValueError
        If ``codes`` is not a 2-D ``uint8`` array with at least one byte per code.
    """
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.dtype != np.uint8 or codes.shape[1] < 1:
        raise ValueError(
            f"{name} must be a uint8 array of shape (N, nbytes) with nbytes >= 1, "
            f"got dtype {codes.dtype} and shape {codes.shape}"
        )
    return np.ascontiguousarray(codes)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack boolean codes into bytes, most significant bit first.

    Parameters
    ----------
    bits : ndarray
        Array of shape ``(N, B)``; nonzero entries are 1-bits.

    Returns
    -------
    ndarray
        ``uint8`` array of shape ``(N, ceil(B / 8))``; a trailing partial byte is
        padded with zero bits.

    Examples
    --------
    >>> pack_bits(np.array([[1, 0, 0, 0, 0, 0, 0, 1, 1]], dtype=bool))
    array([[129, 128]], dtype=uint8)
    """
    bits = np.asarray(bits)
    if bits.ndim != 2:
        raise ValueError(f"bits must be a 2-D array (N, B), got shape {bits.shape}")
    if bits.shape[1] < 1:
        raise ValueError("bits must have at least one bit per code")
    return np.packbits(bits.astype(bool), axis=1)


def unpack_bits(codes: np.ndarray, n_bits: int) -> np.ndarray:
    """Unpack codes into booleans, inverse of :func:`pack_bits`.

    Parameters
    ----------
    codes : ndarray
        ``uint8`` array of shape ``(N, nbytes)``.
    n_bits : int
        Number of leading bits to return, ``1 <= n_bits <= 8 * nbytes``.

    Returns
    -------
    ndarray
        ``bool`` array of shape ``(N, n_bits)``.

    Examples
    --------
    >>> unpack_bits(np.array([[129, 128]], dtype=np.uint8), 9).astype(int)
    array([[1, 0, 0, 0, 0, 0, 0, 1, 1]])
    """
    codes = check_codes(codes)
    if not 1 <= int(n_bits) <= 8 * codes.shape[1]:
        raise ValueError(f"n_bits must be in [1, {8 * codes.shape[1]}], got {n_bits}")
    return np.unpackbits(codes, axis=1, count=int(n_bits)).astype(bool)


def codes_to_hex(codes: np.ndarray) -> list[str]:
    """Format each code as lowercase hexadecimal, two digits per byte.

    Examples
    --------
    >>> codes_to_hex(np.array([[0, 255], [16, 1]], dtype=np.uint8))
    ['00ff', '1001']
    """
    codes = check_codes(codes)
    return [row.tobytes().hex() for row in codes]


def hex_to_codes(hex_list: Sequence[str]) -> np.ndarray:
    """Parse hexadecimal codes (as written by :func:`codes_to_hex`) into a code array.

    Parameters
    ----------
    hex_list : sequence of str
        Non-empty hex strings of one even length (two digits per byte).

    Returns
    -------
    ndarray
        ``uint8`` array of shape ``(len(hex_list), length // 2)``.

    Examples
    --------
    >>> hex_to_codes(["00ff", "1001"])
    array([[  0, 255],
           [ 16,   1]], dtype=uint8)
    """
    hex_list = list(hex_list)
    if not hex_list:
        raise ValueError("hex_list is empty; cannot infer the code length")
    width = len(hex_list[0])
    if width == 0 or width % 2:
        raise ValueError(f"hex codes must have a positive even length, got {hex_list[0]!r}")
    out = np.empty((len(hex_list), width // 2), dtype=np.uint8)
    for row, text in enumerate(hex_list):
        if len(text) != width:
            raise ValueError(
                f"all hex codes must have length {width}; code {row} is {text!r}"
            )
        try:
            out[row] = np.frombuffer(bytes.fromhex(text), dtype=np.uint8)
        except ValueError as exc:
            raise ValueError(f"code {row} is not hexadecimal: {text!r}") from exc
    return out


def as_words(codes: np.ndarray) -> np.ndarray:
    """Packed codes as zero-padded ``uint64`` words, ``(N, ceil(nbytes / 8))``.

    The form the popcount kernels read: the Hamming distance of two codes is the
    sum of ``popcount(a ^ b)`` over their words, and the zero padding adds nothing.
    Popcount of a XOR does not depend on byte order, so native words are fine.

    Examples
    --------
    >>> as_words(np.array([[1, 0, 0, 0, 0, 0, 0, 0, 255]], dtype=np.uint8)).shape
    (1, 2)
    """
    codes = check_codes(codes)
    n, nbytes = codes.shape
    padded = np.zeros((n, -(-nbytes // 8) * 8), dtype=np.uint8)
    padded[:, :nbytes] = codes
    return padded.view(np.uint64)
