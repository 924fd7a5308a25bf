"""Every real surface in the shared data: retrieval finds what verifying the true pairs
finds, the full-size quay-deck frames stay, and the survey builder keeps its promises.

The survey tests run once per photo in ``../shared/data`` (discovered, not listed), so a
new surface is tested as soon as it is added; they skip on a machine without the data.
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmselfsup_ext.dedup import ClassicalEncoder, deduplicate_folder
from mmselfsup_ext.dedup.verify import FeatureEncoder, FeatureStore, verify_pairs
from mmselfsup_ext.evaluation import (load_ground_truth, photo_label, procedural_concrete,
                                      scaled_walls, score_dedup, shared_data_dir,
                                      shared_photos, simulate_survey)
from mmselfsup_ext.fileio import discover_images

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = shared_photos()
QUAY = shared_data_dir() / "quay_deck" if shared_data_dir() is not None else None


def test_shared_photos_finds_every_image_below_the_folder(tmp_path):
    (tmp_path / "deck" / "strip").mkdir(parents=True)
    for name in ("a.jpg", "deck/b.PNG", "deck/strip/c.tiff"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    (tmp_path / "README.md").write_text("not a photo")
    found = shared_photos(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.jpg", "deck/b.PNG", "deck/strip/c.tiff"]
    assert [photo_label(p, tmp_path) for p in found] == ["a", "deck/b", "deck/strip/c"]
    assert shared_photos(tmp_path / "missing") == []


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_scaled_walls_give_the_asked_footprint_scale_on_disjoint_tiles(tmp_path, scale):
    photo = tmp_path / "wall.png"
    Image.fromarray(procedural_concrete(3600, 2400, seed=3).pixels).save(photo)
    walls, shot = scaled_walls(photo, scale, max_walls=3)
    tiles = [w.info["tile"] for w in walls]
    for k, (x, y, w, h) in enumerate(tiles):  # inside the evaluation half, disjoint
        assert x >= 0 and y >= 0 and x + w <= 1800 and y + h <= 2400
        for x2, y2, w2, h2 in tiles[k + 1:]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    gt = simulate_survey(walls, tmp_path / "survey", passes=("coarse",), shot_size=shot,
                         seed=1).ground_truth
    width = gt["walls"][0]["passes"][0]["footprint_size"][0]
    assert width / shot[0] == pytest.approx(scale, rel=0.01)


def test_scaled_walls_shrink_the_shots_on_a_small_photo(tmp_path):
    photo = tmp_path / "small.png"
    Image.fromarray(procedural_concrete(1000, 1000, seed=4).pixels).save(photo)
    walls, shot = scaled_walls(photo, 2.0, max_walls=5)
    assert len(walls) == 1 and shot[0] < 320
    gt = simulate_survey(walls, tmp_path / "survey", passes=("coarse",), shot_size=shot,
                         seed=1).ground_truth
    assert gt["walls"][0]["passes"][0]["footprint_size"][0] / shot[0] == pytest.approx(
        2.0, rel=0.02)
    with pytest.raises(ValueError, match="scale"):
        scaled_walls(photo, 0.0)


def _verified_truth(survey: Path) -> set[frozenset[str]]:
    """True pairs (overlap >= 0.5) that the verifier accepts: what all-pairs finds."""
    gt = load_ground_truth(survey / "ground_truth.json")
    paths = discover_images(survey / "images")
    row = {p.name: k for k, p in enumerate(paths)}
    truth = [(row[gt.files[a]], row[gt.files[b]]) for (a, b), ov in gt.overlaps.items()
             if ov >= 0.5]
    encoder = FeatureEncoder()
    store = FeatureStore.from_encoding(encoder.encode(paths, workers=2, progress=False),
                                       paths, encoder)
    i, j = (np.array(side) for side in zip(*truth))
    found = verify_pairs(store, i, j, workers=2, progress=False).overlap >= 0.5
    return {frozenset((paths[a].name, paths[b].name)) for a, b in zip(i[found], j[found])}


@pytest.mark.skipif(not PHOTOS, reason="no real photos in ../shared/data")
@pytest.mark.parametrize("photo", PHOTOS, ids=[photo_label(p) for p in PHOTOS])
def test_retrieval_finds_what_verification_finds_on_every_real_surface(photo, tmp_path):
    """A shuffled two-pass survey, footprints downsampled 2x: the quay deck's hard case."""
    walls, shot = scaled_walls(photo, 2.0, max_walls=1)
    survey = tmp_path / "survey"
    simulate_survey(walls, survey, passes=("coarse", "dense"), distractors=4,
                    shuffle_names=True, shot_size=shot, seed=0)
    out = tmp_path / "out"
    deduplicate_folder(survey / "images", ClassicalEncoder(["phash"], 8), out, pairing="all",
                       verify=True, workers=2, progress=False, html_report=False)
    with (out / "phash64" / "pairs.csv").open(encoding="utf-8", newline="") as fh:
        candidates = {frozenset((r["path_a"], r["path_b"])) for r in csv.DictReader(fh)}
    reference = _verified_truth(survey)
    assert len(reference) > 100
    assert len(reference & candidates) >= 0.995 * len(reference)
    score = score_dedup(out, survey / "ground_truth.json")["phash64"]
    assert score["f1_all"] >= 0.97, score
    assert score["n_distractors_removed"] == 0
    assert score["coverage"] >= 0.995
    assert score["n_removed"] >= 0.9 * score["ideal_coverage_removed"]
    summary = json.loads((out / "phash64" / "summary.json").read_text())
    assert summary["n_verified"] <= 0.2 * summary["n_images"] * (summary["n_images"] - 1) / 2


@pytest.mark.skipif(QUAY is None or len(shared_photos(QUAY)) < 3,
                    reason="the quay-deck frames are not in ../shared/data")
@pytest.mark.parametrize("script", ["image_processing_deduplication.py",
                                    "SwinFpnHashCLR_deduplication.py"])
def test_full_size_quay_frames_are_all_kept_with_their_measured_overlap(script, tmp_path,
                                                                       tree_digest):
    """Three 5376 x 3584 frames of one strip share at most 29 %: none is a duplicate."""
    before = tree_digest(QUAY)
    extra = ["--methods", "phash"] if script.startswith("image") else []
    proc = subprocess.run([sys.executable, str(ROOT / script), str(QUAY), *extra,
                           "--pairing", "all", "--verify", "--out", str(tmp_path / "out"),
                           "--no-progress"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (tag,) = [p for p in (tmp_path / "out").iterdir() if (p / "keep.txt").is_file()]
    kept = (tag / "keep.txt").read_text().split()
    assert sorted(Path(p).name for p in kept) == ["MAX_1631.jpg", "MAX_1635.jpg",
                                                  "MAX_1638.jpg"]
    with (tag / "pairs.csv").open(encoding="utf-8", newline="") as fh:
        rows = {frozenset((r["path_a"], r["path_b"])): r for r in csv.DictReader(fh)}
    shared = rows[frozenset(("MAX_1635.jpg", "MAX_1638.jpg"))]
    assert shared["verify_status"] == "ok" and shared["duplicate"] == "0"
    assert float(shared["overlap"]) == pytest.approx(0.29, abs=0.02)
    assert all(r["duplicate"] == "0" for r in rows.values())
    assert tree_digest(QUAY) == before
