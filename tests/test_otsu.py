"""Otsu threshold: agrees with scikit-image, documented degenerate answers, and the
sampled-histogram confidence interval contains the exact threshold."""
import numpy as np
import pytest
from skimage.filters import threshold_otsu

from mmselfsup_ext.hashing import distance_histogram, otsu_threshold
from mmselfsup_ext.hashing.otsu import otsu_threshold_bounds
from mmselfsup_ext.hashing.sampling import sampled_distance_histogram


def random_bimodal_histogram(seed, n_bins=65):
    rng = np.random.default_rng(seed)
    low = rng.binomial(n_bins - 1, rng.uniform(0.02, 0.2), rng.integers(5, 400))
    high = rng.binomial(n_bins - 1, rng.uniform(0.35, 0.6), rng.integers(50, 4000))
    return np.bincount(np.concatenate([low, high]), minlength=n_bins)


def skimage_split(hist):
    """scikit-image on the histogram expanded into integer samples.

    It returns t with low class ``samples <= t``; for integer samples that is the
    partition ``d <= floor(t)``, the convention of otsu_threshold.
    """
    samples = np.repeat(np.arange(len(hist)), hist)
    return int(np.floor(threshold_otsu(samples)))


def between_class_variance(hist, t):
    """Independent float evaluation of w0 * w1 * (mu0 - mu1)^2 for the split d <= t."""
    d = np.arange(len(hist))
    w0, w1 = hist[: t + 1].sum(), hist[t + 1 :].sum()
    mu0 = (d[: t + 1] * hist[: t + 1]).sum() / w0
    mu1 = (d[t + 1 :] * hist[t + 1 :]).sum() / w1
    return w0 * w1 * (mu0 - mu1) ** 2


@pytest.mark.parametrize("seed", range(25))
def test_matches_skimage(seed):
    hist = random_bimodal_histogram(seed)
    assert otsu_threshold(hist) == skimage_split(hist)


@pytest.mark.parametrize("seed", range(5))
def test_matches_skimage_on_code_distances(seed):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (60, 8), dtype=np.uint8)
    codes = np.concatenate([base, base ^ (rng.random((60, 8)) < 0.03).astype(np.uint8)])
    hist = distance_histogram(codes)
    assert otsu_threshold(hist) == skimage_split(hist)


def test_is_a_maximiser_and_an_occupied_bin():
    hist = np.array([0, 4, 9, 2, 0, 0, 1, 0, 7, 12, 5, 0])
    t = otsu_threshold(hist)
    occupied = np.flatnonzero(hist)
    scores = {s: between_class_variance(hist, s) for s in occupied[:-1]}
    assert hist[t] > 0
    assert scores[t] == pytest.approx(max(scores.values()))


def test_hand_computed():
    # two splits: T=0 gives 1*2*(0-1.5)^2 = 4.5, T=1 gives 2*1*(0.5-2)^2 = 4.5,
    # a tie broken towards the lower T (as scikit-image's argmax does)
    assert otsu_threshold([1, 1, 1]) == 0
    # {0: 3, 2: 5}: one possible split, after the first occupied bin
    assert otsu_threshold([3, 0, 5]) == 0
    assert otsu_threshold([0, 0, 3, 0, 0, 5]) == 2


@pytest.mark.parametrize(
    "hist, expected",
    [
        ([], -1),  # empty: nothing is a duplicate
        ([0, 0, 0], -1),  # zero mass
        ([7], 0),  # every pair at distance 0: all identical, all duplicates
        ([5, 0, 0, 0], 0),
        ([0, 0, 7, 0], -1),  # one non-zero distance: no evidence of two classes
        (np.zeros(65, np.int64), -1),
    ],
)
def test_degenerate_histograms(hist, expected):
    assert otsu_threshold(np.asarray(hist, dtype=np.int64)) == expected


def test_all_identical_codes_are_duplicates():
    codes = np.full((5, 8), 0xAB, dtype=np.uint8)
    assert otsu_threshold(distance_histogram(codes)) == 0


def test_accepts_whole_float_counts():
    hist = random_bimodal_histogram(3)
    assert otsu_threshold(hist.astype(float)) == otsu_threshold(hist)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((2, 3)), "1-D"),
        ([1, -1, 2], "non-negative"),
        ([1.5, 2.0], "whole-number"),
        ([1.0, np.nan], "whole-number"),
        (["a", "b"], "numbers"),
    ],
)
def test_rejects_bad_histograms(bad, match):
    with pytest.raises(ValueError, match=match):
        otsu_threshold(bad)


@pytest.mark.parametrize("seed", range(6))
def test_sampled_threshold_bounds_contain_exact(seed):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (700, 8), dtype=np.uint8)
    noise = (rng.random((700, 64)) < rng.uniform(0.01, 0.06)).astype(bool)
    copies = base ^ np.packbits(noise, axis=1)
    codes = np.concatenate([base, copies])
    exact_t = otsu_threshold(distance_histogram(codes))
    sample = sampled_distance_histogram(codes, 200_000, seed=seed)
    low, high = otsu_threshold_bounds(sample, alpha=0.01)
    assert low <= exact_t <= high
    assert low <= otsu_threshold(sample) <= high


def test_bounds_shrink_with_more_samples():
    exact = random_bimodal_histogram(1).astype(np.float64)
    p = exact / exact.sum()
    widths = []
    for n in (10_000, 10_000_000):
        sample = np.round(p * n).astype(np.int64)
        low, high = otsu_threshold_bounds(sample)
        assert low <= otsu_threshold(exact) <= high
        widths.append(high - low)
    assert widths[1] < widths[0]


def test_bounds_degenerate_and_bad_alpha():
    assert otsu_threshold_bounds([0, 0]) == (-1, -1)
    with pytest.raises(ValueError, match="alpha"):
        otsu_threshold_bounds([1, 2, 3], alpha=0)
