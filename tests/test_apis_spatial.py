"""Spatial codes: packing, votes, the SpatialHashEncoder and candidates by cell votes.

Expectations are built independently: cell bits from the model's own cell map with
numpy (sign, np.packbits per cell in row-major order), votes by brute-force loops.
"""
from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmselfsup_ext.apis import (SpatialHashEncoder, SpatialVoteRule, cell_grid, default_model_files, init_model,
                                spatial_candidates, spatial_overlaps, vote_rule)
from mmselfsup_ext.dedup import deduplicate_folder
from mmselfsup_ext.dedup.encoders import Encoder
from mmselfsup_ext.evaluation import overlap_ratio
from mmselfsup_ext.hashing import (CellGrid, all_pairs_agreement, cell_distances, footprint_overlap, pack_cell_codes,
                                   shift_agreement, shift_counts, unpack_cell_codes)

TINY_SPATIAL = dict(
    model=dict(
        type="SwinFpnSpatialHash", data_preprocessor=dict(type="PerImageDataPreprocessor"),
        backbone=dict(type="SwinFpn", arch="nano", img_size=64, window_size=2, out_level=2),
        neck=dict(type="ConvProjectionNeck", in_channels=128, hid_channels=32, out_channels=16),
        head=dict(type="SpatialHashHead")),
    inference_img_size=64,
)


# --- packing and votes ------------------------------------------------------------------------

def test_cell_grid_tag_round_trip_and_validation():
    grid = CellGrid(4, 6, 16)
    assert (grid.cells, grid.cell_bytes, grid.row_bytes, grid.total_bits) == (24, 2, 48, 384)
    assert CellGrid.from_tag(grid.tag()) == grid and CellGrid.from_tag("foo16x4x6") == grid
    assert CellGrid.from_tag("spatial-72e16x4x6") == grid  # a benchmark label with digits
    for bad in ("hashclr64", "spatialhash16x4"):
        with pytest.raises(ValueError, match="tag"):
            CellGrid.from_tag(bad)
    with pytest.raises(ValueError, match="multiple of 8"):
        CellGrid(2, 2, 12)


def test_pack_and_unpack_cells_are_row_major_msb_first():
    rng = np.random.default_rng(0)
    bits = rng.random((3, 2, 3, 16)) < 0.5
    rows = pack_cell_codes(bits)
    assert rows.shape == (3, 2 * 3 * 2) and rows.dtype == np.uint8
    cells = unpack_cell_codes(rows, CellGrid(2, 3, 16))
    for n in range(3):
        for r in range(2):
            for c in range(3):
                expected = [int("".join("1" if b else "0" for b in bits[n, r, c, 8 * k:8 * k + 8]), 2)
                            for k in range(2)]
                assert cells[n, 3 * r + c].tolist() == expected
    with pytest.raises(ValueError):
        unpack_cell_codes(rows[:, :-1], CellGrid(2, 3, 16))


def _hamming_loops(a, b):
    return np.array([[bin(int.from_bytes(x.tobytes(), "big") ^ int.from_bytes(y.tobytes(), "big")).count("1")
                      for y in b] for x in a])


def test_cell_distances_match_brute_force():
    rng = np.random.default_rng(1)
    cells = rng.integers(0, 256, (3, 6, 2), dtype=np.uint8)
    for a in range(3):
        for b in range(3):
            np.testing.assert_array_equal(cell_distances(cells[a], cells[b]), _hamming_loops(cells[a], cells[b]))


def _count_at(match, height, width, dy, dx):
    """Cells (r, c) of the first image matching cell (r + dy, c + dx) of the second, and their number."""
    inside = [(r, c) for r in range(height) for c in range(width)
              if 0 <= r + dy < height and 0 <= c + dx < width]
    return sum(match[r * width + c, (r + dy) * width + c + dx] for r, c in inside), len(inside)


