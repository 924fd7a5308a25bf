"""Scoring a dedup output folder against hand-computed answers."""
import importlib.util
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmselfsup_ext.geometry import overlap_ratio
from mmselfsup_ext.evaluation.scoring import (WallCoverage, greedy_dominating_set,
                                              load_ground_truth, roc_auc, score_dedup)

TOOL = Path(__file__).resolve().parents[1] / "tools" / "score_dedup.py"


# Ends only a hung subprocess, loudly (TimeoutExpired). Not a speed limit: on 2
# shared cores under load the slowest run here took a fraction of it.
_HANG_GUARD_S = 900


def rect(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


# Hand-made flight (rectangles, height 10):
#   A [0,10]  B [5,15]  C [12,22]  D [1,11]
# overlaps: A-B 0.5, A-D 0.9, B-D 0.6, B-C 0.3, A-C 0, C-D 0.
# True duplicates at 0.5: A-B, A-D, B-D.
FOOTPRINTS = {"A.jpg": rect(0, 0, 10, 10), "B.jpg": rect(5, 0, 15, 10),
              "C.jpg": rect(12, 0, 22, 10), "D.jpg": rect(1, 0, 11, 10)}
OVERLAPS = {("A.jpg", "B.jpg"): 0.5, ("A.jpg", "D.jpg"): 0.9, ("B.jpg", "D.jpg"): 0.6,
            ("B.jpg", "C.jpg"): 0.3}


def ground_truth():
    return {
        "surface": {"kind": "test", "width": 22, "height": 10},
        "overlap_threshold": 0.5,
        "shots": [{"file": f, "strip": 0, "index": k, "footprint": fp, "reshot_of": None}
                  for k, (f, fp) in enumerate(FOOTPRINTS.items())],
        "pairs": [{"a": a, "b": b, "overlap": ov} for (a, b), ov in OVERLAPS.items()],
    }


def write_tag(root, tag, rows, keep, remove, prefix=""):
    folder = root / tag
    folder.mkdir(parents=True)
    lines = ["path_a,path_b,distance,duplicate"]
    lines += [f"{prefix}{a},{prefix}{b},{d},{dup}" for a, b, d, dup in rows]
    (folder / "pairs.csv").write_text("\n".join(lines) + "\n")
    (folder / "keep.txt").write_text("".join(f"{prefix}{p}\n" for p in keep))
    (folder / "remove.txt").write_text("".join(f"{prefix}{p}\n" for p in remove))
    (folder / "summary.json").write_text(json.dumps({"threshold": 4}))


# Candidate rows: A-B (TP), B-C (FP), A-D (TP), C-D (TN); B-D never proposed (missed).
ROWS = [("A.jpg", "B.jpg", 3, 1), ("B.jpg", "C.jpg", 2, 1), ("A.jpg", "D.jpg", 1, 1),
        ("C.jpg", "D.jpg", 20, 0)]


@pytest.fixture
def output(tmp_path):
    write_tag(tmp_path / "out", "hash64", ROWS, keep=["A.jpg", "C.jpg"],
              remove=["B.jpg", "D.jpg"])
    gt_path = tmp_path / "ground_truth.json"
    gt_path.write_text(json.dumps(ground_truth()))
    return tmp_path / "out", gt_path


def test_hand_made_folder_scores(output):
    out, gt_path = output
    s = score_dedup(out, gt_path, coverage_cell=1.0)["hash64"]
    assert (s["tp"], s["fp"], s["fn"]) == (2, 1, 0)
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["recall"] == pytest.approx(1.0)
    assert s["f1"] == pytest.approx(0.8)                   # 2 * (2/3) / (5/3)
    assert s["n_true_pairs"] == 3
    assert s["recall_all"] == pytest.approx(2 / 3)
    assert s["f1_all"] == pytest.approx(2 / 3)
    # -distance: positives -3, -1; negatives -2, -20 -> 3 of 4 (pos, neg) orders right.
    assert s["auc"] == pytest.approx(0.75)
    assert s["dedup_rate"] == pytest.approx(0.5)
    # Kept A u C = 10*10 + 10*10 = 200 of the union [0,22]x[0,10] = 220.
    assert s["coverage"] == pytest.approx(200 / 220)
    # Duplicate graph: triangle A-B-D plus isolated C -> keep {A, C} either way.
    assert s["ideal_dedup_rate"] == pytest.approx(0.5)
    assert s["component_dedup_rate"] == pytest.approx(0.5)
    assert s["ideal_coverage"] == pytest.approx(200 / 220)
    assert s["hash_threshold"] == 4
    # Coverage-preserving choice, reverse capture order: D is inside A u B (dropped); C, B
    # and A each keep surface no other kept shot has.
    assert s["ideal_coverage_removed"] == 1
    assert s["ideal_coverage_dedup_rate"] == pytest.approx(0.25)
    assert s["ideal_coverage_retained"] == pytest.approx(1.0)
    assert s["removed_vs_ideal"] == pytest.approx(2.0)
    assert s["n_distractors"] == 0 and s["n_distractors_removed"] == 0


def test_old_single_flight_file_reads_as_one_wall(tmp_path):
    path = tmp_path / "ground_truth.json"
    path.write_text(json.dumps(ground_truth()))
    gt = load_ground_truth(path)
    assert gt.files == list(FOOTPRINTS)
    assert gt.walls == [0, 0, 0, 0]
    assert gt.capture_index == [0, 1, 2, 3]
    assert gt.distractors == []
    assert gt.overlaps[(0, 3)] == 0.9
    assert gt.image_index() == gt.index()


# Hand-made survey: two walls in their own coordinates (the same numbers on purpose) and
# one distractor X.
#   wall "north": A [0,10]x[0,10], B [5,15]x[0,10]   (A-B overlap 0.5)
#   wall "south": C [0,10]x[0,10], D [0,4]x[0,10]    (D inside C: overlap 1.0)
SURVEY = {"A.jpg": ("north", rect(0, 0, 10, 10)), "B.jpg": ("north", rect(5, 0, 15, 10)),
          "C.jpg": ("south", rect(0, 0, 10, 10)), "D.jpg": ("south", rect(0, 0, 4, 10))}


def survey_truth(shots=SURVEY, pairs=(("A.jpg", "B.jpg", 0.5), ("C.jpg", "D.jpg", 1.0)),
                 capture=None, distractors=("X.jpg",)):
    capture = capture or list(range(len(shots)))
    return {
        "overlap_threshold": 0.5,
        "shots": [{"file": f, "wall": wall, "pass": 0, "capture_index": capture[k],
                   "footprint": fp, "reshot_of": None}
                  for k, (f, (wall, fp)) in enumerate(shots.items())],
        "pairs": [{"a": a, "b": b, "overlap": ov} for a, b, ov in pairs],
        "distractors": list(distractors),
    }


def test_survey_coverage_per_wall_and_distractors(tmp_path):
    # A-X: a distractor flagged as duplicate (false positive); A-C: the same coordinates
    # on different walls, geometrically overlapping, but no shared surface (false positive).
    rows = [("A.jpg", "B.jpg", 1, 1), ("C.jpg", "D.jpg", 0, 1), ("A.jpg", "X.jpg", 2, 1),
            ("A.jpg", "C.jpg", 2, 1)]
    write_tag(tmp_path / "out", "t", rows, keep=["A.jpg", "D.jpg"],
              remove=["B.jpg", "C.jpg", "X.jpg"])
    s = score_dedup(tmp_path / "out", survey_truth(), coverage_cell=1.0)["t"]
    assert (s["tp"], s["fp"], s["fn"], s["n_true_pairs"]) == (2, 2, 0, 2)
    assert s["recall_all"] == 1.0 and s["precision"] == 0.5
    assert s["n_distractors_removed"] == 1 and s["n_distractors"] == 1
    assert s["n_images"] == 5 and s["dedup_rate"] == pytest.approx(3 / 5)
    # Per wall: kept A = 100 of north's 150, kept D = 40 of south's 100. (Pooled in one
    # coordinate frame it would read 100 of 150.)
    assert s["coverage"] == pytest.approx((100 + 40) / (150 + 100))
    # One kept shot per wall: rates over all 5 images, the distractor kept.
    assert s["ideal_dedup_rate"] == pytest.approx(2 / 5)
    assert s["ideal_coverage"] == pytest.approx((100 + 100) / 250)
    assert s["component_dedup_rate"] == pytest.approx(2 / 5)
    # Coverage-preserving: only D (inside C) goes.
    assert s["ideal_coverage_removed"] == 1
    assert s["ideal_coverage_dedup_rate"] == pytest.approx(1 / 5)
    assert s["ideal_coverage_retained"] == pytest.approx(1.0)
    assert s["removed_vs_ideal"] == pytest.approx(3.0)


def ideal(tmp_path, shots, capture=None, **kwargs):
    write_tag(tmp_path / "out", "t", [], keep=list(shots), remove=[])
    truth = survey_truth({f: ("w", fp) for f, fp in shots.items()}, pairs=(), capture=capture,
                         distractors=())
    return score_dedup(tmp_path / "out", truth, coverage_cell=0.5, **kwargs)["t"]


def test_ideal_coverage_choice_drops_a_shot_covered_by_two_others(tmp_path):
    # 1-D layout: B [5,15] lies inside A [0,10] u C [10,20], and neither A nor C is
    # covered by the rest, whichever is visited first.
    s = ideal(tmp_path, {"A.jpg": rect(0, 0, 10, 1), "B.jpg": rect(5, 0, 15, 1),
                         "C.jpg": rect(10, 0, 20, 1)})
    assert s["ideal_coverage_removed"] == 1
    assert s["ideal_coverage_dedup_rate"] == pytest.approx(1 / 3)
    assert s["ideal_coverage_retained"] == pytest.approx(1.0)
    assert s["removed_vs_ideal"] == 0.0


@pytest.mark.parametrize("capture, kept", [([0, 1], [True, False]), ([1, 0], [False, True])])
def test_ideal_coverage_choice_keeps_the_earlier_capture(capture, kept):
    # A hovering re-shot: identical footprints. Reverse capture order visits the later
    # capture first, and it is the one dropped, whatever the order of the shot list.
    truth = survey_truth({"A.jpg": ("w", rect(0, 0, 10, 1)), "B.jpg": ("w", rect(0, 0, 10, 1))},
                         pairs=(("A.jpg", "B.jpg", 1.0),), capture=capture, distractors=())
    coverage = WallCoverage(load_ground_truth(truth), cell=0.5)
    keep = coverage.coverage_preserving_keep()
    assert keep.tolist() == kept
    assert coverage.fraction(np.flatnonzero(keep)) == 1.0


def test_cover_fraction_decides_a_nearly_covered_shot(tmp_path):
    # B [1,11] is 90 % covered by A [0,10].
    shots = {"A.jpg": rect(0, 0, 10, 1), "B.jpg": rect(1, 0, 11, 1)}
    strict = ideal(tmp_path / "strict", shots)
    assert strict["ideal_coverage_removed"] == 0 and strict["removed_vs_ideal"] is None
    loose = ideal(tmp_path / "loose", shots, cover_fraction=0.9)
    assert loose["ideal_coverage_removed"] == 1 and loose["cover_fraction"] == 0.9
    assert loose["ideal_coverage_retained"] == pytest.approx(10 / 11)
    with pytest.raises(ValueError, match="cover_fraction"):
        ideal(tmp_path / "bad", shots, cover_fraction=0.0)


@pytest.mark.parametrize("change, message", [
    (lambda t: t["pairs"].append({"a": "A.jpg", "b": "C.jpg", "overlap": 0.5}), "two walls"),
    (lambda t: t["distractors"].append("A.jpg"), "distractor"),
    (lambda t: t["shots"][1].update(capture_index=0), "capture_index"),
    (lambda t: t["shots"][1].update(wall=[1]), "wall id"),
])
def test_bad_survey_ground_truth(change, message):
    truth = survey_truth()
    change(truth)
    with pytest.raises(ValueError, match=message):
        load_ground_truth(truth)


def test_threshold_changes_the_truth(output):
    out, gt_path = output
    s = score_dedup(out, gt_path, overlap_threshold=0.8, coverage_cell=1.0)["hash64"]
    # Only A-D (0.9) is a duplicate now: 1 TP, 2 FP.
    assert (s["tp"], s["fp"], s["fn"], s["n_true_pairs"]) == (1, 2, 0, 1)
    assert s["precision"] == pytest.approx(1 / 3)
    assert s["recall_all"] == pytest.approx(1.0)
    # Graph: one edge A-D; components {A,D},{B},{C} -> 1 - 3/4.
    assert s["ideal_dedup_rate"] == pytest.approx(0.25)


def test_paths_with_a_folder_prefix_and_several_tags(output):
    out, gt_path = output
    write_tag(out, "other32", [("A.jpg", "B.jpg", 9, 0)], keep=list(FOOTPRINTS), remove=[],
              prefix="images/")
    scores = score_dedup(out, gt_path, coverage_cell=1.0)
    assert list(scores) == ["hash64", "other32"]
    s = scores["other32"]
    assert s["precision"] is None                          # nothing predicted
    assert s["recall"] == 0.0 and s["f1"] is None
    assert s["auc"] is None                                # a single class
    assert s["dedup_rate"] == 0.0 and s["coverage"] == pytest.approx(1.0)


def test_errors_are_value_errors(output, tmp_path):
    out, gt_path = output
    with pytest.raises(ValueError, match="no <tag>"):
        score_dedup(tmp_path / "out" / "hash64", gt_path)
    with pytest.raises(ValueError, match="does not exist"):
        score_dedup(tmp_path / "nope", gt_path)
    (out / "hash64" / "keep.txt").unlink()
    with pytest.raises(ValueError, match="missing .*keep.txt"):
        score_dedup(out, gt_path)
    (out / "hash64" / "keep.txt").write_text("Z.jpg\n")
    with pytest.raises(ValueError, match="not a shot"):
        score_dedup(out, gt_path)
    bad = ground_truth()
    del bad["shots"][0]["footprint"]
    with pytest.raises(ValueError, match="schema"):
        load_ground_truth(bad)
    with pytest.raises(ValueError, match="overlap_threshold"):
        score_dedup(out, gt_path, overlap_threshold=0.0)


def test_bad_duplicate_flag(output):
    out, gt_path = output
    (out / "hash64" / "pairs.csv").write_text("path_a,path_b,distance,duplicate\n"
                                              "A.jpg,B.jpg,3,maybe\n")
    with pytest.raises(ValueError, match="duplicate must be"):
        score_dedup(out, gt_path)


def test_roc_auc_matches_pair_counting():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, 60).astype(float)           # many ties
    labels = rng.random(60) < 0.4
    pos, neg = scores[labels], scores[~labels]
    brute = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert roc_auc(scores, labels) == pytest.approx(brute)
    assert roc_auc(scores, np.zeros(60, dtype=bool)) is None


