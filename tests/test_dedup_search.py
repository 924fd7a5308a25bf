"""Pairing, thresholds, groups and keep policies against hand-written or brute-force
expectations (no files involved except for the image-measuring keep policies)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image, ImageFilter
from skimage.filters import threshold_otsu

from mmselfsup_ext.dedup.keep_policies import choose_keepers, duplicate_components
from mmselfsup_ext.dedup.pairing import candidate_pairs, group_indices
from mmselfsup_ext.dedup import find_duplicates_to_remove, select_keepers
from mmselfsup_ext.dedup import find_duplicates
from mmselfsup_ext.dedup.threshold import default_report_radius
from mmselfsup_ext.dedup.threshold import combined_threshold, parse_threshold


def _pairs(i, j):
    return list(zip(np.asarray(i).tolist(), np.asarray(j).tolist()))


def _hamming(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.unpackbits(a ^ b).sum())


def _random_codes(n: int, nbytes: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, nbytes), dtype=np.uint8)


def _with_near_copies(codes: np.ndarray, pairs: dict[int, tuple[int, int]],
                      seed: int = 1) -> np.ndarray:
    """Make row ``dst`` a copy of row ``src`` with ``flips`` random bits flipped."""
    rng = np.random.default_rng(seed)
    out = codes.copy()
    bits = np.unpackbits(out, axis=1)
    for dst, (src, flips) in pairs.items():
        bits[dst] = bits[src]
        bits[dst, rng.choice(bits.shape[1], flips, replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def test_adjacent_pairs_are_disjoint_neighbours():
    assert _pairs(*candidate_pairs(7, "adjacent")) == [(0, 1), (2, 3), (4, 5)]
    assert _pairs(*candidate_pairs(6, "adjacent")) == [(0, 1), (2, 3), (4, 5)]
    assert _pairs(*candidate_pairs(1, "adjacent")) == []
    assert _pairs(*candidate_pairs(0, "adjacent")) == []


def test_window_pairs_are_each_image_against_its_next_k():
    assert _pairs(*candidate_pairs(5, "window", 2)) == [
        (0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]
    assert _pairs(*candidate_pairs(3, "window", 10)) == [(0, 1), (0, 2), (1, 2)]
    for n, k in [(9, 1), (9, 3), (4, 4), (2, 5)]:
        expected = [(a, b) for a, b in itertools.combinations(range(n), 2) if b - a <= k]
        assert _pairs(*candidate_pairs(n, "window", k)) == expected


def test_candidate_pairs_validation():
    with pytest.raises(ValueError, match="radius_pairs"):
        candidate_pairs(4, "all")
    with pytest.raises(ValueError, match="window"):
        candidate_pairs(4, "window", 0)
    with pytest.raises(ValueError, match="pairing"):
        candidate_pairs(4, "neighbours")


def test_group_indices_by_regex_with_ungrouped_last():
    paths = ["f_h01_0000.jpg", "f_h00_0001.jpg", "calib.jpg", "f_h01_0002.jpg",
             "f_h10_0003.jpg", "f_h2_0004.jpg"]
    groups = group_indices(paths, r"_h(\d+)_")
    assert {k: v.tolist() for k, v in groups.items()} == {
        "00": [1], "01": [0, 3], "2": [5], "10": [4], "ungrouped": [2]}
    assert list(groups) == ["00", "01", "2", "10", "ungrouped"]
    whole = group_indices(["a1", "b2", "a3"], r"^[ab]")
    assert {k: v.tolist() for k, v in whole.items()} == {"a": [0, 2], "b": [1]}
    assert list(group_indices(paths, None)) == ["all"]
    with pytest.raises(ValueError, match="group-by"):
        group_indices(paths, "_h(")


def test_window_search_fixed_threshold_against_brute_force():
    codes = _with_near_copies(_random_codes(30, 8, 0), {5: (4, 2), 11: (8, 5), 20: (19, 0)})
    paths = [f"img_{n}.jpg" for n in range(30)]
    s = find_duplicates(codes, paths, pairing="window", window=3, threshold=5)
    expected = [(a, b) for a, b in itertools.combinations(range(30), 2) if b - a <= 3]
    assert _pairs(s.i, s.j) == expected
    brute = [_hamming(codes[a], codes[b]) for a, b in expected]
    assert s.distance.tolist() == brute
    assert s.duplicate.tolist() == [d <= 5 for d in brute]
    assert _pairs(s.i[s.duplicate], s.j[s.duplicate]) == [(4, 5), (8, 11), (19, 20)]
    assert s.threshold == 5 and s.thresholds == {"all": 5} and s.threshold_mode == "fixed"


def test_otsu_threshold_on_candidate_distances_matches_scikit_image():
    codes = _with_near_copies(_random_codes(40, 8, 3),
                              {1: (0, 1), 3: (2, 3), 9: (8, 2), 15: (14, 4), 27: (26, 0)})
    s = find_duplicates(codes, [str(n) for n in range(40)], pairing="adjacent")
    brute = [_hamming(codes[a], codes[a + 1]) for a in range(0, 40, 2)]
    assert s.distance.tolist() == brute
    expected_t = int(np.floor(threshold_otsu(np.asarray(brute))))
    assert s.threshold == expected_t
    assert s.histogram.tolist() == np.bincount(brute, minlength=65).tolist()
    assert s.duplicate.tolist() == [d <= expected_t for d in brute]
    assert s.histogram_source == "candidate_pairs"


def test_all_pairing_uses_knn_histogram_and_radius_pairs():
    n = 25
    codes = _with_near_copies(_random_codes(n, 8, 5), {3: (2, 1), 7: (20, 3), 24: (11, 2)})
    paths = [str(p) for p in range(n)]
    s = find_duplicates(codes, paths, pairing="all")
    dist = {(a, b): _hamming(codes[a], codes[b])
            for a, b in itertools.combinations(range(n), 2)}
    nearest = [min(dist[min(a, b), max(a, b)] for b in range(n) if b != a) for a in range(n)]
    assert s.histogram.tolist() == np.bincount(nearest, minlength=65).tolist()
    t = int(np.floor(threshold_otsu(np.asarray(nearest))))
    assert s.threshold == t and s.histogram_source == "knn1"
    radius = max(t, default_report_radius(64))
    assert s.report_radius == 8
    expected = sorted((a, b) for (a, b), d in dist.items() if d <= radius)
    assert _pairs(s.i, s.j) == expected
    assert s.duplicate.tolist() == [dist[p] <= t for p in expected]
    assert {(2, 3), (7, 20), (11, 24)} <= set(_pairs(s.i[s.duplicate], s.j[s.duplicate]))

    on_pairs = find_duplicates(codes, paths, pairing="all", otsu_on="pairs")
    assert on_pairs.histogram.tolist() == np.bincount(list(dist.values()),
                                                      minlength=65).tolist()
    assert on_pairs.histogram_source == "all_pairs"


def test_group_by_pairs_within_groups_and_thresholds_per_group():
    # Strip 00: codes 0..5; strip 01: codes 6..11; two loose files.
    codes = _with_near_copies(_random_codes(14, 8, 7), {1: (0, 0), 7: (6, 3), 13: (12, 0)})
    paths = [f"s_h00_{n:02d}.jpg" for n in range(6)] + \
            [f"s_h01_{n:02d}.jpg" for n in range(6, 12)] + ["x1.jpg", "x2.jpg"]
    s = find_duplicates(codes, paths, pairing="window", window=2, threshold=3,
                        group_by=r"_h(\d+)_")
    groups = [range(0, 6), range(6, 12), range(12, 14)]
    expected = sorted((a, b) for g in groups for a, b in itertools.combinations(g, 2)
                      if b - a <= 2)
    assert _pairs(s.i, s.j) == expected
    assert s.thresholds == {"00": 3, "01": 3, "ungrouped": 3}
    assert _pairs(s.i[s.duplicate], s.j[s.duplicate]) == [(0, 1), (6, 7), (12, 13)]

    otsu = find_duplicates(codes, paths, pairing="window", window=2, group_by=r"_h(\d+)_")
    for key, members in [("00", range(0, 6)), ("01", range(6, 12))]:
        d = [_hamming(codes[a], codes[b]) for a, b in itertools.combinations(members, 2)
             if b - a <= 2]
        assert otsu.thresholds[key] == int(np.floor(threshold_otsu(np.asarray(d))))
    # One candidate pair in 'ungrouped' (a single distance 0): documented answer 0.
    assert otsu.thresholds["ungrouped"] == 0
    values = sorted(otsu.thresholds.values())
    assert otsu.threshold == values[(len(values) - 1) // 2]


def test_all_pairing_never_pairs_across_groups():
    codes = np.zeros((4, 8), dtype=np.uint8)  # all identical
    s = find_duplicates(codes, ["a_1", "b_1", "a_2", "b_2"], pairing="all",
                        group_by="^(.)_")
    assert _pairs(s.i, s.j) == [(0, 2), (1, 3)]
    assert s.duplicate.all() and s.thresholds == {"a": 0, "b": 0}


def test_degenerate_inputs_do_not_crash():
    one = find_duplicates(np.zeros((1, 8), np.uint8), ["a"], pairing="all")
    assert one.i.size == 0 and one.threshold == -1
    none = find_duplicates(np.zeros((0, 8), np.uint8), [], pairing="window")
    assert none.i.size == 0 and none.threshold == -1
    same = find_duplicates(np.full((5, 8), 7, np.uint8), list("abcde"), pairing="window")
    assert same.threshold == 0 and same.duplicate.all()


def test_parse_threshold_and_combined_threshold():
    assert parse_threshold("OTSU") == "otsu" and parse_threshold(" 7 ") == 7
    for bad in ("-1", "x", "1.5", -3):
        with pytest.raises(ValueError, match="threshold"):
            parse_threshold(bad)
    assert combined_threshold({"a": 4, "b": 9, "c": -1}, {"a": True, "b": True, "c": False}) == 4
    assert combined_threshold({"a": -1}, {"a": False}) == -1
    assert combined_threshold({"a": 6, "b": 6}, {"a": False, "b": False}) == 6


def _brute_components(n, edges):
    adj = {v: set() for v in range(n)}
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    seen, comps = set(), []
    for v in range(n):
        if v in seen:
            continue
        stack, comp = [v], set()
        while stack:
            u = stack.pop()
            if u not in comp:
                comp.add(u)
                stack.extend(adj[u] - comp)
        seen |= comp
        if len(comp) > 1:
            comps.append(sorted(comp))
    return comps


def test_components_match_brute_force():
    rng = np.random.default_rng(11)
    for n in (1, 8, 40):
        m = int(rng.integers(0, n + 1))
        edges = [tuple(sorted(rng.choice(n, 2, replace=False))) for _ in range(m)] if n > 1 \
            else []
        i = [a for a, _ in edges]
        j = [b for _, b in edges]
        got = [c.tolist() for c in duplicate_components(n, i, j)]
        assert got == _brute_components(n, edges)


def test_keep_first_removes_all_but_earliest_of_each_chain():
    codes = np.array([[0], [1], [3], [200], [7], [7]], dtype=np.uint8)
    s = find_duplicates(codes, list("abcdef"), pairing="window", window=1, threshold=1)
    d = select_keepers(s, keep="first", keep_mode="component")
    # Chain a-b-c (each step 1 bit) is one component even though d(a, c) = 2.
    assert [c.tolist() for c in d.components] == [[0, 1, 2], [4, 5]]
    assert d.keepers == [0, 4]
    assert d.remove.tolist() == [1, 2, 5] and d.keep.tolist() == [0, 3, 4]
    assert find_duplicates_to_remove(codes, list("abcdef"), pairing="window", window=1,
                                     threshold=1, keep_mode="component") == ["b", "c", "f"]


def test_choose_keepers_breaks_ties_by_capture_order():
    comps = [np.array([1, 4, 6])]
    assert choose_keepers(comps, "sharpest", {1: 2.0, 4: 5.0, 6: 5.0}.get) == [4]
    with pytest.raises(ValueError, match="score"):
        choose_keepers(comps, "largest")


def test_keep_sharpest_drops_the_blurred_copy(distinct_crops, tmp_path):
    sharp = distinct_crops[0].resize((128, 128), Image.Resampling.BICUBIC)
    files = [tmp_path / "0_blur.png", tmp_path / "1_sharp.png", tmp_path / "2_other.png"]
    sharp.filter(ImageFilter.GaussianBlur(2)).save(files[0])
    sharp.save(files[1])
    distinct_crops[1].save(files[2])
    codes = np.array([[0], [0], [255]], dtype=np.uint8)  # 0 and 1 are duplicates
    s = find_duplicates(codes, [f.name for f in files], pairing="window", threshold=0)
    d = select_keepers(s, keep="sharpest", files=files)
    assert d.keepers == [1] and d.remove.tolist() == [0]


def test_keep_largest_prefers_pixels_then_bytes(distinct_crops, tmp_path):
    small = tmp_path / "0_small.png"
    big = tmp_path / "1_big.png"
    distinct_crops[2].save(small)
    distinct_crops[2].resize((128, 128)).save(big)
    codes = np.zeros((2, 8), dtype=np.uint8)
    s = find_duplicates(codes, ["0_small.png", "1_big.png"], pairing="adjacent", threshold=0)
    assert select_keepers(s, keep="largest", files=[small, big]).keepers == [1]
    # Same pixel count: the larger file (less compressed) wins.
    lo, hi = tmp_path / "2_lo.jpg", tmp_path / "3_hi.jpg"
    distinct_crops[3].save(lo, quality=30)
    distinct_crops[3].save(hi, quality=98)
    assert hi.stat().st_size > lo.stat().st_size
    s2 = find_duplicates(codes, ["2_lo.jpg", "3_hi.jpg"], pairing="adjacent", threshold=0)
    assert select_keepers(s2, keep="largest", files=[lo, hi]).keepers == [1]


def test_find_duplicates_validates_arguments():
    codes = np.zeros((3, 8), np.uint8)
    with pytest.raises(ValueError, match="pairing"):
        find_duplicates(codes, list("abc"), pairing="pairs")
    with pytest.raises(ValueError, match="paths"):
        find_duplicates(codes, list("ab"))
    with pytest.raises(ValueError, match="uint8"):
        find_duplicates(codes.astype(int), list("abc"))
    with pytest.raises(ValueError, match="keep"):
        select_keepers(find_duplicates(codes, list("abc")), keep="newest")


def test_keep_scores_only_images_in_duplicate_groups(monkeypatch):
    from mmselfsup_ext.dedup import keep as keep_module

    measured = []

    def fake_score(policy, path):
        measured.append(path)
        return {"b": 3.0, "c": 9.0, "e": 1.0, "f": 2.0}[path]

    monkeypatch.setattr(keep_module, "policy_score", fake_score)
    codes = np.array([[0], [90], [90], [200], [7], [7]], dtype=np.uint8)
    s = find_duplicates(codes, list("abcdef"), pairing="window", window=1, threshold=0)
    cache: dict = {}
    d = select_keepers(s, keep="sharpest", score_cache=cache)
    assert sorted(measured) == ["b", "c", "e", "f"]
    assert d.keepers == [2, 5] and d.remove.tolist() == [1, 4]
    select_keepers(s, keep="sharpest", score_cache=cache)  # second tag: all cached
    assert len(measured) == 4


def test_large_groups_take_the_otsu_histogram_from_a_sample(monkeypatch):
    """Above EXACT_HISTOGRAM_MAX the knn histogram is sampled; Otsu lands on the same T."""
    from mmselfsup_ext.dedup import threshold as threshold_module
    from mmselfsup_ext.hashing import knn_distances, otsu_threshold

    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, size=(2000, 8), dtype=np.uint8)
    near = base[:600].copy()  # 600 planted near-copies (1 flipped bit); 1400 loners
    flips = rng.integers(0, 64, size=600)
    near[np.arange(600), flips // 8] ^= (1 << (flips % 8)).astype(np.uint8)
    codes = np.concatenate([base, near])
    exact = np.bincount(knn_distances(codes, 1).ravel(), minlength=65)
    monkeypatch.setattr(threshold_module, "EXACT_HISTOGRAM_MAX", 1000)
    monkeypatch.setattr(threshold_module, "SAMPLE_SIZE", 800)
    sampled = threshold_module.all_pairs_histogram(codes, "knn", 1)
    assert sampled.sum() == 800 and not np.array_equal(sampled, exact)
    assert 1 <= otsu_threshold(exact) < 20  # a real split between copies and loners
    assert otsu_threshold(sampled) == otsu_threshold(exact)
    pairs = threshold_module.all_pairs_histogram(codes, "pairs", 1)
    assert pairs.sum() == 800