def test_shift_counts_and_agreement_match_a_loop_over_shifts():
    rng = np.random.default_rng(3)
    grid = CellGrid(3, 4, 8)
    match = rng.random((5, 12, 12)) < 0.3
    votes, shared = shift_counts(match, grid)
    shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-3, 4)]
    for p in range(5):
        table = [_count_at(match[p], 3, 4, dy, dx) for dy, dx in shifts]
        assert votes[p].tolist() == [v for v, _ in table] and shared.tolist() == [n for _, n in table]
    for min_share in (0.25, 0.5, 1.0):
        agreement, shift, overlapped, _ = shift_agreement(match, grid, min_share)
        for p in range(5):
            eligible = [(Fraction(int(v), n), n, s) for (v, n), s in
                        zip((_count_at(match[p], 3, 4, *s) for s in shifts), shifts) if n >= min_share * 12]
            best = max(e[0] for e in eligible)
            assert agreement[p] == pytest.approx(float(best))
            first = next(e for e in eligible if e[0] == best)
            assert tuple(shift[p]) == (1.0, *first[2]) and overlapped[p] == first[1]


def _view_of_surface(surface, top_left, cell_size, grid):
    """Cell codes of a shot: each cell takes the code of the surface unit under its centre."""
    centres = top_left + cell_size * (np.stack(np.divmod(np.arange(grid.cells), grid.width), axis=1) + 0.5)
    units = np.floor(centres).astype(int)
    return surface[units[:, 0], units[:, 1]]


def test_shots_of_one_surface_at_two_scales_agree_under_a_scaled_alignment():
    # Two shots of a surface of random 8-bit unit codes: b has cells of 1 unit, a of 1.2
    # units (flown 1.2x farther), their centres 0.5 unit apart. Only an alignment at scale
    # 1.2 brings every cell of a onto the unit it shows in b.
    rng = np.random.default_rng(7)
    grid = CellGrid(8, 8, 8)
    surface = rng.integers(0, 256, (24, 24, 1), dtype=np.uint8)
    b = _view_of_surface(surface, np.array([6.0, 6.0]), 1.0, grid)
    a = _view_of_surface(surface, np.array([10.0 - 4.8 + 0.5, 10.0 - 4.8]), 1.2, grid)
    match = (_hamming_loops(a, b) == 0)[None]
    shifted = shift_agreement(match, grid, 0.5)[0][0]
    agreement, alignment, shared, overlap = shift_agreement(match, grid, 0.5, scales=(1.1, 1.2))
    assert agreement[0] == 1.0 and alignment[0].tolist() == pytest.approx([1.2, 0.5, 0.0])
    assert shared[0] >= 32 and shifted < 0.6
    # b's footprint (8 x 8 units) lies inside a's (9.6 x 9.6, centre 0.5 unit off): all of b.
    assert overlap[0] == pytest.approx(1.0)
    assert all_pairs_agreement(np.stack([a, b]), 0, grid, scales=(1.2,))[0][0, 1] == 1.0


