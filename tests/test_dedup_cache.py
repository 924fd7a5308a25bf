"""The encodings cache: incremental re-runs, crash safety, corruption recovery, CLI."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from mmselfsup_ext.dedup import ClassicalEncoder, EncodeResult
from mmselfsup_ext.dedup.cache import (CACHE_FILENAME, CachedEncodeResult, CachedEncoder,
                                       EncodingCacheWarning)

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "image_processing_deduplication.py"


class DigestEncoder:
    """Codes from the file bytes (SHA-256 prefixes), so the expected codes of any
    file are known independently of the cache. Files starting with ``bad`` (or
    missing) are unreadable. ``encoded`` records every path handed to it;
    ``before_path``, if given, is called with the number of paths handed so far
    before each new one (a test's hook into the middle of a chunk)."""

    tags = {"sha64": 64, "sha32": 32}

    def __init__(self, identity: str = "digest/v1", delay: float = 0.0,
                 before_path: Callable[[int], None] | None = None) -> None:
        self.identity = identity
        self.delay = delay
        self.before_path = before_path
        self.encoded: list[Path] = []

    def encode(self, paths: Sequence[Path], workers: int = 1,
               progress: bool = True) -> EncodeResult:
        rows64, rows32, ok, bad = [], [], [], []
        for path in paths:
            if self.before_path is not None:
                self.before_path(len(self.encoded))
            self.encoded.append(Path(path))
            time.sleep(self.delay)
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                bad.append((Path(path), f"cannot read: {exc.strerror}"))
                continue
            if data.startswith(b"bad"):
                bad.append((Path(path), "not an image"))
                continue
            digest = np.frombuffer(hashlib.sha256(data).digest(), np.uint8)
            rows64.append(digest[:8])
            rows32.append(digest[8:12])
            ok.append(Path(path))
        codes = {"sha64": np.array(rows64, np.uint8).reshape(-1, 8),
                 "sha32": np.array(rows32, np.uint8).reshape(-1, 4)}
        return EncodeResult(codes=codes, ok_paths=ok, unreadable=bad)


class Counting:
    """Pass-through encoder that records the paths it is asked to encode."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.tags = inner.tags
        self.identity = inner.identity
        self.encoded: list[Path] = []

    def encode(self, paths, workers=1, progress=True):
        self.encoded.extend(Path(p) for p in paths)
        return self.inner.encode(paths, workers=workers, progress=progress)


def _write_files(folder: Path, names: Sequence[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = folder / name
        path.write_bytes(f"image {name} ".encode() * 10)
        paths.append(path)
    return paths


def _assert_same(result: EncodeResult, expected: EncodeResult) -> None:
    assert result.ok_paths == expected.ok_paths
    assert result.unreadable == expected.unreadable
    assert result.codes.keys() == expected.codes.keys()
    for tag, codes in expected.codes.items():
        assert result.codes[tag].dtype == np.uint8
        np.testing.assert_array_equal(result.codes[tag], codes)


def _committed_rows(cache_dir: Path) -> int:
    conn = sqlite3.connect(cache_dir / CACHE_FILENAME)
    try:
        return conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    finally:
        conn.close()


def test_rerun_after_adding_ten_images_encodes_exactly_ten(tmp_path):
    paths = _write_files(tmp_path / "img", [f"a{n:02d}.jpg" for n in range(30)])
    counting = DigestEncoder()
    first = CachedEncoder(counting, tmp_path / "cache").encode(paths, progress=False)
    assert isinstance(first, CachedEncodeResult)
    assert first.n_cached == 0 and len(counting.encoded) == 30
    _assert_same(first, DigestEncoder().encode(paths))

    added = _write_files(tmp_path / "img", [f"b{n:02d}.jpg" for n in range(10)])
    everything = sorted(paths + added)
    counting.encoded.clear()
    second = CachedEncoder(counting, tmp_path / "cache").encode(everything, progress=False)
    assert sorted(counting.encoded) == sorted(added)
    assert second.n_cached == 30
    assert second.cache_path == tmp_path / "cache" / CACHE_FILENAME
    _assert_same(second, DigestEncoder().encode(everything))


def test_changed_mtime_or_size_reencodes_that_file_only(tmp_path):
    paths = _write_files(tmp_path / "img", [f"s{n}.jpg" for n in range(6)])
    counting = DigestEncoder()
    cached = CachedEncoder(counting, tmp_path / "cache", chunk_size=2)
    cached.encode(paths, progress=False)

    st = paths[1].stat()
    os.utime(paths[1], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with open(paths[4], "ab") as fh:
        fh.write(b"more bytes")
    counting.encoded.clear()
    result = cached.encode(paths, progress=False)
    assert sorted(counting.encoded) == [paths[1], paths[4]]
    assert result.n_cached == 4
    # The appended bytes change the digest: stale codes would fail here.
    _assert_same(result, DigestEncoder().encode(paths))


def test_other_encoder_identity_does_not_reuse_codes(tmp_path):
    paths = _write_files(tmp_path / "img", [f"i{n}.jpg" for n in range(5)])
    v1, v2 = DigestEncoder("digest/v1"), DigestEncoder("digest/v2")
    CachedEncoder(v1, tmp_path / "cache").encode(paths, progress=False)
    result = CachedEncoder(v2, tmp_path / "cache").encode(paths, progress=False)
    assert result.n_cached == 0 and v2.encoded == paths
    v1.encoded.clear()
    again = CachedEncoder(v1, tmp_path / "cache").encode(paths, progress=False)
    assert again.n_cached == 5 and v1.encoded == []


def test_unreadable_files_are_reported_and_retried(tmp_path):
    paths = _write_files(tmp_path / "img", [f"u{n}.jpg" for n in range(4)])
    (tmp_path / "img" / "u2.jpg").write_bytes(b"bad file")
    paths.append(tmp_path / "img" / "missing.jpg")
    counting = DigestEncoder()
    cached = CachedEncoder(counting, tmp_path / "cache")
    cached.encode(paths, progress=False)
    counting.encoded.clear()
    result = cached.encode(paths, progress=False)
    assert counting.encoded == [paths[2], paths[4]]
    assert result.n_cached == 3
    _assert_same(result, DigestEncoder().encode(paths))


def test_cached_classical_codes_equal_uncached(tmp_path, distinct_crops):
    folder = tmp_path / "img"
    folder.mkdir()
    paths = []
    for n in range(8):
        paths.append(folder / f"shot_{n}.jpg")
        distinct_crops[n].save(paths[-1], quality=92)
    paths.insert(3, folder / "broken.jpg")
    paths[3].write_text("not an image")
    plain = ClassicalEncoder(["phash", "dhash"]).encode(paths, progress=False)
    counting = Counting(ClassicalEncoder(["phash", "dhash"]))
    cached = CachedEncoder(counting, tmp_path / "cache", chunk_size=3)
    assert list(cached.tags) == list(plain.codes) and cached.identity == counting.identity
    _assert_same(cached.encode(paths, workers=2, progress=False), plain)
    counting.encoded.clear()
    again = cached.encode(paths, progress=False)
    assert counting.encoded == [paths[3]] and again.n_cached == 8
    _assert_same(again, plain)


# Ends only a hung subprocess, loudly (TimeoutExpired). Not a speed limit: on 2
# shared cores under load the slowest run here took a fraction of it.
_HANG_GUARD_S = 900
_CHUNK = 4
# The child pauses when it is about to read image 7: chunk 1 (images 1-4) is
# committed and chunk 2 is half encoded (images 5-6 done, not committed).
_PAUSE_AT = _CHUNK + 2

# Encodes through the cache in a subprocess, committing every _CHUNK images, and
# stops mid-chunk until the test's signal arrives, so the signal always lands
# mid-run however fast or slow the machine is.
_KILLED_RUN = """
import signal
import sys
import time
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_dedup_cache import DigestEncoder
from mmselfsup_ext.dedup.cache import CachedEncoder

# Ctrl-C must raise KeyboardInterrupt even if the launching shell ignored SIGINT
# (as a non-interactive shell does for its background jobs).
signal.signal(signal.SIGINT, signal.default_int_handler)


def pause_for_signal(n_handed):
    if n_handed != {pause_at}:
        return
    print("paused", flush=True)
    # Only the signal ends this loop. Short sleeps rather than signal.pause(): a
    # SIGINT that lands just before a sleep starts is still acted on when it ends.
    while True:
        time.sleep(0.5)


paths = [Path(p) for p in sys.argv[2:]]
try:
    CachedEncoder(DigestEncoder(before_path=pause_for_signal), sys.argv[1],
                  chunk_size={chunk}).encode(paths)
except KeyboardInterrupt:
    sys.exit(130)
sys.exit("the run finished although it should have stopped at image {pause_at}")
"""


def _wait_for_line(proc: subprocess.Popen, stderr_file: Path) -> bytes:
    """The child's first stdout line; fails (with its stderr) if none comes before the guard."""
    ready, _, _ = select.select([proc.stdout], [], [], _HANG_GUARD_S)
    assert ready, (f"child printed nothing in {_HANG_GUARD_S} s (hung?):\n"
                   f"{stderr_file.read_text(errors='replace')}")
    return proc.stdout.readline()


@pytest.mark.process
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_run_resumes_without_reencoding(tmp_path: Path, sig: signal.Signals) -> None:
    paths = _write_files(tmp_path / "img", [f"k{n:02d}.jpg" for n in range(40)])
    cache_dir = tmp_path / "cache"
    code = _KILLED_RUN.format(tests=str(Path(__file__).parent), pause_at=_PAUSE_AT,
                              chunk=_CHUNK)
    stderr_file = tmp_path / "child_stderr.txt"
    # stderr goes to a file, not a pipe: a pipe nobody reads could fill up and block the child.
    with stderr_file.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", code, str(cache_dir), *map(str, paths)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
    try:
        line = _wait_for_line(proc, stderr_file)
        assert line == b"paused\n", (line, stderr_file.read_text(errors="replace"))
        proc.send_signal(sig)
        proc.wait(timeout=_HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    child_stderr = stderr_file.read_text(errors="replace")
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 130), child_stderr
    # Exactly the first chunk survived; the half-encoded second one was lost whole.
    assert _committed_rows(cache_dir) == _CHUNK

    counting = DigestEncoder()
    result = CachedEncoder(counting, cache_dir).encode(paths, progress=False)
    assert counting.encoded == paths[_CHUNK:]
    assert result.n_cached == _CHUNK
    _assert_same(result, DigestEncoder().encode(paths))
    conn = sqlite3.connect(cache_dir / CACHE_FILENAME)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()


def _garbage(db: Path) -> None:
    db.write_text("this is not a database\n" * 50)


def _truncated_header(db: Path) -> None:
    db.write_bytes(db.read_bytes()[:50])


def _truncated_pages(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[:len(data) // 2 + 100])


def _scribbled_pages(db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[4096:] = bytes(len(data) - 4096)
    db.write_bytes(bytes(data))


def _scribbled_tail(db: Path) -> None:
    # Only entry pages: the file opens and the encoders table reads fine, so only
    # an integrity check at open can tell.
    data = bytearray(db.read_bytes())
    data[-2 * 4096:] = bytes(2 * 4096)
    db.write_bytes(bytes(data))


def _foreign_schema(db: Path) -> None:
    db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (x TEXT)")
    conn.commit()
    conn.close()


def _future_version(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version=99")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("damage", [_garbage, _truncated_header, _truncated_pages,
                                    _scribbled_pages, _scribbled_tail, _foreign_schema,
                                    _future_version])
def test_damaged_cache_warns_and_is_rebuilt(tmp_path, damage):
    paths = _write_files(tmp_path / "img", [f"c{n:03d}.jpg" for n in range(300)])
    cache_dir = tmp_path / "cache"
    CachedEncoder(DigestEncoder(), cache_dir).encode(paths, progress=False)
    db = cache_dir / CACHE_FILENAME
    assert db.stat().st_size > 4 * 4096  # several pages, so truncation loses data
    damage(db)

    counting = DigestEncoder()
    with pytest.warns(EncodingCacheWarning, match="unusable .*rebuilding"):
        result = CachedEncoder(counting, cache_dir).encode(paths, progress=False)
    assert result.n_cached == 0 and len(counting.encoded) == 300
    _assert_same(result, DigestEncoder().encode(paths))

    counting.encoded.clear()
    rebuilt = CachedEncoder(counting, cache_dir).encode(paths, progress=False)
    assert rebuilt.n_cached == 300 and counting.encoded == []


@pytest.mark.parametrize("edit", [
    "UPDATE entries SET codes = zeroblob(length(codes)) WHERE CAST(path AS TEXT) LIKE '%c00%'",
    "UPDATE entries SET digest = x'00' WHERE CAST(path AS TEXT) LIKE '%c00%'",
    "UPDATE entries SET codes = randomblob(length(codes)) WHERE CAST(path AS TEXT) LIKE '%c00%'",
])
def test_an_edited_row_of_the_right_length_is_reencoded_never_used(tmp_path, edit):
    # Issue 24 case 3: only the row length was checked, so an edited row silently
    # changed the codes; each row now carries a checksum of its key and codes.
    paths = _write_files(tmp_path / "img", [f"c{n:03d}.jpg" for n in range(40)])
    cache_dir = tmp_path / "cache"
    CachedEncoder(DigestEncoder(), cache_dir).encode(paths, progress=False)
    conn = sqlite3.connect(cache_dir / CACHE_FILENAME)
    conn.executescript(edit)
    conn.commit()
    conn.close()
    counting = DigestEncoder()
    with pytest.warns(EncodingCacheWarning, match="10 stored rows failed their checksum"):
        result = CachedEncoder(counting, cache_dir).encode(paths, progress=False)
    assert result.n_cached == 30 and sorted(p.name for p in counting.encoded) == [
        f"c{n:03d}.jpg" for n in range(10)]
    _assert_same(result, DigestEncoder().encode(paths))
    counting.encoded.clear()
    assert CachedEncoder(counting, cache_dir).encode(paths, progress=False).n_cached == 40


def test_unusable_cache_folder_warns_and_encodes_everything(tmp_path):
    paths = _write_files(tmp_path / "img", ["x.jpg", "y.jpg"])
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(EncodingCacheWarning, match="disabled"):
        result = CachedEncoder(DigestEncoder(), blocker).encode(paths, progress=False)
    assert result.cache_path is None and result.n_cached == 0
    _assert_same(result, DigestEncoder().encode(paths))


def test_constructor_validates_arguments(tmp_path):
    with pytest.raises(ValueError, match="Encoder protocol"):
        CachedEncoder(object(), tmp_path)
    with pytest.raises(ValueError, match="chunk_size"):
        CachedEncoder(DigestEncoder(), tmp_path, chunk_size=0)


def _load_script():
    spec = importlib.util.spec_from_file_location("image_processing_deduplication", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reuses_cache_and_honours_flags(tmp_path, distinct_crops, capsys):
    main = _load_script().main
    folder = tmp_path / "photos"
    folder.mkdir()
    for n in range(5):
        distinct_crops[n].save(folder / f"shot_h00_{n:02d}.jpg")
    out = tmp_path / "out"

    def cli(*args: object) -> tuple[int, str, str]:
        status = main([*map(str, args), "--no-progress", "--no-report", "--methods", "dhash",
                       "--workers", "1"])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    def summary() -> dict:
        return json.loads((out / "dhash64" / "summary.json").read_text())

    status, _, err = cli(folder, "--out", out)
    assert status == 0, err
    assert summary()["n_cached"] == 0 and (out / ".cache" / CACHE_FILENAME).is_file()
    codes_first = (out / "dhash64" / "codes.csv").read_text()

    distinct_crops[5].save(folder / "shot_h00_05.jpg")
    status, stdout, err = cli(folder, "--out", out)
    assert status == 0, err
    assert summary()["n_cached"] == 5 and summary()["n_images"] == 6
    assert "encodings cache: 5 of 6 images reused" in stdout
    assert (out / "dhash64" / "codes.csv").read_text().startswith(codes_first)

    (out / ".cache" / CACHE_FILENAME).write_text("garbage")
    status, _, err = cli(folder, "--out", out)
    assert status == 0, err
    assert err.splitlines() == [f"warning: encodings cache {out / '.cache' / CACHE_FILENAME} "
                                "is unusable (file is not a database); rebuilding it"]
    assert summary()["n_cached"] == 0

    shutil.rmtree(out)
    status, stdout, err = cli(folder, "--out", out, "--no-cache")
    assert status == 0, err
    assert summary()["n_cached"] == 0 and not (out / ".cache").exists()
    assert "encodings cache" not in stdout

    elsewhere = tmp_path / "shared_cache"
    assert cli(folder, "--out", out, "--cache-dir", elsewhere)[0] == 0
    assert (elsewhere / CACHE_FILENAME).is_file() and not (out / ".cache").exists()

    status, _, err = cli(folder, "--out", out, "--cache-dir", elsewhere, "--no-cache")
    assert status == 2 and err.startswith("error: ") and "exclude each other" in err
    status, _, err = cli(folder, "--out", out, "--cache-dir", folder / "shot_h00_00.jpg")
    assert status == 2 and "not a directory" in err


@pytest.mark.process
def test_concurrent_runs_share_one_cache(tmp_path):
    paths = _write_files(tmp_path / "img", [f"t{n:02d}.jpg" for n in range(24)])
    expected = DigestEncoder().encode(paths)
    results: list[EncodeResult] = []

    def run() -> None:
        encoder = CachedEncoder(DigestEncoder(delay=0.005), tmp_path / "cache", chunk_size=3)
        results.append(encoder.encode(paths, progress=False))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    for result in results:
        _assert_same(result, expected)
        assert result.cache_path is not None  # neither run had to give the cache up
    assert _committed_rows(tmp_path / "cache") == 24