def test_greedy_dominating_set_dominates_and_is_near_minimal():
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = 7
        edges = [e for e in itertools.combinations(range(n), 2) if rng.random() < 0.3]
        chosen = set(greedy_dominating_set(n, edges))
        neighbours = {v: {v} for v in range(n)}
        for a, b in edges:
            neighbours[a].add(b)
            neighbours[b].add(a)
        assert all(neighbours[v] & chosen for v in range(n))
        minimum = min(len(s) for k in range(1, n + 1) for s in itertools.combinations(range(n), k)
                      if all(neighbours[v] & set(s) for v in range(n)))
        assert minimum <= len(chosen) <= minimum + 1
    # A chain of 7 (a strip at 70 % forward overlap) needs ceil(7 / 3) = 3 keepers.
    assert len(greedy_dominating_set(7, [(i, i + 1) for i in range(6)])) == 3


def test_scorer_on_a_simulated_flight(tmp_path):
    """The ground truth written by the simulator parses and scores consistently."""
    from mmselfsup_ext.evaluation import ShotJitter, procedural_concrete, simulate_flight

    result = simulate_flight(procedural_concrete(300, 200, seed=0), tmp_path / "f", strips=2,
                             shots_per_strip=4, shot_size=(40, 32),
                             jitter=ShotJitter.none(), reshot_rate=0.0)
    files = [s["file"] for s in result.ground_truth["shots"]]
    # An oracle that flags exactly the true pairs among all pairs.
    fps = {s["file"]: np.array(s["footprint"]) for s in result.ground_truth["shots"]}
    rows = [(a, b, 0 if overlap_ratio(fps[a], fps[b]) >= 0.5 else 9,
             int(overlap_ratio(fps[a], fps[b]) >= 0.5))
            for a, b in itertools.combinations(files, 2)]
    write_tag(tmp_path / "out", "oracle", rows, keep=files, remove=[])
    s = score_dedup(tmp_path / "out", result.ground_truth_path)["oracle"]
    assert s["precision"] == 1.0 and s["recall_all"] == 1.0 and s["auc"] == 1.0
    assert s["coverage"] == pytest.approx(1.0)