def test_scaled_alignments_match_a_loop_over_their_definition():
    # Every alignment (r, dy, dx) the counts report, recounted cell by cell from the module's
    # definition: cell i faces the cell holding r (p_i - c) + c + d.
    rng = np.random.default_rng(8)
    grid = CellGrid(3, 4, 8)
    match = rng.random((4, 12, 12)) < 0.3
    votes, shared = shift_counts(match, grid, scales=(1.25,))
    _, alignment, _, _ = shift_agreement(match, grid, 1.0 / 12, scales=(1.25,))
    specs = {(r, dy, dx) for r in (1.0, 1.25, 0.8) for dy in np.arange(-2, 2.5, 0.5) for dx in np.arange(-3, 3.5, 0.5)
             if r != 1.0 or (dy == int(dy) and dx == int(dx))}
    table = {}
    for r, dy, dx in sorted(specs):
        faced = []
        for cell in range(12):
            row, col = divmod(cell, 4)
            y, x = r * (row + 0.5 - 1.5) + 1.5 + dy, r * (col + 0.5 - 2.0) + 2.0 + dx
            inside = 0 <= y < 3 and 0 <= x < 4
            faced.append(int(y) * 4 + int(x) if inside else -1)
        if any(f >= 0 for f in faced):
            table.setdefault(tuple(faced), (r, dy, dx))
    assert votes.shape == (4, len(table)) and sorted(shared.tolist()) == sorted(
        sum(f >= 0 for f in faced) for faced in table)
    expected = sorted(tuple(sum(match[p, i, f] for i, f in enumerate(faced) if f >= 0) for p in range(4))
                      + (sum(f >= 0 for f in faced),) for faced in table)
    assert sorted(tuple(votes[:, a].tolist()) + (int(shared[a]),) for a in range(votes.shape[1])) == expected
    assert votes[:, :35].tolist() == shift_counts(match, grid)[0].tolist()  # the shifts come first
    assert set(alignment[:, 0].tolist()) <= {1.0, 1.25, 0.8}
    with pytest.raises(ValueError, match="scales"):
        shift_counts(match, grid, scales=(0.9,))


def test_all_pairs_agreement_equals_pairwise_agreement():
    rng = np.random.default_rng(4)
    grid = CellGrid(2, 3, 8)
    cells = rng.integers(0, 256, (4, 6, 1), dtype=np.uint8)
    cells[1, [0, 1, 3, 4]] = cells[0, [1, 2, 4, 5]]  # image 1 = image 0 shifted by one column
    agreement, overlap = all_pairs_agreement(cells, 1, grid)
    for a in range(4):
        for b in range(4):
            best, _, _, refined = shift_agreement((_hamming_loops(cells[a], cells[b]) <= 1)[None], grid)
            assert agreement[a, b] == pytest.approx(0.0 if a == b else best[0])
            assert overlap[a, b] == pytest.approx(0.0 if a == b else refined[0])
    assert agreement[0, 1] == 1.0  # the 4 cells the one-column shift overlaps all agree


# --- encoder ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spatial_model():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # random weights, on purpose
        return init_model(Config(TINY_SPATIAL), device="cpu")


@pytest.fixture(scope="module")
def images(tmp_path_factory, distinct_crops) -> list[Path]:
    folder = tmp_path_factory.mktemp("spatial")
    paths = []
    for n in range(4):
        # PNG at the inference size: decoding and resizing leave the pixels unchanged.
        path = folder / f"img{n}.png"
        distinct_crops[n].save(path)
        paths.append(path)
    return paths


def test_encoder_rows_are_the_packed_cell_signs(spatial_model, images):
    encoder = SpatialHashEncoder(spatial_model, batch_size=3)
    assert isinstance(encoder, Encoder)
    assert encoder.grid == CellGrid(4, 4, 16) == cell_grid(spatial_model, 64)
    assert encoder.tags == {"spatialhash16x4x4": 256}
    result = encoder.encode(images, progress=False)
    rows = result.codes["spatialhash16x4x4"]
    assert rows.shape == (4, 32) and result.ok_paths == images
    for n, path in enumerate(images):
        arr = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64).transpose(2, 0, 1)
        arr = (arr - arr.mean()) / (arr.std(ddof=1) + 1.0)
        with torch.no_grad():
            z = spatial_model.project(torch.from_numpy(arr).float()[None])[0].numpy()  # (16, 4, 4)
        decided = np.abs(z) > 1e-4
        expected = z > 0
        got = np.unpackbits(unpack_cell_codes(rows, encoder.grid)[n], axis=1).reshape(4, 4, 16)
        assert np.array_equal(got.transpose(2, 0, 1)[decided], expected[decided])
    assert "spatial/SwinFpnSpatialHash" in encoder.identity and "grid=4x4" in encoder.identity


def test_encoder_rejects_global_models_and_bad_sizes(spatial_model):
    with pytest.raises(ValueError, match="SwinFpnSpatialHash"):
        SpatialHashEncoder(init_model(*default_model_files("hashclr"), device="cpu"))
    with pytest.raises(ValueError, match="multiple"):
        SpatialHashEncoder(spatial_model, img_size=72)


