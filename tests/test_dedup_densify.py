"""Pairs implied by verified homographies, against the exact overlap of composed maps."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from mmselfsup_ext.dedup.sources import implied, implied_pairs, predicted_overlaps
from mmselfsup_ext.dedup.verify.geometry import overlap_fraction, warp_outline

SIZE = (320, 256)


def _shift(dx: float, dy: float, angle_deg: float = 0.0, zoom: float = 1.0) -> np.ndarray:
    """Map from an image at surface offset 0 to one at offset (dx, dy): a camera move."""
    c, s = np.cos(np.radians(angle_deg)) * zoom, np.sin(np.radians(angle_deg)) * zoom
    return np.array([[c, -s, -dx], [s, c, -dy], [0.0, 0.0, 1.0]])


def _exact(h: np.ndarray, size_a=SIZE, size_b=SIZE) -> float:
    quad = warp_outline(h, size_a)
    return 0.0 if quad is None else overlap_fraction(quad, size_b)


@pytest.mark.parametrize("seed", range(5))
def test_predicted_overlap_is_exact_for_moves_and_an_upper_bound_when_rotated(seed):
    rng = np.random.default_rng(seed)
    moves = [_shift(*rng.uniform(-400, 400, 2)) for _ in range(50)]
    turns = [_shift(*rng.uniform(-200, 200, 2), rng.uniform(-20, 20), rng.uniform(0.8, 1.25))
             for _ in range(50)]
    sizes = np.tile(SIZE, (50, 1))
    np.testing.assert_allclose(predicted_overlaps(np.stack(moves), sizes, sizes),
                               [_exact(h) for h in moves], atol=1e-9)
    predicted = predicted_overlaps(np.stack(turns), sizes, sizes)
    assert np.all(predicted >= np.array([_exact(h) for h in turns]) - 1e-9)


def test_folding_or_horizon_crossing_maps_predict_nothing():
    mirror = np.diag([-1.0, 1.0, 1.0]) @ _shift(-320, 0)
    horizon = np.array([[1.0, 0, 0], [0, 1.0, 0], [-0.01, 0, 1.0]])
    nan = np.full((3, 3), np.nan)
    sizes = np.tile(SIZE, (3, 1))
    np.testing.assert_array_equal(predicted_overlaps(np.stack([mirror, horizon, nan]),
                                                     sizes, sizes), [0.0, 0.0, 0.0])


def _strip(n: int, step: float) -> np.ndarray:
    """Surface x offsets of n shots along a strip."""
    return np.arange(n) * step


def _brute_force(offsets: np.ndarray, known: set[tuple[int, int]], ok: set[tuple[int, int]],
                 min_predicted: float) -> set[tuple[int, int]]:
    """Every unknown pair with a common ok neighbour whose composed map predicts enough."""
    found = set()
    n = len(offsets)
    for a, c in itertools.combinations(range(n), 2):
        if (a, c) in known:
            continue
        for b in range(n):
            if {tuple(sorted((a, b))), tuple(sorted((b, c)))} <= ok:
                h = _shift(offsets[c] - offsets[b], 0) @ _shift(offsets[b] - offsets[a], 0)
                if max(_exact(h), _exact(np.linalg.inv(h))) >= min_predicted:
                    found.add((a, c))
    return found


@pytest.mark.parametrize("seed, batch", [(0, 1 << 18), (1, 1 << 18), (2, 1 << 18),
                                         (3, 1 << 18), (4, 1), (5, 7)])
def test_implied_pairs_equal_a_brute_force_reference_in_any_order(seed, batch, monkeypatch):
    # A small batch composes a few middles' neighbour pairs at a time.
    monkeypatch.setattr(implied, "_TRIPLE_BATCH", batch)
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.uniform(0, 2000, 14))
    pairs = [(a, b) for a, b in itertools.combinations(range(14), 2)
             if abs(offsets[a] - offsets[b]) < 320 and rng.random() < 0.6]
    status = np.array(["ok" if rng.random() < 0.85 else "no_homography" for _ in pairs])
    i, j = (np.array(col) for col in zip(*pairs))
    homography = np.stack([_shift(offsets[b] - offsets[a], 0) if st == "ok"
                           else np.full((3, 3), np.nan) for a, b, st in zip(i, j, status)])
    sizes = np.tile(SIZE, (14, 1))
    ok = {p for p, st in zip(pairs, status) if st == "ok"}
    expected = _brute_force(offsets, set(pairs), ok, 0.25)
    got_i, got_j = implied_pairs(i, j, homography, status, sizes, 0.25)
    assert set(zip(got_i.tolist(), got_j.tolist())) == expected
    assert np.all(got_i < got_j)
    # The listing order of the verified pairs changes nothing.
    perm = rng.permutation(len(pairs))
    again = implied_pairs(i[perm], j[perm], homography[perm], status[perm], sizes, 0.25)
    np.testing.assert_array_equal(np.stack(again), np.stack([got_i, got_j]))


def test_a_chain_implies_its_missing_links_and_nothing_known():
    offsets = _strip(4, 100.0)  # neighbours share 0.69 of a shot, two apart 0.375
    i, j = np.array([0, 1, 2]), np.array([1, 2, 3])
    homography = np.stack([_shift(100, 0)] * 3)
    sizes = np.tile(SIZE, (4, 1))
    got = implied_pairs(i, j, homography, np.array(["ok"] * 3), sizes, 0.3)
    assert set(zip(*map(np.ndarray.tolist, got))) == {(0, 2), (1, 3)}
    assert _exact(_shift(offsets[2] - offsets[0], 0)) == pytest.approx(0.375)
    assert implied_pairs(i, j, homography, np.array(["ok"] * 3), sizes, 0.4)[0].size == 0


def test_singular_and_failed_pairs_are_never_composed():
    i, j = np.array([0, 1]), np.array([1, 2])
    singular = np.array([[1.0, 1.0, 0], [1.0, 1.0, 0], [0, 0, 1.0]])
    sizes = np.tile(SIZE, (3, 1))
    for h, status in [(np.stack([singular, _shift(10, 0)]), ["ok", "ok"]),
                      (np.stack([_shift(10, 0)] * 2), ["ok", "no_homography"])]:
        got = implied_pairs(i, j, h, np.array(status), sizes, 0.0)
        assert got[0].size == 0


def test_min_predicted_is_checked():
    with pytest.raises(ValueError, match="min_predicted"):
        implied_pairs(np.zeros(0), np.zeros(0), np.zeros((0, 3, 3)), np.zeros(0, "<U2"),
                      np.zeros((0, 2)), 1.5)
