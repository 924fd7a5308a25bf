"""Simulated surveys: determinism, walls and passes, shuffled names, distractors, schema."""
import itertools
import re

import numpy as np
import pytest
from PIL import Image

from mmselfsup_ext.fileio.discover import natural_key
from mmselfsup_ext.evaluation import (FlightPlan, load_ground_truth, overlap_ratio,
                                      pass_from_spec, score_dedup, simulate_survey, survey_walls)

SHOT = (48, 40)
COARSE = FlightPlan(strips=2, shots_per_strip=3, forward_overlap=0.6, side_overlap=0.3,
                    reshot_rate=0.3)
DENSE = FlightPlan(strips=3, shots_per_strip=4, forward_overlap=0.7, side_overlap=0.5,
                   footprint_scale=0.8, reshot_rate=0.2)


@pytest.fixture(scope="module")
def walls():
    return survey_walls(3, size=(300, 220), first_seed=7)


def survey(walls, out, **kwargs):
    kwargs.setdefault("passes", [COARSE, DENSE])
    kwargs.setdefault("shot_size", SHOT)
    return simulate_survey(walls, out, **kwargs)


@pytest.fixture(scope="module")
def shuffled(walls, tmp_path_factory):
    """A shuffled-name survey with distractors past scikit-image's eight samples."""
    return survey(walls, tmp_path_factory.mktemp("shuffled"), shuffle_names=True,
                  distractors=10, seed=3)


def folder_bytes(images_dir):
    return {p.name: p.read_bytes() for p in sorted(images_dir.iterdir())}


def test_same_arguments_and_seed_give_identical_bytes(walls, shuffled, tmp_path):
    again = survey(walls, tmp_path / "again", shuffle_names=True, distractors=10, seed=3)
    assert folder_bytes(again.images_dir) == folder_bytes(shuffled.images_dir)
    assert again.ground_truth_path.read_bytes() == shuffled.ground_truth_path.read_bytes()
    other = survey(walls, tmp_path / "other", shuffle_names=True, distractors=10, seed=4)
    assert other.ground_truth_path.read_bytes() != shuffled.ground_truth_path.read_bytes()


def test_shuffled_names_map_back_to_shots_in_capture_order(walls, shuffled, tmp_path):
    gt = shuffled.ground_truth
    shots = gt["shots"]
    files = [s["file"] for s in shots] + gt["distractors"]
    assert all(re.fullmatch(r"IMG_\d{4,}\.jpg", f) for f in files)
    assert len(set(files)) == len(files)
    assert sorted(p.name for p in shuffled.images_dir.iterdir()) == sorted(files)
    assert [s["capture_index"] for s in shots] == list(range(len(shots)))
    # Names come from their own random stream: the same seed with capture-order names
    # gives the same shots, so capture_index identifies each renamed file's original.
    plain = survey(walls, tmp_path, distractors=10, seed=3).ground_truth
    by_capture = {s["capture_index"]: s for s in plain["shots"]}
    for shot in shots:
        original = by_capture[shot["capture_index"]]
        assert (shuffled.images_dir / shot["file"]).read_bytes() == \
            (tmp_path / "images" / original["file"]).read_bytes()
        assert shot["footprint"] == original["footprint"]
        assert (shot["wall"], shot["pass"]) == (original["wall"], original["pass"])
    renamed = {s["file"]: by_capture[s["capture_index"]]["file"] for s in shots}
    assert {(renamed[p["a"]], renamed[p["b"]], p["overlap"]) for p in gt["pairs"]} == \
        {(p["a"], p["b"], p["overlap"]) for p in plain["pairs"]}
    for shot in shots:
        if shot["reshot_of"] is not None:
            assert renamed[shot["reshot_of"]] == by_capture[shot["capture_index"]]["reshot_of"]


