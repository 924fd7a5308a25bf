"""Hamming engine: compiled kernels == blocked numpy reference == brute force.

The brute-force reference unpacks the bits and counts differing bits of every pair
(an N x N matrix, fine for the small N used here).
"""
import tracemalloc

import numpy as np
import pytest

from mmselfsup_ext.hashing import (
    distance_histogram,
    knn_distances,
    pair_distances,
    radius_pairs,
)
from mmselfsup_ext.hashing import _mih, _reference
from mmselfsup_ext.hashing.hamming import histogram_and_radius_pairs
from mmselfsup_ext.hashing.sampling import (
    dkw_epsilon,
    sampled_distance_histogram,
    sampled_knn_distances,
)

BITS = [32, 64, 96, 128]
SIZES = [1, 2, 3, 257]


def brute_matrix(codes):
    bits = np.unpackbits(codes, axis=1).astype(np.int64)
    return (bits[:, None, :] != bits[None, :, :]).sum(axis=2)


def brute_histogram(codes):
    d = brute_matrix(codes)
    iu = np.triu_indices(len(codes), k=1)
    return np.bincount(d[iu], minlength=8 * codes.shape[1] + 1)


def brute_pairs(codes, radius):
    d = brute_matrix(codes)
    i, j = np.triu_indices(len(codes), k=1)  # row-major: sorted by (i, j)
    keep = d[i, j] <= radius
    return i[keep], j[keep], d[i, j][keep]


def brute_knn(codes, k):
    d = brute_matrix(codes).astype(float)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, :k].astype(np.int64)


def clustered_codes(n, n_bits, seed, flips=3):
    """Random codes where about half are near-copies (<= flips bits) of others,
    so small radii find pairs and k-NN distances tie."""
    rng = np.random.default_rng(seed)
    bits = rng.random((n, n_bits)) < 0.5
    n_copies = n // 2
    src = rng.integers(0, max(1, n - n_copies), n_copies)
    bits[n - n_copies :] = bits[src]
    for row in range(n - n_copies, n):
        flip = rng.integers(0, n_bits, rng.integers(0, flips + 1))
        bits[row, flip] ^= True
    return np.packbits(bits, axis=1)


def assert_pairs_equal(got, expected):
    assert len(got) == 3
    for a, b in zip(got, expected):
        assert a.dtype == np.int64
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("n_bits", BITS)
def test_histogram_exact(n_bits, n):
    codes = clustered_codes(n, n_bits, seed=n_bits + n)
    expected = brute_histogram(codes)
    hist = distance_histogram(codes)
    assert hist.dtype == np.int64 and hist.shape == (n_bits + 1,)
    assert hist.sum() == n * (n - 1) // 2
    np.testing.assert_array_equal(hist, expected)
    words = _reference.as_words(codes)
    np.testing.assert_array_equal(_reference.distance_histogram(words, n_bits), expected)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("n_bits", BITS)
def test_radius_pairs_exact_all_methods(n_bits, n):
    codes = clustered_codes(n, n_bits, seed=3 * n_bits + n)
    words = _reference.as_words(codes)
    for radius in (-1, 0, 1, 2, 3, 5, 12, n_bits):
        expected = brute_pairs(codes, radius)
        assert_pairs_equal(radius_pairs(codes, radius), expected)
        assert_pairs_equal(radius_pairs(codes, radius, method="brute"), expected)
        if radius + 1 <= n_bits:
            assert_pairs_equal(radius_pairs(codes, radius, method="mih"), expected)
        if radius >= 0 and n >= 2:
            assert_pairs_equal(_reference.radius_pairs(words, radius), expected)


@pytest.mark.parametrize("n_bits", BITS)
def test_knn_exact_with_ties(n_bits):
    codes = clustered_codes(257, n_bits, seed=n_bits)
    codes[10] = codes[11] = codes[12]  # a three-way tie at distance 0
    words = _reference.as_words(codes)
    for k in (1, 2, 5, 256):
        expected = brute_knn(codes, k)
        got = knn_distances(codes, k)
        assert got.dtype == np.int64 and got.shape == (257, k)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(_reference.knn_distances(words, k, n_bits), expected)
    assert knn_distances(codes, 2)[10].tolist() == [0, 0]


def test_knn_two_codes_and_bad_k():
    codes = np.array([[0b1011], [0]], dtype=np.uint8)
    np.testing.assert_array_equal(knn_distances(codes), [[3], [3]])
    for k in (0, 2, 1.0):
        with pytest.raises(ValueError, match="k must"):
            knn_distances(codes, k)


@pytest.mark.parametrize("n_bits", BITS)
def test_pair_distances(n_bits):
    codes = clustered_codes(40, n_bits, seed=7)
    rng = np.random.default_rng(1)
    i, j = rng.integers(0, 40, 500), rng.integers(0, 40, 500)
    expected = brute_matrix(codes)[i, j]
    np.testing.assert_array_equal(pair_distances(codes, i, j), expected)
    np.testing.assert_array_equal(
        _reference.pair_distances(_reference.as_words(codes), i, j), expected
    )
    assert pair_distances(codes, [], []).shape == (0,)


@pytest.mark.parametrize(
    "i, j, match",
    [([0], [5], r"\[0, 5\)"), ([-1], [0], r"\[0, 5\)"), ([0, 1], [0], "equal length"),
     ([0.5], [1.0], "integer")],
)
def test_pair_distances_rejects_bad_indices(i, j, match):
    with pytest.raises(ValueError, match=match):
        pair_distances(np.zeros((5, 8), np.uint8), i, j)


