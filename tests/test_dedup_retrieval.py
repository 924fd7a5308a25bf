"""Descriptor retrieval: exact votes, the faiss index, candidate selection, against
brute-force references on synthetic descriptors."""
from __future__ import annotations

import numpy as np
import pytest

from mmselfsup_ext.dedup import retrieval
from mmselfsup_ext.dedup.retrieval import (DescriptorIndex, RetrievalSettings, match_counts,
                                           select_candidates)


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    bits_a, bits_b = np.unpackbits(a, axis=1), np.unpackbits(b, axis=1)
    return (bits_a[:, None, :] != bits_b[None, :, :]).sum(axis=2)


def _images(n: int, per_image: int, seed: int, shared: int = 40) -> list[np.ndarray]:
    """Random descriptors; image k shares ``shared`` noisy copies with image k + 1."""
    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, (per_image, 32), dtype=np.uint8) for _ in range(n)]
    for k in range(n - 1):
        copies = images[k][:shared].copy()
        flips = rng.integers(0, 256, copies.shape, dtype=np.uint8)
        flips &= rng.integers(0, 256, copies.shape, dtype=np.uint8)  # ~25 % of bits ...
        flips &= rng.integers(0, 256, copies.shape, dtype=np.uint8)  # ... ~12 % flipped
        images[k + 1][-shared:] = copies ^ flips
    return images


@pytest.mark.parametrize("radius", [0, 20, 40, 90])
def test_match_counts_equal_brute_force(radius):
    rng = np.random.default_rng(radius)
    a = rng.integers(0, 256, (57, 32), dtype=np.uint8)
    b = np.concatenate([a[:10] ^ np.uint8(1), rng.integers(0, 256, (33, 32), dtype=np.uint8)])
    close = _hamming(a, b) <= radius
    assert match_counts(a, b, radius) == (int(close.any(axis=1).sum()),
                                          int(close.any(axis=0).sum()))
    assert match_counts(a[:0], b, radius) == (0, 0)


def test_exact_index_surfaces_every_match():
    images = _images(6, 120, seed=1)
    index = DescriptorIndex()
    index.add(range(6), images)
    assert index.nlist == 0 and index.size == 6 * 120
    query, other, count = index.surfaced_pairs([2, 3], [images[2], images[3]], 40)
    got = {(q, o): c for q, o, c in zip(query.tolist(), other.tolist(), count.tolist())}
    want = {}
    for q in (2, 3):
        for o in range(6):
            if o != q:
                hits = int((_hamming(images[q], images[o]) <= 40).any(axis=1).sum())
                if hits:
                    want[(q, o)] = hits
    assert got == want
    assert got[(2, 3)] >= 30 and got[(3, 2)] >= 30  # the planted neighbours


@pytest.mark.parametrize("batch", [1, 130, 10_000])
def test_query_batches_and_min_count_keep_the_complete_counts(monkeypatch, batch):
    """Batches of whole images (here smaller and larger than one image) give the counts of
    one unbatched search; ``min_count`` drops exactly the pairs below it."""
    images = _images(7, 120, seed=4)
    index = DescriptorIndex()
    index.add(range(7), images)
    want = {}
    for q in range(7):
        for o in range(7):
            hits = int((_hamming(images[q], images[o]) <= 40).any(axis=1).sum()) if o != q else 0
            if hits:
                want[(q, o)] = hits
    monkeypatch.setattr(retrieval, "_QUERY_BATCH", batch)
    for min_count in (1, 3, 30):
        query, other, count = index.surfaced_pairs(range(7), images, 40, min_count=min_count)
        got = {(q, o): c for q, o, c in zip(query.tolist(), other.tolist(), count.tolist())}
        assert got == {k: v for k, v in want.items() if v >= min_count}
    with pytest.raises(ValueError, match="min_count"):
        index.surfaced_pairs([0], [images[0]], 40, min_count=0)


def test_removed_images_no_longer_surface_and_serialisation_round_trips():
    images = _images(5, 100, seed=2)
    index = DescriptorIndex()
    index.add(range(5), images)
    index.remove([1])
    assert index.size == 4 * 100
    restored = DescriptorIndex.deserialize(index.serialize(), 256, index.nlist)
    for made in (index, restored):
        query, other, _ = made.surfaced_pairs([0, 2], [images[0], images[2]], 40)
        # 0 and 2 both shared descriptors with the removed 1; 2 still shares with 3.
        assert set(zip(query.tolist(), other.tolist())) == {(2, 3)}
    with pytest.raises(ValueError, match="128-bit"):
        DescriptorIndex.deserialize(DescriptorIndex(128).serialize(), 256, 0)


def test_inverted_file_finds_the_planted_pairs_in_any_order(monkeypatch):
    monkeypatch.setattr(retrieval, "EXACT_MAX", 1000)
    images = _images(40, 150, seed=3)
    found = []
    for order in (np.arange(40), np.random.default_rng(0).permutation(40)):
        index = DescriptorIndex()
        index.add(order, [images[k] for k in order])
        assert index.grow(order, [images[k] for k in order]) and index.nlist > 0
        query, other, count = index.surfaced_pairs(range(40), images, 40)
        strong = {(min(q, o), max(q, o)) for q, o, c in zip(query.tolist(), other.tolist(),
                                                             count.tolist()) if c >= 4}
        assert {(k, k + 1) for k in range(39)} <= strong
        found.append(strong)
    assert found[0] == found[1]  # trained on content, not on file order


@pytest.mark.parametrize("cap", [1, 2, 64])
def test_select_candidates_keeps_each_images_strongest(cap):
    rng = np.random.default_rng(cap)
    n = 12
    a, b = np.triu_indices(n, 1)
    votes = rng.integers(0, 30, a.size)
    settings = RetrievalSettings(min_votes=8, max_per_image=cap)
    i, j, v = select_candidates(b, a, votes, settings)  # either orientation is accepted
    kept = set(zip(i.tolist(), j.tolist()))
    want = set()
    for image in range(n):
        mine = [(int(votes[p]), -int(b[p] if a[p] == image else a[p]), p)
                for p in range(a.size) if image in (a[p], b[p]) and votes[p] >= 8]
        for _, _, p in sorted(mine, reverse=True)[:cap]:
            want.add((int(a[p]), int(b[p])))
    assert kept == want
    assert np.all(i < j) and np.all(v >= 8)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_descriptors": 0}, "n_descriptors"), ({"n_descriptors": 70000}, "n_descriptors"),
    ({"radius": -1}, "radius"), ({"min_votes": 0}, "min_votes"),
    ({"max_per_image": 0}, "max_per_image")])
def test_settings_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetrievalSettings(**kwargs)
