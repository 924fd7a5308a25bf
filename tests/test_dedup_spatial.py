"""Spatial codes in the search: distances, overlap estimates, candidates and the pipeline.

Expectations are independent of the implementation: distances from explicit loops over
every shift and cell with Python integers (popcount of XOR, exact fractions, the sub-cell
refinement of the best shift in exact fractions too), candidates from an exhaustive
ranking of all pairs.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from mmselfsup_ext.dedup import deduplicate_folder
from mmselfsup_ext.dedup.encoders import EncodeResult
from mmselfsup_ext.dedup.spatial import (HISTOGRAM_SOURCE, SpatialCodes, SpatialVoteRule, spatial_candidates, spatial_distances,
                                         spatial_overlaps, spatial_search)
from mmselfsup_ext.hashing import CellGrid, fewest_shared_cells, pack_cell_codes, shift_agreement, unpack_cell_codes

GRID = CellGrid(4, 5, 16)


def _hamming(x: np.ndarray, y: np.ndarray) -> int:
    return bin(int.from_bytes(x.tobytes(), "big") ^ int.from_bytes(y.tobytes(), "big")).count("1")


def _shift_table(a: np.ndarray, b: np.ndarray, radius: int, grid: CellGrid) -> dict[tuple[int, int], tuple[int, int]]:
    """(votes, shared) of every shift (dy, dx), cell by cell, in row-major shift order."""
    table = {}
    for dy in range(-grid.height + 1, grid.height):
        for dx in range(-grid.width + 1, grid.width):
            votes = shared = 0
            for r in range(grid.height):
                for c in range(grid.width):
                    if 0 <= r + dy < grid.height and 0 <= c + dx < grid.width:
                        shared += 1
                        votes += _hamming(a[r * grid.width + c], b[(r + dy) * grid.width + c + dx]) <= radius
            table[dy, dx] = (votes, shared)
    return table


def _best_shift(a, b, radius, grid, min_overlap):
    """Best eligible shift, its (votes, shared) and its overlap refined by the parabola vertex."""
    table = _shift_table(a, b, radius, grid)
    least = Fraction(min_overlap).limit_denominator(1000)
    eligible = [s for s, (_, shared) in table.items() if Fraction(shared, grid.cells) >= least]
    best = max(eligible, key=lambda s: Fraction(*table[s]))  # max() keeps the first of equal ones
    centre = Fraction(*table[best])
    refined = []
    for axis in (0, 1):
        sides = []
        for step in (-1, 1):
            other = list(best)
            other[axis] += step
            sides.append(Fraction(*table[tuple(other)]) if tuple(other) in table else centre)
        curvature = sides[0] - 2 * centre + sides[1]
        vertex = sides[0] - sides[1] if curvature >= 0 else (sides[0] - sides[1]) / (2 * curvature)
        vertex = 0 if curvature >= 0 else min(max(vertex, Fraction(-1, 2)), Fraction(1, 2))
        refined.append(best[axis] + vertex)
    overlap = (grid.height - abs(refined[0])) * (grid.width - abs(refined[1])) / Fraction(grid.cells)
    return table[best], overlap


def _distance_loops(a, b, radius, grid, min_overlap):
    (votes, shared), overlap = _best_shift(a, b, radius, grid, min_overlap)
    if overlap < Fraction(min_overlap).limit_denominator(1000):
        return 100
    return math.ceil(Fraction(100 * (shared - votes), shared))


def _overlap_loops(a, b, rule, grid, min_overlap=0.5):
    (votes, shared), overlap = _best_shift(a, b, rule.radius, grid, min_overlap)
    return float(overlap) if Fraction(shared - votes, shared) * 100 <= rule.threshold else 0.0


@pytest.fixture(scope="module")
def survey_rows() -> np.ndarray:
    """8 images: 1 = 0 shifted by one column, 3 = lower 3 rows of 2 on top, 5 = 4 with noise, rest random."""
    rng = np.random.default_rng(0)
    bits = rng.random((8, GRID.height, GRID.width, GRID.bits)) < 0.5
    bits[1, :, :4] = bits[0, :, 1:]
    bits[3, :3] = bits[2, 1:]
    bits[5] = bits[4] ^ (rng.random(bits[4].shape) < 0.08)  # about 1.3 of 16 bits flipped per cell
    return pack_cell_codes(bits)


def test_distances_and_overlaps_match_loops(survey_rows):
    cells = unpack_cell_codes(survey_rows, GRID)
    i, j = np.triu_indices(len(cells), 1)
    for radius in (0, 2, 5):
        for min_overlap in (0.25, 0.5, 0.8):
            got = spatial_distances(survey_rows, GRID, i, j, radius, min_overlap)
            expected = [_distance_loops(cells[a], cells[b], radius, GRID, min_overlap) for a, b in zip(i, j)]
            assert got.tolist() == expected
        for threshold in (0, 30, 75):
            rule = SpatialVoteRule(radius, threshold)
            np.testing.assert_allclose(spatial_overlaps(survey_rows, GRID, i, j, rule),
                                       [_overlap_loops(cells[a], cells[b], rule, GRID) for a, b in zip(i, j)])


@pytest.mark.parametrize("scales", [(), (1.2,), (1.1, 1.3)])
def test_overlap_estimate_and_distance_give_the_same_decision(survey_rows, scales):
    i, j = np.triu_indices(len(survey_rows), 1)
    for radius in (1, 4):
        for threshold in (10, 40, 70):
            for min_overlap in (0.3, 0.5, 0.75):
                estimate = spatial_overlaps(survey_rows, GRID, i, j, SpatialVoteRule(radius, threshold, scales),
                                            min_overlap)
                distance = spatial_distances(survey_rows, GRID, i, j, radius, min_overlap, scales)
                np.testing.assert_array_equal(estimate >= min_overlap - 1e-12, distance <= threshold)


def test_fewest_shared_cells_of_shifts_by_enumeration():
    for min_overlap in (0.25, 0.5, 0.8, 1.0):
        expected = min((GRID.height - abs(dy)) * (GRID.width - abs(dx))
                       for dy in range(-GRID.height + 1, GRID.height) for dx in range(-GRID.width + 1, GRID.width)
                       if (GRID.height - abs(dy)) * (GRID.width - abs(dx)) >= min_overlap * GRID.cells)
        assert fewest_shared_cells(GRID, min_overlap) == expected
    # A scaled alignment whose first image is the larger footprint shares fewer of its cells.
    assert fewest_shared_cells(GRID, 0.5, (1.3,)) < fewest_shared_cells(GRID, 0.5)


def test_planted_pairs_are_the_duplicates(survey_rows):
    rule = SpatialVoteRule(radius=3, threshold=20)
    i, j = np.triu_indices(len(survey_rows), 1)
    d = spatial_distances(survey_rows, GRID, i, j, rule.radius)
    found = {(a, b) for a, b, x in zip(i.tolist(), j.tolist(), d.tolist()) if x <= rule.threshold}
    assert found == {(0, 1), (2, 3), (4, 5)}
    # Chance matches of the neighbouring shifts move the refined overlaps a little.
    np.testing.assert_allclose(spatial_overlaps(survey_rows, GRID, [0, 2, 4, 0], [1, 3, 5, 6], rule),
                               [0.8, 0.75, 1.0, 0.0], atol=0.05)


@pytest.mark.parametrize("scales", [(), (1.2,)])
def test_candidates_are_the_closest_partners_of_each_image(survey_rows, scales):
    rule = SpatialVoteRule(radius=3, threshold=60, scales=scales)
    for per_image in (1, 2, 3):
        i, j, d = spatial_candidates(survey_rows, GRID, rule, per_image=per_image)
        # Exhaustive reference among the pairs that enough cells of either image match
        # anywhere in the other (what the index surfaces when every image is queried).
        a, b = np.triu_indices(len(survey_rows), 1)
        dist = spatial_distances(survey_rows, GRID, a, b, rule.radius, scales=scales)
        cells = unpack_cell_codes(survey_rows, GRID)
        # Ranked by the disagreement of the best alignment, before the refined overlap is
        # checked (shift_agreement of brute-force match matrices; itself tested on loops).
        match = np.stack([[[_hamming(x, y) <= rule.radius for y in cells[q]] for x in cells[p]] for p, q in zip(a, b)])
        rank = np.ceil(100 * (1 - shift_agreement(match, GRID, 0.5, scales)[0]) - 1e-9).astype(int)
        needed = int(np.floor(rule.min_agreement * fewest_shared_cells(GRID, 0.5, scales) + 1e-9))
        proposed = [max(sum(any(_hamming(x, y) <= rule.radius for y in cells[q]) for x in cells[p]),
                        sum(any(_hamming(x, y) <= rule.radius for y in cells[p]) for x in cells[q])) >= needed
                    for p, q in zip(a, b)]
        keep = set()
        for image in range(len(survey_rows)):
            mine = [(rank[k], int(b[k] if a[k] == image else a[k]), k) for k in range(len(a))
                    if proposed[k] and image in (a[k], b[k])]
            keep |= {k for _, _, k in sorted(mine)[:per_image]}
        expected = sorted((int(a[k]), int(b[k]), int(dist[k])) for k in keep)
        assert list(zip(i.tolist(), j.tolist(), d.tolist())) == expected
    assert {(0, 1), (2, 3), (4, 5)} <= set(zip(i.tolist(), j.tolist()))


def test_search_orders_groups_and_thresholds(survey_rows):
    spatial = SpatialCodes(GRID, SpatialVoteRule(radius=3, threshold=20))
    names = [f"img{k}.png" for k in range(8)]
    search = spatial_search(survey_rows, names, spatial, pairing="all")
    assert {(a, b) for a, b, dup in zip(search.i, search.j, search.duplicate) if dup} == {(0, 1), (2, 3), (4, 5)}
    assert search.threshold == 20 and search.threshold_mode == "model" and search.histogram.size == 101
    assert search.histogram.sum() == search.i.size and search.histogram_source == HISTOGRAM_SOURCE
    window = spatial_search(survey_rows, names, spatial, pairing="window", window=1)
    assert window.i.tolist() == list(range(7)) and window.duplicate.tolist() == [
        True, False, True, False, True, False, False]
    fixed = spatial_search(survey_rows, names, spatial, pairing="window", window=1, threshold=100)
    assert fixed.threshold_mode == "fixed" and fixed.duplicate.all()
    grouped = spatial_search(survey_rows, [f"{'a' if k < 3 else 'b'}/img{k}.png" for k in range(8)], spatial,
                             pairing="all", group_by=r"^(\w)/")
    pairs = {(a, b) for a, b, dup in zip(grouped.i, grouped.j, grouped.duplicate) if dup}
    assert pairs == {(0, 1), (4, 5)}  # 2 and 3 are in different groups
    assert all((a < 3) == (b < 3) for a, b in zip(grouped.i, grouped.j))


def test_rule_validation():
    for bad in (dict(radius=-1, threshold=5), dict(radius=2, threshold=101), dict(radius=2, threshold=-1),
                dict(radius=2.5, threshold=5), dict(radius=2, threshold=5, scales=(1.0,)),
                dict(radius=2, threshold=5, scales=(2.5,)), dict(radius=2, threshold=5, scales="1.2")):
        with pytest.raises(ValueError):
            SpatialVoteRule(**bad)
    assert SpatialVoteRule(3, 25).min_agreement == 0.75
    assert SpatialVoteRule(3, 25, [1.2, 1.1, 1.2]) == SpatialVoteRule(3, 25, (1.1, 1.2))


class _RowsEncoder:
    """Fixed cell-code rows for files named ``img<k>.png``."""

    def __init__(self, rows: np.ndarray, spatial: SpatialCodes) -> None:
        self.rows, self.spatial = rows, spatial
        self.tags = {"cells16x4x5": GRID.total_bits}
        self.identity = "rows"

    def encode(self, paths, workers=1, progress=True):
        rows = np.stack([self.rows[int(p.stem[3:])] for p in paths])
        return EncodeResult({"cells16x4x5": rows}, list(paths), [], {"cells16x4x5": 0.0})


def test_pipeline_writes_the_contract_for_spatial_codes(survey_rows, tmp_path, tree_digest):
    folder = tmp_path / "images"
    folder.mkdir()
    for k in range(8):
        Image.new("RGB", (8, 8), (k, k, k)).save(folder / f"img{k}.png")
    before = tree_digest(folder)
    encoder = _RowsEncoder(survey_rows, SpatialCodes(GRID, SpatialVoteRule(radius=3, threshold=20)))
    run = deduplicate_folder(folder, encoder, tmp_path / "out", pairing="all", progress=False)
    outcome = run.outcomes["cells16x4x5"]
    assert sorted(outcome.remove_paths) == ["img1.png", "img3.png", "img5.png"]
    rows = (tmp_path / "out" / "cells16x4x5" / "pairs.csv").read_text().splitlines()
    assert rows[0] == "path_a,path_b,distance,duplicate"
    assert all(0 <= int(r.split(",")[2]) <= 100 for r in rows[1:])
    assert outcome.summary["histogram_source"] == "cell_disagreement" and outcome.summary["threshold"] == 20
    assert tree_digest(folder) == before
    with pytest.raises(ValueError, match="one tag"):
        encoder.tags = {"a16x4x5": GRID.total_bits, "b16x4x5": GRID.total_bits}
        deduplicate_folder(folder, encoder, tmp_path / "out2", progress=False)
