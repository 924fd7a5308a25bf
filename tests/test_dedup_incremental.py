"""``--pairing all --verify`` on a two-pass survey: any file order, incremental re-runs,
and a survey state that is damaged, foreign or held by another run."""
from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmselfsup_ext.dedup import ClassicalEncoder, deduplicate_folder
from mmselfsup_ext.dedup import state as state_module
from mmselfsup_ext.dedup.state import STATE_FILENAME, SurveyStateWarning
from mmselfsup_ext.evaluation import procedural_concrete, simulate_survey
from mmselfsup_ext.evaluation.scoring import score_dedup

SCRIPT = Path(__file__).resolve().parents[1] / "image_processing_deduplication.py"
PASSES = ("coarse:strips=3:shots_per_strip=4", "dense:strips=4:shots_per_strip=6")
OPTIONS = dict(pairing="all", verify=True, workers=1, progress=False, html_report=False)


def _survey(folder: Path, shuffle: bool):
    walls = [procedural_concrete(640, 520, seed=s) for s in (21, 22)]
    return simulate_survey(walls, folder, passes=PASSES, distractors=2, shuffle_names=shuffle,
                           shot_size=(256, 205), seed=5)


@pytest.fixture(scope="module")
def surveys(tmp_path_factory):
    root = tmp_path_factory.mktemp("surveys")
    return {shuffle: _survey(root / ("shuffled" if shuffle else "ordered"), shuffle)
            for shuffle in (False, True)}


def _run(images: Path, out: Path, cache: Path | None = None):
    return deduplicate_folder(images, ClassicalEncoder(["phash"], 8), out, cache_dir=cache,
                              **OPTIONS)


def _shot_ids(ground_truth: dict) -> dict[str, tuple]:
    return {s["file"]: (s["wall"], s["pass"], s["index"]) for s in ground_truth["shots"]}


def _duplicate_pairs(out: Path, ids: dict[str, tuple] | None = None) -> set:
    with (out / "phash64" / "pairs.csv").open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["duplicate"] == "1"]
    name = (lambda p: ids[p]) if ids else (lambda p: p)
    return {frozenset((name(r["path_a"]), name(r["path_b"]))) for r in rows}


def _contract(out: Path) -> dict[str, str]:
    return {f: (out / "phash64" / f).read_text(encoding="utf-8")
            for f in ("pairs.csv", "keep.txt", "remove.txt")}


def test_shuffled_names_give_the_same_duplicate_pairs(surveys, tmp_path):
    found = {}
    for shuffle, survey in surveys.items():
        out = tmp_path / str(shuffle)
        _run(survey.images_dir, out)
        found[shuffle] = _duplicate_pairs(out, _shot_ids(survey.ground_truth))
        score = score_dedup(out, survey.ground_truth_path)["phash64"]
        assert score["f1_all"] >= 0.9, score
        assert score["n_distractors_removed"] == 0
        summary = json.loads((out / "phash64" / "summary.json").read_text())
        assert summary["candidate_sources"] == ["features"]
        assert summary["n_candidate_pairs"] == summary["n_verified"] > 0
    assert found[False] == found[True] and len(found[True]) > 20


def test_incremental_run_equals_from_scratch_and_verifies_only_new_pairs(surveys, tmp_path):
    source = surveys[True].images_dir
    images = tmp_path / "images"
    shutil.copytree(source, images)
    later = sorted(images.iterdir())[::3]
    held = tmp_path / "held_back"
    held.mkdir()
    for path in later:
        path.rename(held / path.name)
    cache, out = tmp_path / "cache", tmp_path / "out"
    first = _run(images, out, cache)
    assert first.outcomes["phash64"].summary["n_new_images"] == len(list(images.iterdir()))
    for path in later:
        (held / path.name).rename(images / path.name)
    second = _run(images, out, cache)
    summary = second.outcomes["phash64"].summary
    assert summary["n_new_images"] == len(later) and summary["n_cached"] > 0
    new_names = {p.name for p in later}
    with (out / "phash64" / "pairs.csv").open(encoding="utf-8", newline="") as fh:
        involving_new = sum(1 for r in csv.DictReader(fh)
                            if {r["path_a"], r["path_b"]} & new_names)
    # New verifications: pairs with a new image, and old pairs that a new image's
    # verified homographies imply for the first time (never more).
    assert 0 < summary["n_verified_now"] <= involving_new + summary["n_implied"]
    scratch = tmp_path / "scratch"
    _run(images, scratch)
    assert _contract(out) == _contract(scratch)


