"""Simulated flights: determinism, footprints, overlaps, re-shots, rendering, schema."""
import json
import math
import re

import numpy as np
import pytest
from PIL import Image

from mmselfsup_ext.evaluation import (ShotJitter, Surface, overlap_ratio, procedural_concrete,
                                      render_shot, simulate_flight)

SHOT = (64, 52)


@pytest.fixture(scope="module")
def wall():
    return procedural_concrete(480, 360, seed=0)


def fly(wall, out, **kwargs):
    kwargs.setdefault("strips", 3)
    kwargs.setdefault("shots_per_strip", 4)
    kwargs.setdefault("shot_size", SHOT)
    return simulate_flight(wall, out, **kwargs)


def test_same_seed_gives_identical_bytes(wall, tmp_path):
    a = fly(wall, tmp_path / "a", seed=5, reshot_rate=0.3)
    b = fly(wall, tmp_path / "b", seed=5, reshot_rate=0.3)
    c = fly(wall, tmp_path / "c", seed=6, reshot_rate=0.3)
    names = sorted(p.name for p in a.images_dir.iterdir())
    assert names == sorted(p.name for p in b.images_dir.iterdir())
    for name in names:
        assert (a.images_dir / name).read_bytes() == (b.images_dir / name).read_bytes()
    assert a.ground_truth_path.read_bytes() == b.ground_truth_path.read_bytes()
    assert a.ground_truth_path.read_bytes() != c.ground_truth_path.read_bytes()


def test_footprints_stay_inside_the_surface(wall, tmp_path):
    # Strong jitter pushes shots at the border outwards; they must be moved back in.
    jitter = ShotJitter(position=0.2, rotation_deg=10, scale=0.2, perspective=0.05)
    gt = fly(wall, tmp_path, jitter=jitter, reshot_rate=0.5, seed=1).ground_truth
    for shot in gt["shots"]:
        fp = np.array(shot["footprint"])
        assert fp.shape == (4, 2)
        assert fp[:, 0].min() >= 0 and fp[:, 0].max() <= wall.width
        assert fp[:, 1].min() >= 0 and fp[:, 1].max() <= wall.height


def test_names_capture_order_and_serpentine(wall, tmp_path):
    gt = fly(wall, tmp_path, jitter=ShotJitter.none(), reshot_rate=0.0).ground_truth
    shots = gt["shots"]
    assert [s["file"] for s in shots] == [f"shot_h{s['strip']:02d}_{k:04d}.jpg"
                                          for k, s in enumerate(shots)]
    assert [s["index"] for s in shots] == list(range(12))
    centres = np.array([np.mean(s["footprint"], axis=0) for s in shots]).reshape(3, 4, 2)
    assert np.all(np.diff(centres[0, :, 0]) > 0)   # strip 0 flies left to right
    assert np.all(np.diff(centres[1, :, 0]) < 0)   # strip 1 flies back
    assert np.all(np.diff(centres[:, 0, 1]) > 0)   # strips move down the wall


def test_nominal_grid_has_exact_requested_overlaps(wall, tmp_path):
    gt = fly(wall, tmp_path, forward_overlap=0.75, side_overlap=0.35,
             jitter=ShotJitter.none(), reshot_rate=0.0).ground_truth
    fps = [np.array(s["footprint"]) for s in gt["shots"]]
    # Consecutive shots of strip 0 and the shot below in strip 1 (serpentine: index 7 - k).
    assert overlap_ratio(fps[0], fps[1]) == pytest.approx(0.75, abs=1e-3)
    assert overlap_ratio(fps[0], fps[7]) == pytest.approx(0.35, abs=1e-3)
    # The footprint keeps the shot's aspect ratio.
    w = fps[0][1, 0] - fps[0][0, 0]
    h = fps[0][3, 1] - fps[0][0, 1]
    assert w / h == pytest.approx(SHOT[0] / SHOT[1], rel=1e-3)


def test_jittered_strip_neighbours_overlap_about_forward_overlap(wall, tmp_path):
    gt = fly(wall, tmp_path, forward_overlap=0.7, reshot_rate=0.0, seed=2).ground_truth
    by_name = {(s["strip"], s["index"]): np.array(s["footprint"]) for s in gt["shots"]}
    indices = sorted(by_name)
    ovs = [overlap_ratio(by_name[a], by_name[b]) for a, b in zip(indices, indices[1:])
           if a[0] == b[0]]
    assert len(ovs) == 9
    # Default jitter: +-3 % position, +-3 deg, +-3 % scale, +-2 % corners.
    assert all(abs(ov - 0.7) < 0.12 for ov in ovs)
    assert abs(np.mean(ovs) - 0.7) < 0.05


def test_reshots_repeat_the_previous_shot(wall, tmp_path):
    gt = fly(wall, tmp_path, reshot_rate=1.0, seed=3).ground_truth
    shots = gt["shots"]
    assert len(shots) == 24
    overlaps = {(p["a"], p["b"]): p["overlap"] for p in gt["pairs"]}
    for prev, shot in zip(shots[::2], shots[1::2]):
        assert prev["reshot_of"] is None
        assert shot["reshot_of"] == prev["file"]
        assert shot["strip"] == prev["strip"]
        ov = overlap_ratio(np.array(prev["footprint"]), np.array(shot["footprint"]))
        assert ov > 0.9
        assert overlaps[(prev["file"], shot["file"])] == pytest.approx(ov, abs=1e-6)
    assert gt["flight"]["n_reshots"] == 12


