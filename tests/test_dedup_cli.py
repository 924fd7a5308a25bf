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
    (["{folder}", "--keep-mode", "coverage"], "needs --verify"),
    (["{folder}", "--min-coverage", "0.5"], "--keep-mode coverage"),
    (["{folder}", "--verify", "--min-coverage", "0"], "--min-coverage"),
    (["{folder}", "--copy-unique-to", "{tmp}/u"], "--act-on"),
    (["{folder}", "--methods", "phash", "--copy-unique-to", "{folder}/unique"],
     "inside the input folder"),
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

    status = _load_main()(["--undo", str(manifest_path)])
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
