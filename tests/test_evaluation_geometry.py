"""Footprint geometry: polygon clipping, overlap ratios and coverage rasters."""
import itertools
import math

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from mmselfsup_ext.evaluation.geometry import CoverageGrid, pairwise_overlaps
from mmselfsup_ext.geometry import (clip_convex, intersection_area, is_convex, overlap_ratio,
                                    polygon_area)


def rect(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def rotated_rect(cx, cy, w, h, angle):
    c, s = math.cos(angle), math.sin(angle)
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return local @ np.array([[c, -s], [s, c]]).T + [cx, cy]


def sampled_intersection(a, b, step=0.01):
    """Independent estimate: count grid points inside both polygons (matplotlib)."""
    lo = np.minimum(a.min(0), b.min(0))
    hi = np.maximum(a.max(0), b.max(0))
    xs = np.arange(lo[0] + step / 2, hi[0], step)
    ys = np.arange(lo[1] + step / 2, hi[1], step)
    pts = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    inside = MplPath(a).contains_points(pts) & MplPath(b).contains_points(pts)
    return inside.sum() * step * step


def test_area_of_rectangle_and_rotated_square():
    assert polygon_area(rect(1, 2, 5, 5)) == pytest.approx(12.0)
    assert polygon_area(rotated_rect(3, 4, 2, 2, 0.3)) == pytest.approx(4.0)
    # Orientation does not matter.
    assert polygon_area(rect(1, 2, 5, 5)[::-1]) == pytest.approx(12.0)


def test_axis_aligned_rectangles_match_analytic_intersection():
    rng = np.random.default_rng(0)
    for _ in range(200):
        x0, y0, u0, v0 = rng.uniform(0, 10, 4)
        a = rect(x0, y0, x0 + rng.uniform(0.5, 5), y0 + rng.uniform(0.5, 5))
        b = rect(u0, v0, u0 + rng.uniform(0.5, 5), v0 + rng.uniform(0.5, 5))
        dx = max(0.0, min(a[1, 0], b[1, 0]) - max(a[0, 0], b[0, 0]))
        dy = max(0.0, min(a[2, 1], b[2, 1]) - max(a[0, 1], b[0, 1]))
        assert intersection_area(a, b) == pytest.approx(dx * dy, abs=1e-9)


def test_square_and_45_degree_square_give_regular_octagon():
    square = rect(-1, -1, 1, 1)
    diamond = rotated_rect(0, 0, 2, 2, math.pi / 4)
    inter = clip_convex(square, diamond)
    assert len(inter) == 8
    assert intersection_area(square, diamond) == pytest.approx(8 * math.sqrt(2) - 8)


def test_random_rotated_rectangles_match_point_sampling():
    rng = np.random.default_rng(1)
    for _ in range(5):
        a = rotated_rect(*rng.uniform(0, 2, 2), *rng.uniform(1, 3, 2), rng.uniform(0, np.pi))
        b = rotated_rect(*rng.uniform(0, 2, 2), *rng.uniform(1, 3, 2), rng.uniform(0, np.pi))
        assert intersection_area(a, b) == pytest.approx(sampled_intersection(a, b), abs=0.02)


def test_overlap_is_symmetric_and_bounded():
    rng = np.random.default_rng(2)
    for _ in range(100):
        a = rotated_rect(*rng.uniform(0, 5, 2), *rng.uniform(1, 4, 2), rng.uniform(0, np.pi))
        b = rotated_rect(*rng.uniform(0, 5, 2), *rng.uniform(1, 4, 2), rng.uniform(0, np.pi))
        ab, ba = overlap_ratio(a, b), overlap_ratio(b, a)
        assert ab == pytest.approx(ba)
        assert 0.0 <= ab <= 1.0


def test_overlap_special_cases():
    big, small = rect(0, 0, 10, 10), rect(2, 2, 4, 4)
    assert overlap_ratio(big, small) == pytest.approx(1.0)
    assert overlap_ratio(rect(0, 0, 1, 1), rect(2, 2, 3, 3)) == 0.0
    # Sharing an edge is not overlap.
    assert overlap_ratio(rect(0, 0, 1, 1), rect(1, 0, 2, 1)) == 0.0
    # Half of the smaller one: 2x2 square half inside a 10x10 one.
    assert overlap_ratio(big, rect(9, 0, 11, 2)) == pytest.approx(0.5)


def test_non_convex_or_degenerate_polygon_is_rejected():
    dart = np.array([[0, 0], [4, 0], [1, 1], [0, 4]], dtype=float)
    assert not is_convex(dart)
    with pytest.raises(ValueError, match="convex"):
        intersection_area(dart, rect(0, 0, 1, 1))
    assert polygon_area([[0, 0], [1, 1]]) == 0.0  # a degenerate clip has no area
    with pytest.raises(ValueError, match="shape"):
        polygon_area([[0, 0, 1], [1, 1, 1], [2, 0, 1]])
    with pytest.raises(ValueError, match="convex"):
        clip_convex(np.array([[0, 0], [1, 1], [2, 2]], dtype=float), rect(0, 0, 1, 1))


def test_pairwise_overlaps_equals_brute_force():
    rng = np.random.default_rng(3)
    polys = [rotated_rect(*rng.uniform(0, 20, 2), *rng.uniform(2, 6, 2), rng.uniform(0, np.pi))
             for _ in range(30)]
    brute = [(i, j, overlap_ratio(polys[i], polys[j]))
             for i, j in itertools.combinations(range(30), 2)]
    brute = [(i, j, ov) for i, j, ov in brute if ov > 0]
    got = pairwise_overlaps(polys)
    assert [(i, j) for i, j, _ in got] == [(i, j) for i, j, _ in brute]
    np.testing.assert_allclose([ov for *_, ov in got], [ov for *_, ov in brute])
    # A non-convex footprint is refused even when it overlaps nothing.
    arrow = np.array([[100, 100], [104, 100], [102, 101], [104, 104], [100, 104]], dtype=float)
    with pytest.raises(ValueError, match="footprint 30 must be convex"):
        pairwise_overlaps(polys + [arrow])


def brute_union_of_integer_rects(rects, shape):
    canvas = np.zeros(shape, dtype=bool)
    for x0, y0, x1, y1 in rects:
        canvas[y0:y1, x0:x1] = True
    return int(canvas.sum())


def test_coverage_of_grid_aligned_rectangles_is_exact():
    # Inclusion-exclusion by hand: 10x10 + 10x10 overlapping in a 5x10 strip, plus a
    # disjoint 4x3 rectangle: 100 + 100 - 50 + 12 = 162.
    rects = [rect(0, 0, 10, 10), rect(5, 0, 15, 10), rect(20, 20, 24, 23)]
    grid = CoverageGrid((0, 0), (30, 30), 1.0)
    assert grid.union_area(rects) == pytest.approx(162.0)
    # A finer grid (cell 0.5) also aligns with integer edges: same exact answer.
    assert CoverageGrid((0, 0), (60, 60), 0.5).union_area(rects) == pytest.approx(162.0)


def test_coverage_matches_brute_force_raster_of_random_rectangles():
    rng = np.random.default_rng(4)
    for _ in range(10):
        rects = []
        for _ in range(int(rng.integers(1, 8))):
            x0, y0 = rng.integers(0, 40, 2)
            rects.append((int(x0), int(y0), int(x0 + rng.integers(1, 20)),
                          int(y0 + rng.integers(1, 20))))
        grid = CoverageGrid((0, 0), (60, 60), 1.0)
        got = grid.union_area([rect(*r) for r in rects])
        assert got == brute_union_of_integer_rects(rects, (60, 60))


def test_coverage_of_rotated_square_is_within_boundary_bound():
    square = rotated_rect(50, 50, 40, 40, 0.4)
    grid = CoverageGrid.around([square], cell=1.0)
    perimeter = 160.0
    assert abs(grid.union_area([square]) - 1600.0) <= perimeter * grid.cell / 2


def test_coverage_grid_around_respects_max_cells():
    grid = CoverageGrid.around([rect(0, 0, 1000, 1000)], max_cells=10_000)
    assert grid.shape[0] * grid.shape[1] <= 10_000
    assert grid.union_area([rect(0, 0, 1000, 1000)]) == pytest.approx(1e6)


def test_prune_covered_matches_a_brute_force_raster():
    rng = np.random.default_rng(5)
    size = (50, 50)
    for _ in range(10):
        rects = []
        for _ in range(int(rng.integers(2, 9))):
            x0, y0 = rng.integers(0, 30, 2)
            rects.append((int(x0), int(y0), int(x0 + rng.integers(1, 20)),
                          int(y0 + rng.integers(1, 20))))
        order = rng.permutation(len(rects))
        got = CoverageGrid((0, 0), size, 1.0).prune_covered([rect(*r) for r in rects], order,
                                                            fraction=0.8)
        masks = []
        for x0, y0, x1, y1 in rects:
            mask = np.zeros(size, dtype=bool)
            mask[y0:y1, x0:x1] = True
            masks.append(mask)
        kept = np.ones(len(rects), dtype=bool)
        for k in order:
            others = np.zeros(size, dtype=bool)
            for m in np.flatnonzero(kept):
                if m != k:
                    others |= masks[m]
            if (others & masks[k]).sum() >= 0.8 * masks[k].sum():
                kept[k] = False
        assert got.tolist() == kept.tolist()


def test_prune_covered_checks_its_arguments():
    grid = CoverageGrid((0, 0), (10, 10), 1.0)
    squares = [rect(0, 0, 5, 5), rect(0, 0, 5, 5)]
    with pytest.raises(ValueError, match="permutation"):
        grid.prune_covered(squares, [0, 0])
    with pytest.raises(ValueError, match="fraction"):
        grid.prune_covered(squares, [0, 1], fraction=1.5)
