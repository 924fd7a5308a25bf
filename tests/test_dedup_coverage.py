"""Coverage-preserving selection: checked against exact rectangle geometry, bad geometry,
and the ground truth of a simulated survey."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mmselfsup_ext.dedup import ClassicalEncoder, DedupOptions, deduplicate_folder
from mmselfsup_ext.dedup.coverage import coverage_keep
from mmselfsup_ext.evaluation import procedural_concrete, simulate_survey
from mmselfsup_ext.evaluation.scoring import score_dedup

SIZE = 100


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _layout(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every overlapping pair of axis-aligned SIZE x SIZE shots at ``offsets``."""
    i, j, hs = [], [], []
    for a in range(len(offsets)):
        for b in range(a + 1, len(offsets)):
            if np.all(np.abs(offsets[a] - offsets[b]) < SIZE):
                dx, dy = offsets[a] - offsets[b]
                i.append(a)
                j.append(b)
                hs.append(_shift(dx, dy))  # a's pixels -> b's pixels
    return np.array(i), np.array(j), np.array(hs).reshape(-1, 3, 3)


def _shown_fraction(x: int, others: np.ndarray, offsets: np.ndarray, step: float = 0.5) -> float:
    """Share of shot x that the shots ``others`` show, on a fine raster (independent of
    the module's cells)."""
    grid = np.arange(step / 2, SIZE, step)
    gx, gy = np.meshgrid(grid + offsets[x][0], grid + offsets[x][1])
    shown = np.zeros(gx.shape, bool)
    for y in others:
        ox, oy = offsets[y]
        shown |= (gx >= ox) & (gx < ox + SIZE) & (gy >= oy) & (gy < oy + SIZE)
    return float(shown.mean())


@pytest.mark.parametrize("seed", range(6))
def test_every_removed_shot_stays_shown_by_the_final_kept_set(seed):
    rng = np.random.default_rng(seed)
    offsets = rng.uniform(0, 260, size=(40, 2)).round()
    i, j, h = _layout(offsets)
    sizes = np.full((40, 2), SIZE)
    picked = coverage_keep(40, i, j, h, ["ok"] * len(i), sizes, rng.permutation(40),
                           min_coverage=0.97)
    kept = np.flatnonzero(picked.keep)
    removed = np.flatnonzero(~picked.keep)
    assert removed.size > 0
    for x in removed:
        # Sampling at cell centres misjudges at most the cells a coverer's edge crosses:
        # one column or row (1/32) for these axis-aligned shots.
        assert _shown_fraction(x, kept, offsets) >= 0.97 - 1 / 32
        assert set(picked.coverers[x]) <= set(kept.tolist())
        assert picked.coverage[x] >= 0.97


def test_a_shot_half_shown_is_kept_and_order_decides_which_end_goes():
    offsets = np.array([[0, 0], [50, 0], [100, 0], [150, 0]], dtype=float)
    i, j, h = _layout(offsets)
    sizes = np.full((4, 2), SIZE)
    # Keeping the first shots first: shots are considered for removal from the last.
    first = coverage_keep(4, i, j, h, ["ok"] * len(i), sizes, np.arange(4))
    assert first.keep.tolist() == [True, True, False, True]
    last = coverage_keep(4, i, j, h, ["ok"] * len(i), sizes, np.arange(4)[::-1])
    assert last.keep.tolist() == [True, False, True, True]


def test_wrong_geometry_never_removes_a_shot():
    offsets = np.array([[0, 0], [30, 0], [60, 0]], dtype=float)
    i, j, h = _layout(offsets)
    sizes = np.full((3, 2), SIZE)
    good = coverage_keep(3, i, j, h, ["ok"] * 3, sizes, np.arange(3), min_coverage=0.6)
    assert not good.keep.all() and not good.doubtful_pairs
    wrong = h.copy()
    wrong[list(zip(i, j)).index((0, 2))] = _shift(-20, 35)  # claims a shift nobody agrees with
    bad = coverage_keep(3, i, j, wrong, ["ok"] * 3, sizes, np.arange(3), min_coverage=0.6)
    assert bad.keep.all() and len(bad.doubtful_pairs) == 3
    unverified = coverage_keep(3, i, j, h, ["no_homography"] * 3, sizes, np.arange(3))
    assert unverified.keep.all()


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="min_coverage"):
        coverage_keep(1, [], [], np.zeros((0, 3, 3)), [], np.ones((1, 2)), np.arange(1), 0.0)
    with pytest.raises(ValueError, match="permutation"):
        coverage_keep(2, [], [], np.zeros((0, 3, 3)), [], np.ones((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="needs --verify"):
        DedupOptions(keep_mode="surface", cli=True)
    with pytest.raises(ValueError, match="min_coverage applies only"):
        DedupOptions(verify=True, keep_mode="pairwise", min_coverage=0.9)
    assert DedupOptions(verify=True).resolved_keep_mode == "surface"
    assert DedupOptions().resolved_keep_mode == "pairwise"


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    walls = [procedural_concrete(640, 520, seed=s) for s in (31, 32)]
    return simulate_survey(walls, tmp_path_factory.mktemp("coverage"), distractors=3,
                           passes=("coarse:strips=3:shots_per_strip=4",
                                   "dense:strips=4:shots_per_strip=6"),
                           shuffle_names=True, shot_size=(256, 205), seed=9)


def test_survey_keeps_its_surface_and_removes_most_of_what_it_can(survey, tmp_path):
    run = deduplicate_folder(survey.images_dir, ClassicalEncoder(["phash"], 8), tmp_path,
                             pairing="all", verify=True, workers=1, progress=False)
    score = score_dedup(tmp_path, survey.ground_truth_path)["phash64"]
    assert score["coverage"] >= 0.995
    assert score["n_removed"] >= 0.9 * score["ideal_coverage_removed"]
    assert score["n_distractors_removed"] == 0
    summary = json.loads((tmp_path / "phash64" / "summary.json").read_text())
    assert summary["keep_mode"] == "surface" and summary["removed_coverage_min"] >= summary["min_coverage"]
    assert summary["n_pairwise_removed"] >= summary["n_removed"]
    # pairs.csv still marks the pairwise duplicates of the paper's rule.
    assert summary["n_duplicate_pairs"] > summary["n_removed"]
    html = run.report_path.read_text(encoding="utf-8")
    assert "Removed images and the kept images that cover them" in html
    assert html.count("shown by kept images") == min(50, summary["n_removed"])


@pytest.mark.parametrize("legacy, renamed", [("coverage", "surface"), ("cover", "pairwise")])
def test_legacy_keep_mode_names_are_accepted_with_a_warning(legacy, renamed):
    with pytest.warns(FutureWarning, match=f"keep_mode='{legacy}' is now called "
                                           f"keep_mode='{renamed}'"):
        options = DedupOptions(verify=True, keep_mode=legacy)
    assert options.keep_mode == renamed and options == DedupOptions(verify=True, keep_mode=renamed)