def test_ground_truth_schema_and_pair_completeness(wall, tmp_path):
    result = fly(wall, tmp_path, reshot_rate=0.2, seed=4)
    gt = json.loads(result.ground_truth_path.read_text())
    assert set(gt) >= {"surface", "overlap_threshold", "shots", "pairs"}
    assert gt["overlap_threshold"] == 0.5
    assert gt["surface"]["kind"] == "procedural"
    files = [s["file"] for s in gt["shots"]]
    assert sorted(p.name for p in result.images_dir.iterdir()) == sorted(files)
    for shot in gt["shots"]:
        assert set(shot) >= {"file", "strip", "index", "footprint", "reshot_of"}
        assert re.fullmatch(r"shot_h\d{2}_\d{4}\.jpg", shot["file"])
        with Image.open(result.images_dir / shot["file"]) as img:
            assert img.format == "JPEG" and img.size == SHOT
    position = {f: k for k, f in enumerate(files)}
    listed = {}
    for pair in gt["pairs"]:
        assert set(pair) == {"a", "b", "overlap"}
        assert position[pair["a"]] < position[pair["b"]]
        assert 0.0 < pair["overlap"] <= 1.0
        listed[(pair["a"], pair["b"])] = pair["overlap"]
    fps = {s["file"]: np.array(s["footprint"]) for s in gt["shots"]}
    for i, a in enumerate(files):
        for b in files[i + 1:]:
            expected = overlap_ratio(fps[a], fps[b])
            assert listed.get((a, b), 0.0) == pytest.approx(expected, abs=1e-5)


def test_rendered_pixels_follow_the_footprint():
    # A smooth analytic surface: a shot pixel must equal the surface where the footprint
    # homography sends the pixel centre.
    ys, xs = np.mgrid[0:200, 0:300] + 0.5

    def f(x, y):
        return 128 + 60 * np.sin(x / 9.0) * np.cos(y / 13.0)

    surface = np.repeat(f(xs, ys)[..., None], 3, axis=2).round().astype(np.uint8)
    angle = math.radians(7)
    c, s = math.cos(angle), math.sin(angle)
    local = np.array([[-40, -30], [40, -30], [40, 30], [-40, 30]]) @ np.array([[c, -s], [s, c]]).T
    footprint = local + [150, 100]
    img = np.asarray(render_shot(surface, footprint, (80, 60)))[..., 0].astype(float)
    u, v = np.meshgrid(np.arange(80) + 0.5, np.arange(60) + 0.5)
    # Rotation + translation: the exact map from output pixel to surface.
    sx = 150 + (u - 40) * c - (v - 30) * s
    sy = 100 + (u - 40) * s + (v - 30) * c
    # Correct mapping: ~0.6; off by half a pixel: ~1.6.
    assert np.abs(img - f(sx, sy)).mean() < 1.0


def test_downscaled_rendering_is_antialiased():
    # A 1-px checkerboard seen from far away must average to grey, not alias.
    checker = ((np.indices((400, 400)).sum(axis=0) % 2) * 255).astype(np.uint8)
    surface = np.repeat(checker[..., None], 3, axis=2)
    img = np.asarray(render_shot(surface, np.array([[10, 10], [390, 10], [390, 390], [10, 390]],
                                                   dtype=float), (50, 50)))
    assert abs(img.mean() - 127.5) < 5 and img.std() < 10


def test_rerun_replaces_earlier_shots_and_refuses_foreign_files(wall, tmp_path):
    fly(wall, tmp_path, strips=3, shots_per_strip=4, reshot_rate=0.0)
    small = fly(wall, tmp_path, strips=1, shots_per_strip=2, reshot_rate=0.0)
    assert sorted(p.name for p in small.images_dir.iterdir()) == ["shot_h00_0000.jpg",
                                                                  "shot_h00_0001.jpg"]
    (small.images_dir / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not flight shots"):
        fly(wall, tmp_path)
    assert (small.images_dir / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("kwargs, message", [
    ({"strips": 0}, "strips"),
    ({"forward_overlap": 1.0}, "forward_overlap"),
    ({"side_overlap": -0.1}, "side_overlap"),
    ({"reshot_rate": 1.5}, "reshot_rate"),
    ({"shot_size": (8, 8)}, "shot_size"),
    ({"strips": 200}, "too small"),
])
def test_invalid_arguments_raise_value_error(wall, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fly(wall, tmp_path, **kwargs)


def test_invalid_surface_and_jitter():
    with pytest.raises(ValueError, match="uint8"):
        simulate_flight(Surface(np.zeros((100, 100), dtype=np.uint8)), "unused")
    with pytest.raises(ValueError, match="rotation_deg"):
        ShotJitter(rotation_deg=90)
    with pytest.raises(ValueError, match="jpeg_quality"):
        ShotJitter(jpeg_quality=(90, 80))