def test_bad_arguments():
    codes = np.zeros((4, 8), np.uint8)
    with pytest.raises(ValueError, match="uint8 array"):
        distance_histogram(codes.astype(np.int32))
    with pytest.raises(ValueError, match="radius must be an int"):
        radius_pairs(codes, 2.5)
    with pytest.raises(ValueError, match="method must be one of"):
        radius_pairs(codes, 2, method="lsh")
    with pytest.raises(ValueError, match="radius \\+ 1 <= bits"):
        radius_pairs(codes, 64, method="mih")
    with pytest.raises(ValueError, match="n_threads"):
        distance_histogram(codes, n_threads=0)


def test_identical_codes():
    codes = np.tile(np.arange(8, dtype=np.uint8), (6, 1))
    hist = distance_histogram(codes)
    assert hist[0] == 15 and hist[1:].sum() == 0
    i, j, d = radius_pairs(codes, 0, method="mih")
    assert len(i) == 15 and d.max() == 0
    np.testing.assert_array_equal(knn_distances(codes, 5), np.zeros((6, 5)))


@pytest.mark.parametrize("n_bits", [64, 96])
def test_threaded_paths_match_reference(n_bits):
    # big enough that the kernels run on several threads and auto picks MIH
    codes = clustered_codes(2100, n_bits, seed=5)
    words = _reference.as_words(codes)
    expected_pairs = _reference.radius_pairs(words, 4)
    for threads in (1, 2, 3):
        hist, pairs = histogram_and_radius_pairs(codes, 4, n_threads=threads)
        np.testing.assert_array_equal(hist, _reference.distance_histogram(words, n_bits))
        assert_pairs_equal(pairs, expected_pairs)
        for method in ("auto", "mih", "brute"):
            assert_pairs_equal(radius_pairs(codes, 4, method=method, n_threads=threads),
                               expected_pairs)
        np.testing.assert_array_equal(
            knn_distances(codes, 3, n_threads=threads),
            _reference.knn_distances(words, 3, n_bits),
        )


@pytest.mark.parametrize("n_bits, n_sub", [(64, 3), (96, 5), (128, 2), (128, 7), (32, 32)])
def test_mih_substrings_partition_the_bits(n_bits, n_sub):
    codes = clustered_codes(50, n_bits, seed=n_sub)
    keys = _mih.substring_keys(codes, n_sub)
    bits = np.unpackbits(codes, axis=1)
    bounds = [s * n_bits // n_sub for s in range(n_sub + 1)]
    for s in range(n_sub):
        part = bits[:, bounds[s] : bounds[s + 1]]
        expected = part.astype(np.uint64) @ (np.uint64(2) ** np.arange(
            part.shape[1] - 1, -1, -1, dtype=np.uint64))
        np.testing.assert_array_equal(keys[s], expected)


def test_mih_is_subquadratic_on_random_codes():
    codes = np.random.default_rng(0).integers(0, 256, (20000, 8), dtype=np.uint8)
    index = _mih.build_index(codes, 2)
    # three 21-bit substrings: ~3 * N^2 / 2 / 2^21 random candidates, far below N^2 / 2
    assert index.n_candidates < 20000**2 / 2 / 1000


def test_memory_stays_linear():
    # 40k codes: an N x N int64 matrix would be 12.8 GB
    codes = np.random.default_rng(0).integers(0, 256, (40000, 8), dtype=np.uint8)
    tracemalloc.start()
    hist, (i, _, _) = histogram_and_radius_pairs(codes, 8)
    knn_distances(codes, 1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert hist.sum() == 40000 * 39999 // 2
    assert peak < 20e6


def test_sampled_histogram_is_uniform_over_pairs():
    # four codes whose six pairs have six different distances
    codes = np.packbits(np.array([[0] * 8, [1] + [0] * 7, [1, 1, 1] + [0] * 5,
                                  [1, 1, 1, 1, 1, 1, 1, 0]], dtype=bool), axis=1)
    distances = brute_matrix(codes)[np.triu_indices(4, 1)]
    assert len(set(distances)) == 6
    n_pairs = 60000
    hist = sampled_distance_histogram(codes, n_pairs, seed=0)
    assert hist.sum() == n_pairs and hist.shape == (9,)
    freq = hist[distances] / n_pairs
    sigma = np.sqrt(1 / 6 * 5 / 6 / n_pairs)
    assert np.all(np.abs(freq - 1 / 6) < 5 * sigma)


def test_sampled_histogram_within_dkw_bound():
    codes = clustered_codes(1500, 64, seed=2)
    exact = distance_histogram(codes)
    n_pairs = 100_000
    sample = sampled_distance_histogram(codes, n_pairs, seed=3)
    gap = np.abs(np.cumsum(sample) / n_pairs - np.cumsum(exact) / exact.sum()).max()
    assert gap <= dkw_epsilon(n_pairs, alpha=0.001)
    np.testing.assert_array_equal(sampled_distance_histogram(codes, 50, seed=9),
                                  sampled_distance_histogram(codes, 50, seed=9))


def test_sampled_knn_rows_are_exact_rows():
    codes = clustered_codes(300, 64, seed=4)
    exact = {tuple(row) for row in knn_distances(codes, 3)}
    sample = sampled_knn_distances(codes, 200, k=3, seed=0)
    assert sample.shape == (200, 3)
    assert {tuple(row) for row in sample} <= exact


def test_sampling_bad_arguments():
    codes = np.zeros((4, 8), np.uint8)
    with pytest.raises(ValueError, match="at least 2 codes"):
        sampled_distance_histogram(codes[:1], 10)
    with pytest.raises(ValueError, match="n_pairs"):
        sampled_distance_histogram(codes, 0)
    with pytest.raises(ValueError, match="k must"):
        sampled_knn_distances(codes, 5, k=4)
    with pytest.raises(ValueError, match="alpha"):
        dkw_epsilon(10, alpha=1.5)