def test_deleted_images_leave_the_state_and_the_result_equals_from_scratch(surveys, tmp_path):
    images = tmp_path / "images"
    shutil.copytree(surveys[False].images_dir, images)
    cache, out = tmp_path / "cache", tmp_path / "out"
    _run(images, out, cache)
    for path in sorted(images.iterdir())[1::4]:
        path.unlink()
    again = _run(images, out, cache)
    assert again.outcomes["phash64"].summary["n_new_images"] == 0
    _run(images, tmp_path / "scratch")
    assert _contract(out) == _contract(tmp_path / "scratch")


def _state_run(images: Path, cache: Path, out: Path) -> tuple[dict, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _run(images, out, cache)
    messages = [str(w.message) for w in caught if issubclass(w.category, SurveyStateWarning)]
    return _contract(out), messages


def _edit_arrays(state: Path, edit, recompute_checksum: bool) -> None:
    with np.load(state, allow_pickle=False) as stored:
        arrays = dict(stored)
    edit(arrays)
    meta = json.loads(bytes(arrays["meta"]).decode())
    if recompute_checksum:  # an edit made with this tool's own digest: only the checks remain
        meta["sha256"] = state_module._content_digest(arrays)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with state.open("wb") as fh:
        np.savez(fh, **arrays)


# Issue 24 case 3: well-formed but inconsistent states once gave rc 2 on every run
# (homography (n, 2, 2)) or silently lost pairs (shortened key_sizes / votes).
_EDITS = {
    "homography_2x2": lambda a: a.update(homography=a["homography"][:, :2, :2].copy()),
    "short_key_sizes": lambda a: a.update(key_sizes=a["key_sizes"][:-3].copy()),
    "short_votes": lambda a: a.update(votes=a["votes"][:-5].copy()),
    "vote_id_out_of_range": lambda a: a.update(vote_a=a["vote_a"] + 10_000),
    "flipped_vote": lambda a: a.update(votes=a["votes"] + 1),
}


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "other_version",
                                    "npy_header",
                                    *(f"{edit}+{how}" for edit in _EDITS
                                      for how in ("stale_checksum", "recomputed_checksum")
                                      if not (edit == "flipped_vote"
                                              and how == "recomputed_checksum"))])
