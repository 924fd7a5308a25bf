"""Keep modes: coverage-safe greedy (``cover``) versus one image per component."""
from __future__ import annotations

import numpy as np
import pytest

from mmselfsup_ext.dedup.keep_policies import priority_order
from mmselfsup_ext.dedup import find_duplicates, select_keepers

# Consecutive codes differ by one bit, codes two apart by two: with window 1 and
# T = 1 the duplicate graph is the chain A-B-C-D-E.
CHAIN = np.array([[0b0000_0000], [0b0000_0001], [0b0000_0011], [0b0000_0111], [0b0000_1111]],
                 dtype=np.uint8)
NAMES = ["A", "B", "C", "D", "E"]


def _chain_search():
    search = find_duplicates(CHAIN, NAMES, pairing="window", window=1, threshold=1)
    assert search.i.tolist() == [0, 1, 2, 3] and search.duplicate.all()
    return search


def _scores(policy: str, files: list[str], values: list[object]) -> dict[str, object]:
    """A filled score cache, so no image file is opened."""
    return {f"{policy}:{f}": v for f, v in zip(files, values)}


def _kept(decision) -> list[str]:
    return [NAMES[p] for p in decision.keep]


def test_chain_pairwise_keeps_every_other_image_component_keeps_one():
    search = _chain_search()
    cover = select_keepers(search, keep="first", keep_mode="pairwise")
    component = select_keepers(search, keep="first", keep_mode="component")
    assert _kept(cover) == ["A", "C", "E"] and cover.mode == "pairwise"
    assert _kept(component) == ["A"] and component.mode == "component"
    # Both report the same single duplicate group; cover's first keeper is its head.
    assert len(cover.components) == len(component.components) == 1
    assert cover.keepers == component.keepers == [0]


def test_default_mode_is_cover_everywhere():
    assert _kept(select_keepers(_chain_search(), keep="first")) == ["A", "C", "E"]


def test_sharpest_order_is_respected():
    search = _chain_search()
    # Sharpness A..E = 1, 5, 2, 9, 3. Visiting D, B, E, C, A by hand: D kept, B kept
    # (A, C not kept yet), E goes (D kept), C goes (B, D kept), A goes (B kept).
    cache = _scores("sharpest", NAMES, [1.0, 5.0, 2.0, 9.0, 3.0])
    decision = select_keepers(search, keep="sharpest", files=NAMES, keep_mode="pairwise", score_cache=cache)
    assert _kept(decision) == ["B", "D"]
    assert decision.keepers == [3]


def test_largest_order_and_ties_by_capture_order():
    search = _chain_search()
    # C and E tie for the most pixels; C is earlier, so C is visited first: C kept,
    # E kept (D not kept), B and D go (neighbours of C/E), A kept (B went).
    cache = _scores("largest", NAMES, [(10, 1), (20, 1), (50, 7), (20, 9), (50, 7)])
    decision = select_keepers(search, keep="largest", files=NAMES, keep_mode="pairwise", score_cache=cache)
    assert _kept(decision) == ["A", "C", "E"]
    # With C strictly smaller than E, E leads: E kept, C kept, A kept.
    cache = _scores("largest", NAMES, [(10, 1), (20, 1), (49, 7), (20, 9), (50, 7)])
    decision = select_keepers(search, keep="largest", files=NAMES, keep_mode="pairwise", score_cache=cache)
    assert decision.keepers == [4] and _kept(decision) == ["A", "C", "E"]
    # Middle image largest: C kept, B and D go, both ends stay (their only neighbours went).
    cache = _scores("largest", NAMES, [(1, 0), (2, 0), (9, 0), (2, 0), (1, 0)])
    decision = select_keepers(search, keep="largest", files=NAMES, keep_mode="pairwise", score_cache=cache)
    assert _kept(decision) == ["A", "C", "E"]
    # B and D largest: both kept, and they cover A, C and E.
    cache = _scores("largest", NAMES, [(1, 0), (9, 0), (2, 0), (9, 0), (1, 0)])
    decision = select_keepers(search, keep="largest", files=NAMES, keep_mode="pairwise", score_cache=cache)
    assert _kept(decision) == ["B", "D"]


def test_priority_order_ranks_members_by_score_then_capture_order():
    comps = [np.array([1, 2, 4])]
    assert priority_order(6, comps).tolist() == [0, 1, 2, 3, 4, 5]
    order = priority_order(6, comps, {1: 3.0, 2: 7.0, 4: 3.0}.get).tolist()
    assert order[:3] == [2, 1, 4] and sorted(order[3:]) == [0, 3, 5]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("policy", ["first", "sharpest"])
def test_cover_is_a_maximal_independent_set_on_random_graphs(seed, policy):
    rng = np.random.default_rng(seed)
    n = 40
    codes = rng.integers(0, 256, size=(n, 1), dtype=np.uint8)
    names = [f"img{k:02d}" for k in range(n)]
    search = find_duplicates(codes, names, pairing="all", threshold=2)
    values = rng.permutation(n).astype(float).tolist()
    cache = _scores("sharpest", names, values)
    decision = select_keepers(search, keep=policy, files=names, keep_mode="pairwise", score_cache=cache)
    # Brute force over the full pair matrix (n = 40 is tiny).
    bits = np.unpackbits(codes, axis=1)
    dist = (bits[:, None, :] != bits[None, :, :]).sum(axis=2)
    adjacent = (dist <= 2) & ~np.eye(n, dtype=bool)
    assert adjacent.any(), "the random graph should have duplicate edges"
    kept = np.zeros(n, dtype=bool)
    kept[decision.keep] = True
    assert sorted(decision.keep.tolist() + decision.remove.tolist()) == list(range(n))
    for node in decision.remove.tolist():
        assert (adjacent[node] & kept).any(), f"removed {node} has no kept duplicate"
    assert not (adjacent & kept[:, None] & kept[None, :]).any(), "two kept images are duplicates"
    # The policy's favourite of every group is always kept.
    rank = np.arange(n) if policy == "first" else -np.asarray(values)
    for comp in decision.components:
        best = comp[np.lexsort((comp, rank[comp]))[0]]
        assert kept[best]


def test_component_mode_keeps_exactly_one_per_component_on_random_graphs():
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 256, size=(40, 1), dtype=np.uint8)
    search = find_duplicates(codes, [str(k) for k in range(40)], pairing="all", threshold=2)
    decision = select_keepers(search, keep="first", keep_mode="component")
    kept = set(decision.keep.tolist())
    for comp in decision.components:
        assert len(kept & set(comp.tolist())) == 1
    grouped = {int(p) for comp in decision.components for p in comp}
    assert set(range(40)) - grouped <= kept


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="keep_mode must be one of"):
        select_keepers(_chain_search(), keep="first", keep_mode="greedy")
