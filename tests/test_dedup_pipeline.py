"""End to end: a folder of real-texture crops with planted duplicates and bad files
-> the docs/design.md §5 output contract; actions never lose or alter a source file."""
from __future__ import annotations

import builtins
import csv
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmselfsup_ext.fileio import loading
from mmselfsup_ext.dedup.actions import copy_unique, move_duplicates, undo_move
from mmselfsup_ext.dedup.encoders import ClassicalEncoder, Encoder
from mmselfsup_ext.dedup import deduplicate_folder
from mmselfsup_ext.hashing import CLASSICAL_METHODS, classical_hash, codes_to_hex

SUMMARY_KEYS = ["method", "bits", "pairing", "threshold", "histogram", "n_images",
                "n_unreadable", "unreadable", "n_duplicate_pairs", "n_groups", "n_removed",
                "dedup_rate", "timings"]


@pytest.fixture
def photo_folder(tmp_path, distinct_crops, write_images) -> Path:
    """10 distinct shots, two planted exact copies, nested and unicode names."""
    root = tmp_path / "photos"
    write_images(root, {f"shot_{n:02d}.jpg": distinct_crops[n] for n in range(8)})
    write_images(root, {"strip2/shot_08.jpg": distinct_crops[8],
                        "strip2/ひび割れ_09.png": distinct_crops[9]})
    shutil.copy2(root / "shot_03.jpg", root / "shot_03b.jpg")
    shutil.copy2(root / "strip2/shot_08.jpg", root / "strip2/shot_08b.jpg")
    return root


