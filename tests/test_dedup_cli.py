"""image_processing_deduplication.py as a user runs it (subprocesses)."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmselfsup_ext.dedup.actions import move_duplicates

SCRIPT = Path(__file__).resolve().parents[1] / "image_processing_deduplication.py"


# Ends only a hung subprocess, loudly (TimeoutExpired). Not a speed limit: on 2
# shared cores under load the slowest run here took a fraction of it.
_HANG_GUARD_S = 900


def _cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=_HANG_GUARD_S, env=env)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, distinct_crops) -> Path:
    root = tmp_path_factory.mktemp("cli") / "photos"
    root.mkdir()
    for n in range(6):
        distinct_crops[n].save(root / f"shot_h00_{n:02d}.jpg")
    shutil.copy2(root / "shot_h00_02.jpg", root / "shot_h00_02b.jpg")
    (root / "broken.jpg").write_text("not an image")
    return root


def _assert_usage_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert fragment in lines[0]


# Arguments with placeholders: {folder} (6 photos + a broken file), {tmp} (a fresh
# folder per case), {empty} (an existing folder without images).
BAD_ARGUMENTS = [
    (["{tmp}/missing"], "does not exist"),
    (["{empty}", "--out", "{tmp}/o"], "no images"),
    (["{folder}", "--group-by", "_h(\\d+", "--out", "{tmp}/o"], "group-by"),
    (["{folder}", "--threshold", "-3"], "--threshold"),
    (["{folder}", "--threshold", "half"], "--threshold"),
    (["{folder}", "--window", "0"], "--window"),
    (["{folder}", "--pairing", "nearby"], "--pairing"),
    (["{folder}", "--methods", "md5"], "--methods"),
    (["{folder}", "--hash-size", "6", "--methods", "whash"], "power-of-two"),
    (["{folder}", "--otsu-on", "pairs"], "--pairing all"),
    (["{folder}", "--candidates", "codes"], "only with --verify"),
    (["{folder}", "--max-features", "500"], "only with --verify"),
    (["{folder}", "--verify", "--candidates", "both"], "--pairing all"),
    (["{folder}", "--verify", "--pairing", "all", "--verify-knn", "2"], "--candidates codes"),
    (["{folder}", "--keep-mode", "surface"], "needs --verify"),
    (["{folder}", "--min-coverage", "0.5"], "--keep-mode surface"),
    (["{folder}", "--verify", "--min-coverage", "0"], "--min-coverage"),
    (["{folder}", "--copy-unique-to", "{tmp}/u"], "--act-on"),
    (["{folder}", "--methods", "phash", "--copy-unique-to", "{folder}/unique"],
     "inside the input folder"),
    # Issue 24 case 5: an output inside the input would be read as photos next run.
    (["{folder}", "--out", "{folder}/reports"], "lies inside the input folder"),
    (["--undo", "{tmp}/m.json", "--restore-to", "{tmp}/missing"], "does not exist"),
    (["{folder}", "--restore-to", "{tmp}"], "--restore-to goes with --undo"),
    (["{folder}", "--out", "{folder}"], "input folder itself"),
    (["--undo", "{tmp}/no_manifest.json"], "does not exist"),
    (["{folder}", "--undo", "{tmp}/m.json"], "--undo runs alone"),
    ([], "IMAGE_DIR is required"),
]


@pytest.mark.parametrize("args, fragment", BAD_ARGUMENTS,
                         ids=[fragment for _, fragment in BAD_ARGUMENTS])
def test_bad_arguments_give_one_line_errors(folder, tmp_path, args, fragment):
    empty = tmp_path / "empty"
    empty.mkdir()
    filled = [a.format(folder=folder, tmp=tmp_path, empty=empty) for a in args]
    _assert_usage_error(_cli(*filled), fragment)
    assert not (folder / "unique").exists()


def test_script_prints_table_and_report_and_acts(folder, tmp_path):
    out = tmp_path / "out"
    proc = _cli(folder, "--methods", "dhash", "phash", "--pairing", "window", "--window",
                "2", "--out", out, "--workers", "2", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["tag", "threshold", "dup", "pairs", "groups", "removed",
                                "dedup", "rate", "encode", "s"]
    rows = {line.split()[0]: line.split() for line in lines[2:4]}
    for tag in ("dhash64", "phash64"):
        summary = json.loads((out / tag / "summary.json").read_text())
        assert rows[tag][1:5] == [str(summary["threshold"]), str(summary["n_duplicate_pairs"]),
                                  str(summary["n_groups"]),
                                  f"{summary['n_removed']}/{summary['n_images']}"]
        assert summary["n_removed"] == 1 and summary["n_unreadable"] == 1
    assert f"report: {out / 'report.html'}" in proc.stdout
    assert (out / "report.html").is_file()
    assert "broken.jpg: not a recognised image format" in proc.stderr

    dups = tmp_path / "dups"
    moved = _cli(folder, "--methods", "phash", "--out", tmp_path / "out2", "--window", "2",
                 "--no-progress", "--workers", "1", "--move-duplicates-to", dups)
    assert moved.returncode == 0, moved.stderr
    assert not (folder / "shot_h00_02b.jpg").exists()
    assert (dups / "shot_h00_02b.jpg").is_file() and (dups / "manifest.json").is_file()
    undone = _cli("--undo", dups / "manifest.json")
    assert undone.returncode == 0, undone.stderr
    assert "restored 1 files" in undone.stdout
    assert (folder / "shot_h00_02b.jpg").read_bytes() == (folder / "shot_h00_02.jpg").read_bytes()


def test_help_and_executable_bit():
    proc = _cli("--help")
    assert proc.returncode == 0 and "--move-duplicates-to" in proc.stdout
    assert os.access(SCRIPT, os.X_OK)
    assert SCRIPT.read_text().startswith("#!/usr/bin/env python3")


# ------------------------------------------- edited move manifests (issue 13 item 4)
def _load_main():
    spec = importlib.util.spec_from_file_location("image_processing_deduplication", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _to_outside_absolute(entry: dict, photos: Path, outside: Path) -> None:
    entry["source"] = str(outside / "a.jpg")


def _to_outside_dotdot(entry: dict, photos: Path, outside: Path) -> None:
    entry["source"] = f"{photos}/../{outside.name}/a.jpg"


def _to_outside_via_symlink(entry: dict, photos: Path, outside: Path) -> None:
    # Lexically inside the source folder; a link planted there after the move leads out.
    (photos / "link").symlink_to(outside, target_is_directory=True)
    entry["source"] = str(photos / "link" / "a.jpg")


def _from_outside(entry: dict, photos: Path, outside: Path) -> None:
    # An unrelated file with the moved file's bytes: "restoring" it would remove it there.
    shutil.copy2(Path(entry["destination"]), outside / "a.jpg")
    entry["destination"] = str(outside / "a.jpg")


@pytest.mark.parametrize("tamper", [_to_outside_absolute, _to_outside_dotdot,
                                    _to_outside_via_symlink, _from_outside])
def test_undo_of_an_edited_manifest_never_touches_files_outside(tmp_path, capsys, tree_digest,
                                                                tamper):
    photos, dups, outside = tmp_path / "photos", tmp_path / "dups", tmp_path / "outside"
    (photos / "sub").mkdir(parents=True)
    (photos / "a.jpg").write_bytes(b"bytes of a")
    (photos / "sub" / "b.jpg").write_bytes(b"bytes of b")
    outside.mkdir()
    (outside / "notes.txt").write_text("someone else's folder")
    assert move_duplicates(photos, ["a.jpg", "sub/b.jpg"], dups).ok
    manifest_path = dups / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    (entry_a,) = [e for e in manifest["files"] if e["source"].endswith("a.jpg")]
    tamper(entry_a, photos, outside)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    outside_before = tree_digest(outside)

    # Edited, the manifest no longer verifies: undo needs the folder confirmed, and
    # within it each entry is still bounded.
    status = _load_main()(["--undo", str(manifest_path), "--restore-to", str(photos)])
    captured = capsys.readouterr()
    assert status == 1, captured.err  # a conflict, reported
    assert tree_digest(outside) == outside_before
    conflicts = [line for line in captured.err.splitlines() if "conflict" in line]
    assert len(conflicts) == 1 and entry_a["source"] in conflicts[0] and "outside" in conflicts[0]
    # The tampered entry's file stays where the move put it; the honest entry is restored.
    assert (dups / "a.jpg").read_bytes() == b"bytes of a" and not (photos / "a.jpg").exists()
    assert (photos / "sub" / "b.jpg").read_bytes() == b"bytes of b"
    assert "restored 1 files" in captured.out


def test_undo_needs_the_manifests_source_folder(tmp_path, capsys):
    # Without source_root nothing bounds where entries may restore to: refuse the manifest.
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"bytes of a")
    report = move_duplicates(tmp_path / "photos", ["a.jpg"], tmp_path / "dups")
    manifest = json.loads(report.manifest.read_text(encoding="utf-8"))
    del manifest["source_root"]
    report.manifest.write_text(json.dumps(manifest), encoding="utf-8")
    assert _load_main()(["--undo", str(report.manifest)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "does not name the folder" in err and err.count("\n") == 1
    assert not (tmp_path / "photos" / "a.jpg").exists()


def _two_photo_move(tmp_path: Path) -> tuple[Path, Path, Path]:
    photos, dups, elsewhere = tmp_path / "photos", tmp_path / "dups", tmp_path / "elsewhere"
    photos.mkdir()
    elsewhere.mkdir()
    (photos / "a.jpg").write_bytes(b"bytes of a")
    (photos / "b.jpg").write_bytes(b"bytes of b")
    assert move_duplicates(photos, ["a.jpg", "b.jpg"], dups).ok
    return photos, dups, elsewhere


def test_undo_of_a_manifest_steered_to_another_folder_writes_nothing(tmp_path, capsys,
                                                                     tree_digest):
    # Issue 24 case 2: source_root and an entry's source both moved to another folder
    # passed every per-entry bound; the signature now refuses the edited manifest whole.
    photos, dups, elsewhere = _two_photo_move(tmp_path)
    path = dups / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["source_root"] = str(elsewhere)
    manifest["files"][0]["source"] = str(elsewhere / "new" / "planted.jpg")
    path.write_text(json.dumps(manifest), encoding="utf-8")
    before = tree_digest(tmp_path)
    assert _load_main()(["--undo", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--restore-to" in err and err.count("\n") == 1
    assert tree_digest(tmp_path) == before and not (elsewhere / "new").exists()
    # Confirming the real folder restores only what lies inside it.
    assert _load_main()(["--undo", str(path), "--restore-to", str(photos)]) == 1
    assert (photos / "b.jpg").read_bytes() == b"bytes of b"
    assert not (elsewhere / "new").exists() and (dups / "a.jpg").is_file()


def test_an_unedited_manifest_needs_no_confirmation_but_another_key_does(tmp_path, capsys,
                                                                       monkeypatch):
    photos, dups, _ = _two_photo_move(tmp_path)
    manifest = json.loads((dups / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["mac"]) == 64
    # Another user (another key) cannot undo it unconfirmed; the owner can.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "other-user"))
    assert _load_main()(["--undo", str(dups / "manifest.json")]) == 2
    assert "not signed by this user's key" in capsys.readouterr().err
    monkeypatch.undo()
    assert _load_main()(["--undo", str(dups / "manifest.json")]) == 0
    assert sorted(p.name for p in photos.iterdir()) == ["a.jpg", "b.jpg"]


@pytest.mark.parametrize("edit", [
    lambda m: m["files"][0].update(size="10"),
    lambda m: m["files"][0].update(sha256="0" * 63),
    lambda m: m["files"][0].update(source="relative/a.jpg"),
    lambda m: m["files"].append(dict(m["files"][1])),
    lambda m: m["files"][0].pop("destination"),
])
def test_a_malformed_manifest_entry_refuses_the_whole_manifest(tmp_path, capsys, edit):
    photos, dups, _ = _two_photo_move(tmp_path)
    path = dups / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    edit(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert _load_main()(["--undo", str(path), "--restore-to", str(photos)]) == 2
    err = capsys.readouterr().err
    assert "malformed 'files' list" in err and err.count("\n") == 1
    assert not any(photos.iterdir())


def test_symlinks_moved_then_undone_round_trip(tmp_path, tree_digest, distinct_crops):
    # Issue 24 case 4: a link is deduplicated as the image it shows; the move takes the
    # link (never its target) and undo puts the same link text back.
    photos, dups, elsewhere = tmp_path / "photos", tmp_path / "dups", tmp_path / "elsewhere"
    photos.mkdir()
    elsewhere.mkdir()
    distinct_crops[0].save(photos / "a.jpg")
    distinct_crops[1].save(photos / "b.jpg")
    shutil.copy2(photos / "b.jpg", elsewhere / "b_original.jpg")
    (photos / "a_relative_link.jpg").symlink_to("a.jpg")
    (photos / "b_outside_link.jpg").symlink_to(elsewhere / "b_original.jpg")
    links = {p.name: os.readlink(p) for p in photos.iterdir() if p.is_symlink()}
    before, outside = tree_digest(photos), tree_digest(elsewhere)
    out = tmp_path / "out"
    moved = _cli(photos, "--methods", "phash", "--pairing", "all", "--out", out,
                 "--keep", "first", "--move-duplicates-to", dups, "--no-progress")
    assert moved.returncode == 0, moved.stderr
    remove = (out / "phash64" / "remove.txt").read_text().split()
    assert sorted(remove) == ["a_relative_link.jpg", "b_outside_link.jpg"]
    assert all((dups / name).is_symlink() and (dups / name).is_file() for name in remove)
    assert tree_digest(elsewhere) == outside
    undone = _cli("--undo", dups / "manifest.json")
    assert undone.returncode == 0, undone.stderr
    assert "restored 2 files" in undone.stdout
    assert {p.name: os.readlink(p) for p in photos.iterdir() if p.is_symlink()} == links
    assert tree_digest(photos) == before and tree_digest(elsewhere) == outside
    assert not any(p.is_symlink() for p in dups.iterdir())