def test_capture_order_names_sort_pass_major(walls, tmp_path):
    gt = survey(walls, tmp_path, seed=1).ground_truth
    shots = gt["shots"]
    names = [s["file"] for s in shots]
    assert sorted(names, key=natural_key) == names
    for s in shots:
        assert s["file"] == (f"p{s['pass']}_w{s['wall']:02d}_h{s['strip']:02d}_"
                             f"{s['capture_index']:05d}.jpg")
    # Pass 0 over every wall, then pass 1 over every wall.
    order = [(s["pass"], s["wall"]) for s in shots]
    assert order == sorted(order)
    assert {(p, w) for p, w in order} == set(itertools.product(range(2), range(3)))


def test_pairs_stay_within_walls_and_equal_brute_force(shuffled):
    gt = shuffled.ground_truth
    shots = gt["shots"]
    wall = {s["file"]: s["wall"] for s in shots}
    listed = {}
    for pair in gt["pairs"]:
        assert wall[pair["a"]] == wall[pair["b"]]
        listed[(pair["a"], pair["b"])] = pair["overlap"]
    # Every wall is flown in the same coordinates: cross-wall footprints do overlap
    # geometrically, which is exactly what must not become a pair.
    crossing = 0
    for a, b in itertools.combinations(shots, 2):
        expected = overlap_ratio(np.array(a["footprint"]), np.array(b["footprint"]))
        if a["wall"] != b["wall"]:
            crossing += expected > 0
            assert (a["file"], b["file"]) not in listed
        else:
            assert listed.get((a["file"], b["file"]), 0.0) == pytest.approx(expected, abs=1e-6)
    assert crossing > 0
    # Both passes of a wall overlap each other (the re-flight is a duplicate source).
    passes = {s["file"]: s["pass"] for s in shots}
    assert any(passes[a] != passes[b] and ov >= 0.5 for (a, b), ov in listed.items())


def test_distractors_are_listed_without_footprint_or_pair(shuffled):
    gt = shuffled.ground_truth
    distractors = gt["distractors"]
    assert len(distractors) == gt["survey"]["n_distractors"] == 10
    assert gt["distractor_sources"][:8] == [f"skimage.data.{n}" for n in (
        "brick", "gravel", "grass", "camera", "coffee", "rocket", "astronaut", "chelsea")]
    assert all(s.startswith("procedural_concrete(seed=") for s in gt["distractor_sources"][8:])
    in_pairs = {p["a"] for p in gt["pairs"]} | {p["b"] for p in gt["pairs"]}
    assert not set(distractors) & (in_pairs | {s["file"] for s in gt["shots"]})
    for name in distractors:
        with Image.open(shuffled.images_dir / name) as img:
            assert img.format == "JPEG" and img.size == SHOT and img.mode == "RGB"
    loaded = load_ground_truth(shuffled.ground_truth_path)
    assert loaded.distractors == distractors


def test_walls_and_passes_are_recorded(walls, shuffled):
    gt = shuffled.ground_truth
    assert gt["survey"]["n_walls"] == 3 and gt["survey"]["n_passes"] == 2
    assert [w["surface"]["seed"] for w in gt["walls"]] == [7, 8, 9]
    assert gt["passes"][1]["footprint_scale"] == 0.8
    for w, record in enumerate(gt["walls"]):
        coarse, dense = record["passes"]
        # Smaller footprints on the closer pass, and the shot counts add up.
        assert dense["footprint_size"][0] < coarse["footprint_size"][0]
        for p, flown in enumerate(record["passes"]):
            assert flown["n_shots"] == sum(s["wall"] == w and s["pass"] == p
                                           for s in gt["shots"])
    for shot in gt["shots"]:
        fp = np.array(shot["footprint"])
        assert fp[:, 0].min() >= 0 and fp[:, 0].max() <= 300
        assert fp[:, 1].min() >= 0 and fp[:, 1].max() <= 220
    assert gt["survey"]["n_shots"] == len(gt["shots"])
    assert gt["survey"]["n_reshots"] == sum(s["reshot_of"] is not None for s in gt["shots"])