def _read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_contract_files_and_planted_duplicates(photo_folder, tmp_path, tree_digest):
    before = tree_digest(photo_folder)
    out = tmp_path / "out"
    encoder = ClassicalEncoder(hash_size=8)
    assert isinstance(encoder, Encoder)
    run = deduplicate_folder(photo_folder, encoder, out, pairing="window", window=2,
                             workers=2, progress=False)
    assert tree_digest(photo_folder) == before

    header, rows = _read_csv(out / "summary.csv")
    assert header == ["tag", "method", "bits", "pairing", "threshold", "n_images",
                      "n_unreadable", "n_duplicate_pairs", "n_groups", "n_removed",
                      "dedup_rate", "encode_s", "search_s"]
    assert [r["tag"] for r in rows] == ["ahash64", "dhash64", "phash64", "whash64"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 4 and "data:image/jpeg;base64," in html

    files = sorted(p.relative_to(photo_folder).as_posix() for p in photo_folder.rglob("*.*"))
    for method, row in zip(CLASSICAL_METHODS, rows):
        tag_dir = out / f"{method}64"
        header, codes = _read_csv(tag_dir / "codes.csv")
        assert header == ["path", "code_hex"]
        assert sorted(r["path"] for r in codes) == files
        # Independent re-hash of every file at full resolution, for the exact copies.
        code = {r["path"]: r["code_hex"] for r in codes}
        assert code["shot_03.jpg"] == code["shot_03b.jpg"]
        assert code["strip2/shot_08.jpg"] == code["strip2/shot_08b.jpg"]
        header, pairs = _read_csv(tag_dir / "pairs.csv")
        assert header == ["path_a", "path_b", "distance", "duplicate"]
        for p in pairs:
            xor = int(code[p["path_a"]], 16) ^ int(code[p["path_b"]], 16)
            assert int(p["distance"]) == bin(xor).count("1")
            assert p["duplicate"] in ("0", "1")
        summary = json.loads((tag_dir / "summary.json").read_text(encoding="utf-8"))
        assert list(summary)[:len(SUMMARY_KEYS)] == SUMMARY_KEYS
        t = summary["threshold"]
        assert all((int(p["distance"]) <= t) == (p["duplicate"] == "1") for p in pairs)
        dup = {(p["path_a"], p["path_b"]) for p in pairs if p["duplicate"] == "1"}
        assert dup == {("shot_03.jpg", "shot_03b.jpg"),
                       ("strip2/shot_08.jpg", "strip2/shot_08b.jpg")}
        assert _lines(tag_dir / "remove.txt") == ["shot_03b.jpg", "strip2/shot_08b.jpg"]
        assert sorted(_lines(tag_dir / "keep.txt")) == sorted(
            set(files) - {"shot_03b.jpg", "strip2/shot_08b.jpg"})
        assert summary["n_images"] == 12 and summary["n_unreadable"] == 0
        assert summary["n_duplicate_pairs"] == 2 and summary["n_groups"] == 2
        assert summary["n_removed"] == 2 and summary["dedup_rate"] == pytest.approx(2 / 12)
        assert summary["bits"] == 64 and summary["method"] == method
        assert len(summary["histogram"]) == 65 and set(summary["timings"]) >= {
            "encode_s", "search_s"}
        assert row["threshold"] == str(t) and row["n_removed"] == "2"
    assert run.outcomes["phash64"].remove_paths == ["shot_03b.jpg", "strip2/shot_08b.jpg"]


def test_codes_equal_a_direct_hash_of_each_file(photo_folder, tmp_path):
    encoder = ClassicalEncoder(["phash", "dhash"], 8)
    # pHash works on 32 px, so JPEGs may be decoded at 1/2 scale (64 -> 32 px).
    assert encoder.min_size == 32
    run = deduplicate_folder(photo_folder, encoder, tmp_path / "o", pairing="adjacent",
                             workers=2, progress=False, html_report=False)
    assert [p.relative_to(photo_folder).as_posix() for p in run.encoded.ok_paths] == [
        "shot_00.jpg", "shot_01.jpg", "shot_02.jpg", "shot_03.jpg", "shot_03b.jpg",
        "shot_04.jpg", "shot_05.jpg", "shot_06.jpg", "shot_07.jpg", "strip2/shot_08.jpg",
        "strip2/shot_08b.jpg", "strip2/ひび割れ_09.png"]
    for k, path in enumerate(run.encoded.ok_paths):
        img = Image.open(path)
        if img.format == "JPEG":
            img.draft("RGB", (32, 32))
        img = img.convert("RGB")
        for method in ("phash", "dhash"):
            expected = codes_to_hex(classical_hash(img, method)[None])[0]
            assert codes_to_hex(run.encoded.codes[f"{method}64"][k:k + 1])[0] == expected


def _bad_inputs(root: Path, crops: list[Image.Image]) -> dict[str, str]:
    """Write the issue's bad-input matrix; return {unreadable path: reason fragment}."""
    root.mkdir(parents=True, exist_ok=True)
    crops[0].save(root / "a_ok.jpg")
    (root / "b_empty.jpg").write_bytes(b"")
    buf = io.BytesIO()
    crops[1].resize((256, 256)).save(buf, format="JPEG")
    (root / "c_truncated.jpg").write_bytes(buf.getvalue()[:2000])
    (root / "d_text.jpg").write_text("not an image")
    deep = (np.asarray(crops[2].convert("L"), dtype=np.uint16) * 257)
    Image.fromarray(deep).save(root / "e_16bit.png")
    crops[3].convert("CMYK").save(root / "f_cmyk.jpg")
    rgba = crops[4].convert("RGBA")
    rgba.putalpha(200)
    rgba.save(root / "g_rgba.png")
    upright = crops[5]
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.save(root / "h_upright.png")
    upright.transpose(Image.Transpose.ROTATE_90).save(root / "i_rotated.png",
                                                      exif=exif.tobytes())
    crops[6].save(root / "j_ひび割れ.jpg")
    (root / "k" / "l" / "m").mkdir(parents=True)
    crops[7].save(root / "k" / "l" / "m" / "n_nested.jpg")
    os.symlink(root / "k", root / "k" / "l" / "loop")
    (root / "o_dir.jpg").mkdir()
    os.mkfifo(root / "p_pipe.jpg")
    crops[8].save(root / "q_locked.jpg")
    return {"b_empty.jpg": "empty", "c_truncated.jpg": "truncated",
            "d_text.jpg": "not a recognised image", "p_pipe.jpg": "not a regular file",
            "q_locked.jpg": "permission denied"}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symlinks")
def test_bad_input_matrix_is_reported_and_run_finishes(tmp_path, distinct_crops,
                                                       tree_digest, monkeypatch):
    root = tmp_path / "bad"
    expected = _bad_inputs(root, distinct_crops)
    locked = root / "q_locked.jpg"

    # Running as root ignores chmod 000, so "permission denied" is emulated at the
    # loader's open() (the error a normal user gets); workers=1 keeps it in-process.
    def open_or_deny(file, *args, **kwargs):
        if Path(file) == locked:
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(loading, "open", open_or_deny, raising=False)
    before = tree_digest(root)
    out = tmp_path / "out"
    run = deduplicate_folder(root, ClassicalEncoder(), out, pairing="all", workers=1,
                             progress=False)
    assert tree_digest(root) == before
    for tag in run.outcomes:
        summary = json.loads((out / tag / "summary.json").read_text(encoding="utf-8"))
        reasons = {u["path"]: u["reason"] for u in summary["unreadable"]}
        assert set(reasons) == set(expected)
        for path, fragment in expected.items():
            assert fragment in reasons[path]
        assert summary["n_unreadable"] == len(expected)
        _, codes = _read_csv(out / tag / "codes.csv")
        code = {r["path"]: r["code_hex"] for r in codes}
        assert set(code) == {"a_ok.jpg", "e_16bit.png", "f_cmyk.jpg", "g_rgba.png",
                             "h_upright.png", "i_rotated.png", "j_ひび割れ.jpg",
                             "k/l/m/n_nested.jpg"}
        assert code["i_rotated.png"] == code["h_upright.png"]
        assert summary["n_images"] == len(code) + len(expected)
        # The EXIF-rotated file is found as a duplicate of its upright twin.
        assert _lines(out / tag / "remove.txt") == ["i_rotated.png"]


def test_report_caps_groups_and_marks_kept(photo_folder, tmp_path, monkeypatch):
    from mmselfsup_ext.dedup import report

    monkeypatch.setattr(report, "MAX_GROUPS", 1)
    run = deduplicate_folder(photo_folder, ClassicalEncoder(["ahash"]), tmp_path / "o",
                             pairing="window", window=2, progress=False)
    html = run.report_path.read_text(encoding="utf-8")
    assert html.count('<figure class="kept">') == 1
    assert "<b>kept</b> shot_03.jpg" in html and "removed shot_03b.jpg" in html
    assert "1 more duplicate groups not shown" in html


def _run(root: Path, out: Path):
    return deduplicate_folder(root, ClassicalEncoder(["dhash"], 8), out, pairing="window",
                              window=2, workers=1, progress=False, html_report=False)


def test_copy_unique_leaves_source_identical_and_never_overwrites(photo_folder, tmp_path,
                                                                  tree_digest):
    before = tree_digest(photo_folder)
    run = _run(photo_folder, tmp_path / "out")
    keep = run.outcomes["dhash64"].keep_paths
    dest = tmp_path / "unique"
    report = copy_unique(photo_folder, keep, dest)
    assert report.ok and len(report.done) == len(keep) == 10
    assert tree_digest(photo_folder) == before
    copied = tree_digest(dest)
    assert {k: v for k, v in copied.items() if v != "dir"} == {k: before[k] for k in keep}
    again = copy_unique(photo_folder, keep, dest)
    assert not again.done and len(again.skipped) == 10 and again.ok
    (dest / keep[0]).write_bytes(b"someone else's file")
    clash = copy_unique(photo_folder, keep, dest)
    assert [c[0] for c in clash.conflicts] == [keep[0]]
    assert (dest / keep[0]).read_bytes() == b"someone else's file"
    with pytest.raises(ValueError, match="inside the input folder"):
        copy_unique(photo_folder, keep, photo_folder / "sub")


def test_move_then_undo_restores_every_file(photo_folder, tmp_path, tree_digest):
    before = tree_digest(photo_folder)
    run = _run(photo_folder, tmp_path / "out")
    remove = run.outcomes["dhash64"].remove_paths
    assert remove == ["shot_03b.jpg", "strip2/shot_08b.jpg"]
    dest = tmp_path / "dups"
    report = move_duplicates(photo_folder, remove, dest)
    assert report.ok and report.manifest == dest / "manifest.json"
    after = tree_digest(photo_folder)
    assert set(before) - set(after) == set(remove)
    assert all(after[k] == before[k] for k in after)
    manifest = json.loads(report.manifest.read_text(encoding="utf-8"))
    assert [Path(e["source"]).relative_to(photo_folder).as_posix()
            for e in manifest["files"]] == remove
    for entry in manifest["files"]:
        assert set(entry) >= {"source", "destination", "size", "sha256"}
        rel = Path(entry["source"]).relative_to(photo_folder).as_posix()
        assert entry["sha256"] == before[rel]
        assert Path(entry["destination"]) == dest / rel
    undo = undo_move(report.manifest)
    assert undo.ok and len(undo.done) == 2
    assert tree_digest(photo_folder) == before
    assert undo_move(report.manifest).skipped and tree_digest(photo_folder) == before


def test_undo_refuses_to_overwrite_and_checks_hashes(photo_folder, tmp_path, tree_digest):
    run = _run(photo_folder, tmp_path / "out")
    remove = run.outcomes["dhash64"].remove_paths
    report = move_duplicates(photo_folder, remove, tmp_path / "dups")
    (photo_folder / remove[0]).write_bytes(b"new photo taken meanwhile")
    (tmp_path / "dups" / remove[1]).write_bytes(b"edited after the move")
    undo = undo_move(report.manifest)
    assert not undo.done and len(undo.conflicts) == 2
    assert (photo_folder / remove[0]).read_bytes() == b"new photo taken meanwhile"
    assert not (photo_folder / remove[1]).exists()
    with pytest.raises(ValueError, match="does not exist"):
        undo_move(tmp_path / "nope.json")
    (tmp_path / "other.json").write_text('{"files": []}')
    with pytest.raises(ValueError, match="not a move manifest"):
        undo_move(tmp_path / "other.json")


def test_pipeline_rejects_bad_options_before_work(photo_folder, tmp_path):
    enc = ClassicalEncoder(["ahash"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        deduplicate_folder(tmp_path / "empty", enc, tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="group-by"):
        deduplicate_folder(photo_folder, enc, tmp_path / "o", group_by="(", progress=False)
    with pytest.raises(ValueError, match="input folder itself"):
        deduplicate_folder(photo_folder, enc, photo_folder, progress=False)
    with pytest.raises(ValueError, match="method"):
        ClassicalEncoder(["md5"])