def test_cli_prints_table_and_writes_scores(output):
    out, gt_path = output
    proc = subprocess.run([sys.executable, str(TOOL), str(out), "--ground-truth", str(gt_path)],
                          capture_output=True, text=True, timeout=_HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("hash64"))
    assert row.split()[1:4] == ["0.667", "1.000", "0.800"]
    # Coverage-preserving ideal 0.25, removed 2 / ideal 1, no distractor removed.
    assert proc.stdout.splitlines()[0].split()[-3:] == ["idealcov", "rm/ideal", "distr_rm"]
    assert row.split()[-3:] == ["0.250", "2.000", "0"]
    assert "coverage-preserving: 1 removed" in proc.stdout
    saved = json.loads((out / "scores.json").read_text())
    assert saved["tags"]["hash64"]["precision"] == pytest.approx(2 / 3)


def test_cli_scores_several_folders_side_by_side(output, tmp_path):
    out, gt_path = output
    other = tmp_path / "other"
    # Same tag, perfect answer: A-B, A-D, B-D duplicates; keep A and C.
    write_tag(other, "hash64", [("A.jpg", "B.jpg", 1, 1), ("A.jpg", "D.jpg", 1, 1),
                                ("B.jpg", "D.jpg", 1, 1), ("B.jpg", "C.jpg", 9, 0)],
              keep=["A.jpg", "C.jpg"], remove=["B.jpg", "D.jpg"])
    proc = subprocess.run([sys.executable, str(TOOL), str(out), str(other),
                           "--ground-truth", str(gt_path)],
                          capture_output=True, text=True, timeout=_HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split()[1:4] for line in proc.stdout.splitlines()
            if line.split() and "/hash64" in line.split()[0]}
    assert rows == {"out/hash64": ["0.667", "1.000", "0.800"],
                    "other/hash64": ["1.000", "1.000", "1.000"]}
    assert (other / "scores.json").exists() and (out / "scores.json").exists()


@pytest.mark.parametrize("args", [["--overlap", "2"], ["--overlap", "x"], []])
def test_cli_bad_arguments_give_one_line(output, capsys, args):
    out, gt_path = output
    spec = importlib.util.spec_from_file_location("score_dedup_tool", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    argv = [str(out)] + (["--ground-truth", str(gt_path), *args] if args else [])
    with pytest.raises(SystemExit) as exc:
        tool.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error:" in err