def test_pipeline_searches_spatial_rows_by_cell_agreement(spatial_model, images, tmp_path):
    folder = images[0].parent
    encoder = SpatialHashEncoder(spatial_model, rule=SpatialVoteRule(radius=2, threshold=40))
    assert encoder.spatial.grid == encoder.grid and encoder.spatial.rule.threshold == 40
    run = deduplicate_folder(folder, encoder, tmp_path / "out", pairing="all", progress=False)
    tag_dir = tmp_path / "out" / "spatialhash16x4x4"
    lines = (tag_dir / "codes.csv").read_text().splitlines()
    assert len(lines) == 1 + len(images) and all(len(line.split(",")[1]) == 64 for line in lines[1:])
    summary = run.outcomes["spatialhash16x4x4"].summary
    assert summary["histogram_source"] == "cell_disagreement" and summary["threshold"] == 40
    # Without a rule (none given, none in the config) the encoder has no spatial search.
    assert SpatialHashEncoder(spatial_model).spatial is None


# --- candidates and overlaps ----------------------------------------------------------------------

def test_candidates_and_overlaps_follow_shared_cells():
    rng = np.random.default_rng(2)
    grid = CellGrid(8, 8, 64)
    bits = rng.random((4, 8, 8, 64)) < 0.5
    bits[1, :, :6] = bits[0, :, 2:]   # image 1 = image 0 shifted by 2 of 8 columns: 48 cells shared
    bits[3, 3:] = bits[2, :5]         # image 3 shows the top 5 rows of image 2 lower down: 40 cells
    rows = pack_cell_codes(bits)
    rule = SpatialVoteRule(radius=4, threshold=10)
    i, j, distance = spatial_candidates(rows, grid, rule, per_image=1)
    assert list(zip(i.tolist(), j.tolist(), distance.tolist())) == [(0, 1, 0), (2, 3, 0)]
    np.testing.assert_allclose(spatial_overlaps(rows, grid, [0, 2, 0], [1, 3, 2], rule), [0.75, 0.625, 0.0])


def test_vote_rule_comes_from_the_config(spatial_model):
    with pytest.raises(ValueError, match="spatial_vote_rule"):
        vote_rule(spatial_model)
    configured = SimpleNamespace(cfg=Config({**TINY_SPATIAL, "spatial_vote_rule": dict(radius=6, threshold=70)}))
    assert vote_rule(configured) == SpatialVoteRule(6, 70)
    scaled = SimpleNamespace(cfg=Config({**TINY_SPATIAL, "spatial_vote_rule": dict(radius=6, threshold=70,
                                                                                    scales=[1.2, 1.1])}))
    assert vote_rule(scaled) == SpatialVoteRule(6, 70, (1.1, 1.2))
    outdated = SimpleNamespace(cfg=Config({**TINY_SPATIAL, "spatial_vote_rule": dict(radius=6, rho=0.4)}))
    with pytest.raises(ValueError, match="threshold"):
        vote_rule(outdated)


def test_footprint_overlap_is_the_ground_truths_overlap_ratio():
    # The overlap an alignment implies, against evaluation.overlap_ratio of the two footprints
    # drawn in the second image's cell units: the first spans r h x r w around the centre + d.
    rng = np.random.default_rng(9)
    grid = CellGrid(6, 8, 8)
    for r in (1.0, 1.2, 1 / 1.2, 1.1):
        for dy, dx in rng.uniform(-7, 7, (20, 2)):
            half = np.array([r * grid.height / 2, r * grid.width / 2])
            first = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half[::-1] + (dx, dy)
            second = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * np.array([grid.width / 2, grid.height / 2])
            expected = overlap_ratio(first, second)
            assert footprint_overlap(np.array([r, dy, dx]), grid) == pytest.approx(expected, abs=1e-9)