def test_a_damaged_state_is_rebuilt_with_a_warning(surveys, tmp_path, damage):
    images = surveys[False].images_dir
    cache = tmp_path / "cache"
    reference, messages = _state_run(images, cache, tmp_path / "ref")
    assert not messages
    state = cache / STATE_FILENAME
    data = state.read_bytes()
    if damage == "truncated":
        state.write_bytes(data[:len(data) // 2])
    elif damage == "garbage":
        state.write_bytes(os.urandom(len(data)))
    elif damage == "empty":
        state.write_bytes(b"")
    elif damage == "npy_header":
        # Found by benchmarks/fuzz_readers.py: numpy's header parser raised
        # tokenize.TokenError, which nothing caught.
        import io
        import zipfile
        member = io.BytesIO()
        np.save(member, np.zeros(3, np.uint8))
        with zipfile.ZipFile(state, "w") as archive:
            archive.writestr("meta.npy", member.getvalue().replace(b"(3,)", b"(3, "))
    elif "+" in damage:
        edit, how = damage.split("+")
        _edit_arrays(state, _EDITS[edit], how == "recomputed_checksum")
    else:
        with np.load(state, allow_pickle=False) as stored:
            arrays = dict(stored)
        meta = json.loads(bytes(arrays["meta"]).decode())
        meta["version"] = 99
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        with state.open("wb") as fh:
            np.savez(fh, **arrays)
    result, messages = _state_run(images, cache, tmp_path / "again")
    assert result == reference
    assert len(messages) == 1 and "rebuilding" in messages[0]
    _, messages = _state_run(images, cache, tmp_path / "third")
    assert not messages  # rebuilt and saved


def test_a_state_held_by_another_run_is_left_alone(surveys, tmp_path):
    images = surveys[False].images_dir
    cache = tmp_path / "cache"
    reference, _ = _state_run(images, cache, tmp_path / "ref")
    before = (cache / STATE_FILENAME).read_bytes()
    lock = os.open(cache / f"{STATE_FILENAME}.lock", os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result, messages = _state_run(images, cache, tmp_path / "concurrent")
    finally:
        os.close(lock)
    assert result == reference
    assert len(messages) == 1 and "in use by another run" in messages[0]
    assert (cache / STATE_FILENAME).read_bytes() == before


def test_a_state_file_that_would_unpickle_is_never_executed(surveys, tmp_path):
    images = surveys[False].images_dir
    cache = tmp_path / "cache"
    cache.mkdir()
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    with (cache / STATE_FILENAME).open("wb") as fh:
        np.save(fh, np.array([Payload()], dtype=object), allow_pickle=True)
    reference = _contract(_run(images, tmp_path / "ref").out)
    result, messages = _state_run(images, cache, tmp_path / "out")
    assert not marker.exists()
    assert result == reference and len(messages) == 1


def test_a_run_killed_while_saving_the_state_leaves_the_previous_one(surveys, tmp_path,
                                                                   monkeypatch):
    images = surveys[False].images_dir
    cache = tmp_path / "cache"
    reference, _ = _state_run(images, cache, tmp_path / "ref")
    before = (cache / STATE_FILENAME).read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies between writing and renaming

    monkeypatch.setattr(state_module.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        _run(images, tmp_path / "killed", cache)
    monkeypatch.undo()
    assert (cache / STATE_FILENAME).read_bytes() == before
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]
    result, messages = _state_run(images, cache, tmp_path / "rerun")
    assert result == reference and not messages


@pytest.mark.parametrize("case", ["one_image", "blank_walls", "bad_files"])
def test_retrieval_handles_degenerate_folders_from_the_command_line(tmp_path, case, tree_digest,
                                                                    distinct_crops):
    folder = tmp_path / "photos"
    folder.mkdir()
    if case == "one_image":
        distinct_crops[0].resize((256, 256)).save(folder / "only.jpg")
    elif case == "blank_walls":
        for k in range(4):
            Image.new("RGB", (320, 256), (120 + 10 * k,) * 3).save(folder / f"blank_{k}.png")
    else:
        for k in range(3):
            distinct_crops[k].resize((256, 256)).save(folder / f"shot_{k}.jpg")
        (folder / "empty.jpg").write_bytes(b"")
        (folder / "text.jpg").write_text("not an image")
        data = (folder / "shot_0.jpg").read_bytes()
        (folder / "truncated.jpg").write_bytes(data[:len(data) // 3])
    before = tree_digest(folder)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(SCRIPT), folder, "--methods", "phash",
                           "--pairing", "all", "--verify", "--out", out, "--no-progress",
                           "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert tree_digest(folder) == before
    summary = json.loads((out / "phash64" / "summary.json").read_text())
    if case == "bad_files":
        assert summary["n_unreadable"] == 3 and "empty file" in proc.stderr
    else:
        assert summary["n_removed"] == 0 and summary["n_unreadable"] == 0