def test_scoring_reads_a_shuffled_survey(shuffled, tmp_path):
    gt = shuffled.ground_truth
    shots = [s["file"] for s in gt["shots"]]
    tag = tmp_path / "out" / "keepall"
    tag.mkdir(parents=True)
    (tag / "keep.txt").write_text("".join(f"images/{f}\n" for f in shots[1:]))
    (tag / "remove.txt").write_text(f"images/{shots[0]}\n" + "".join(
        f"images/{f}\n" for f in gt["distractors"][:2]))
    (tag / "pairs.csv").write_text("path_a,path_b,distance,duplicate\n")
    s = score_dedup(tmp_path / "out", shuffled.ground_truth_path)["keepall"]
    assert s["n_distractors_removed"] == 2 and s["n_distractors"] == 10
    assert s["n_shots"] == len(shots)
    assert 0.0 < s["ideal_coverage_removed"] < len(shots)
    assert s["ideal_coverage_retained"] > 0.99
    assert s["removed_vs_ideal"] == pytest.approx(3 / s["ideal_coverage_removed"])


def test_footprint_scale_centres_a_closer_grid(tmp_path):
    wall = survey_walls(1, size=(400, 400))
    detail = FlightPlan(strips=1, shots_per_strip=1, footprint_scale=0.5, reshot_rate=0.0)
    gt = simulate_survey(wall, tmp_path, passes=[detail],
                         shot_size=(32, 32)).ground_truth
    fp = np.array(gt["shots"][0]["footprint"])
    assert np.allclose(fp.mean(axis=0), [200, 200], atol=400 * 0.05)
    side = fp[:, 0].max() - fp[:, 0].min()
    assert 0.4 * 400 < side < 0.6 * 400


def test_pass_from_spec():
    plan = pass_from_spec("dense:strips=12:forward_overlap=0.8:footprint_scale=0.5")
    assert (plan.strips, plan.forward_overlap, plan.footprint_scale) == (12, 0.8, 0.5)
    assert pass_from_spec("coarse") == pass_from_spec(" coarse ")
    for spec, message in [("nope", "unknown pass"), ("dense:jitter=1", "bad pass override"),
                          ("dense:strips", "bad pass override"), ("dense:strips=1.5", "bad value"),
                          ("dense:side_overlap=1", "side_overlap"),
                          ("detail:footprint_scale=0", "footprint_scale"),
                          ("coarse:reshot_rate=2", "reshot_rate")]:
        with pytest.raises(ValueError, match=message):
            pass_from_spec(spec)


def test_survey_walls_take_the_eval_half_of_a_photo(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (100, 240, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    walls = survey_walls(3, size=(64, 64), first_seed=2, photo=tmp_path / "photo.png")
    assert walls[0].info["region"] == "eval" and walls[0].info["x_offset"] == 120
    assert np.array_equal(walls[0].pixels, pixels[:, 120:])
    assert [w.info["seed"] for w in walls[1:]] == [2, 3]
    with pytest.raises(ValueError, match="count"):
        survey_walls(0)


@pytest.mark.parametrize("kwargs, message", [
    ({"walls": []}, "walls"),
    ({"passes": []}, "passes"),
    ({"passes": "coarse"}, "passes"),
    ({"passes": ["bogus"]}, "unknown pass"),
    ({"passes": [3]}, "FlightPlan"),
    ({"distractors": -1}, "distractors"),
    ({"distractors": 1.5}, "distractors"),
    ({"seed": -1}, "seed"),
    ({"shot_size": (8, 8)}, "shot_size"),
    ({"overlap_threshold": 0.0}, "overlap_threshold"),
    ({"passes": [FlightPlan(strips=100, shots_per_strip=3)]}, "too small"),
])
def test_invalid_arguments_raise_before_writing(walls, tmp_path, kwargs, message):
    kwargs.setdefault("walls", walls)
    with pytest.raises(ValueError, match=message):
        survey(out=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_rerun_replaces_earlier_images_and_refuses_foreign_files(walls, tmp_path):
    survey(walls, tmp_path, distractors=1)
    small = survey(walls[:1], tmp_path, passes=[COARSE], shuffle_names=True)
    assert sorted(p.name for p in small.images_dir.iterdir()) == \
        sorted(s["file"] for s in small.ground_truth["shots"])
    (small.images_dir / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not survey images"):
        survey(walls, tmp_path)
    assert (small.images_dir / "notes.txt").read_text() == "mine"
