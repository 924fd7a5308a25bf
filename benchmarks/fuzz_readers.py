"""Fuzz every reader of a file the program reads back: mutated real files, no tracebacks.

Readers (each gets ``--cases`` mutated inputs):

* ``image``: :func:`~mmselfsup_ext.fileio.load_image` on a real JPEG and PNG crop
  (allowed failure: ``UnreadableImageError``);
* ``manifest``: :func:`~mmselfsup_ext.dedup.manifest.read_manifest` then
  :func:`~mmselfsup_ext.dedup.actions.undo_move` into a sandbox (``ValueError``);
* ``state``: :meth:`~mmselfsup_ext.dedup.state.SurveyState.open` (never raises; a
  rebuild is a warning). Byte mutations, plus array edits saved with a recomputed
  checksum so that the consistency checks, not only the checksum, are exercised;
* ``cache``: :class:`~mmselfsup_ext.dedup.cache.CachedEncoder` over a mutated SQLite
  cache (never raises);
* ``config``: ``config_from_literal_text`` on mutated embedded-config text and the
  checkpoint loader on mutated ``.pth`` files (``ConfigError``, ``CheckpointError``).

Anything else raised is a traceback; a case that runs past ``--case-timeout`` is a
hang; a worker process that dies (a crash in native code) is reported as such. Not
part of CI: it takes minutes. Run::

    .venv/bin/python benchmarks/fuzz_readers.py --cases 10000 --workers 2
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

READERS = ("image", "manifest", "state", "cache", "config")
_CHUNK = 250
_SNIPPETS = (b"__import__('os').system('true')", b"lambda: 0", b"[" * 5000, b"(" * 5000,
             b"{" * 5000, b"\x00", b"\xff\xfe", b"1e999", b"-1", b'"../../x"', b"null",
             b"9" * 400, b"dict(" * 3000, b"\n" * 50)


class _Hang(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Hang


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random byte-level mutation (or a few stacked) of ``data``."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 4))):
        kind = rng.randrange(7)
        pos = rng.randrange(len(out) + 1) if out else 0
        if kind == 0 and out:                                  # flip bits
            for _ in range(rng.randint(1, 8)):
                out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        elif kind == 1:                                        # truncate
            del out[pos:]
        elif kind == 2:                                        # random bytes over a range
            n = rng.randint(1, 64)
            out[pos:pos + n] = os.urandom(n)
        elif kind == 3:                                        # insert random bytes
            out[pos:pos] = os.urandom(rng.randint(1, 64))
        elif kind == 4 and out:                                # duplicate a slice
            start = rng.randrange(len(out))
            out[pos:pos] = out[start:start + rng.randint(1, 256)]
        elif kind == 5:                                        # a hostile snippet
            out[pos:pos] = rng.choice(_SNIPPETS)
        elif out:                                              # 0x00 / 0xff run
            n = rng.randint(1, 32)
            out[pos:pos + n] = bytes([rng.choice((0, 255))]) * n
    return bytes(out)


def _json_leaf_edit(data: object, rng: random.Random) -> object:
    """Replace one random leaf of parsed JSON by a value of another type or form."""
    values = (None, -1, 2 ** 70, 1e308, "", "../../etc", "/" + "a" * 5000, [], {}, True,
              "0" * 64, [[[[]]]])
    if isinstance(data, dict) and data and rng.random() < 0.8:
        key = rng.choice(list(data))
        data[key] = _json_leaf_edit(data[key], rng)
        return data
    if isinstance(data, list) and data and rng.random() < 0.8:
        n = rng.randrange(len(data))
        data[n] = _json_leaf_edit(data[n], rng)
        return data
    return rng.choice(values)


# --------------------------------------------------------------------------- seeds
def make_seeds(folder: Path) -> dict[str, object]:
    """Real files for every reader, written under ``folder``."""
    from PIL import Image

    from mmselfsup_ext.dedup import ClassicalEncoder
    from mmselfsup_ext.dedup.actions import move_duplicates
    from mmselfsup_ext.dedup.cache import CACHE_FILENAME, CachedEncoder
    from mmselfsup_ext.dedup.state import STATE_FILENAME, SurveyState
    from mmselfsup_ext.evaluation import procedural_concrete, shared_photo

    photo = shared_photo()
    if photo is not None:
        with Image.open(photo) as img:
            img.draft("RGB", (img.width // 8, img.height // 8))
            crop = img.convert("RGB").crop((0, 0, 160, 120))
    else:
        crop = Image.fromarray(procedural_concrete(160, 120, seed=3).image)
    images = folder / "images"
    images.mkdir()
    for n in range(4):
        crop.rotate(90 * n, expand=True).save(images / f"shot_{n}.jpg", quality=85)
    crop.save(folder / "seed.png")

    photos, dups = folder / "photos", folder / "dups"
    photos.mkdir()
    for n in range(3):
        shutil.copy2(images / f"shot_{n}.jpg", photos / f"p{n}.jpg")
    (photos / "p2_link.jpg").symlink_to("p2.jpg")
    move_duplicates(photos, ["p1.jpg", "p2_link.jpg"], dups)

    encoder = ClassicalEncoder(["ahash"])
    CachedEncoder(encoder, folder / "cache").encode(sorted(images.iterdir()), progress=False)

    state = SurveyState.open(folder / "state", "fuzz-fingerprint")
    rng = np.random.default_rng(0)
    ids, _ = state.assign_ids([(os.fsencode(f"/s/{n}.jpg"), 100 + n, n) for n in range(6)])
    state.index.add(ids.tolist(), [rng.integers(0, 256, (20, 32), np.uint8) for _ in ids])
    state.votes = {(0, 1): 12, (1, 2): 9, (2, 5): 4}
    state.verified = {(0, 1): (0.7, 40, 0, np.eye(3)), (1, 2): (0.0, 0, 1, np.full((3, 3), np.nan))}
    state.save()
    state.close()

    import torch
    cfg = Path(__file__).resolve().parents[1] / "configs"
    cfg_text = next(p for p in sorted(cfg.rglob("*.py")) if "_base_" not in p.parts).read_text()
    ckpt = folder / "seed.pth"
    torch.save({"meta": {"cfg": "model = dict(type='SwinFpnHashCLR', bits=[32, 64])\n"
                                "data_root = 'data/x'\nlr = 0.001\n"},
                "state_dict": {"w": torch.zeros(3)}}, ckpt)
    return {"jpeg": (images / "shot_0.jpg").read_bytes(), "png": (folder / "seed.png").read_bytes(),
            "manifest": (dups / "manifest.json").read_bytes(), "photos": str(photos),
            "dups": str(dups), "state": (folder / "state" / STATE_FILENAME).read_bytes(),
            "cache": (folder / "cache" / CACHE_FILENAME).read_bytes(),
            "images": str(images), "cfg_text": cfg_text.encode(), "ckpt": ckpt.read_bytes()}


# --------------------------------------------------------------------------- one case
def _case_image(seeds: dict, rng: random.Random, work: Path) -> None:
    from mmselfsup_ext.fileio import UnreadableImageError, load_image
    path = work / rng.choice(("x.jpg", "x.png"))
    path.write_bytes(mutate(seeds["jpeg" if path.suffix == ".jpg" else "png"], rng))
    try:
        load_image(path, min_size=rng.choice((None, 32)))
    except UnreadableImageError:
        pass


def _case_manifest(seeds: dict, rng: random.Random, work: Path) -> None:
    from mmselfsup_ext.dedup.actions import undo_move
    dups = work / "dups"
    if not dups.exists():
        shutil.copytree(seeds["dups"], dups, symlinks=True)
    data = seeds["manifest"]
    if rng.random() < 0.5:
        parsed = json.loads(data)
        data = json.dumps(_json_leaf_edit(parsed, rng)).encode()
    else:
        data = mutate(data, rng)
    path = dups / "manifest.json"
    path.write_bytes(data)
    sandbox = work / "photos"
    sandbox.mkdir(exist_ok=True)
    try:
        undo_move(path, restore_to=rng.choice((None, sandbox)))
    except ValueError:
        pass


def _case_state(seeds: dict, rng: random.Random, work: Path) -> None:
    from mmselfsup_ext.dedup import state as state_module
    folder = work / "state"
    folder.mkdir(exist_ok=True)
    path = folder / state_module.STATE_FILENAME
    if rng.random() < 0.5:
        path.write_bytes(mutate(seeds["state"], rng))
    else:
        # Array edits with a valid checksum (the index bytes are left alone: faiss
        # trusts them, which is why the checksum is checked first).
        tmp = folder / "seed.npz"
        tmp.write_bytes(seeds["state"])
        with np.load(tmp, allow_pickle=False) as stored:
            arrays = dict(stored)
        name = rng.choice([n for n in arrays if n not in ("meta", "index")])
        array = arrays[name]
        edits = (lambda a: a[:-1], lambda a: a[1:], lambda a: np.concatenate([a, a]),
                 lambda a: a.reshape(-1)[:max(a.size - 1, 0)],
                 lambda a: (a.astype(np.float64) * -1e9) if a.dtype.kind in "iuf" else a[:0],
                 lambda a: a.astype(np.int8) if a.dtype.kind in "iuf" else a)
        with np.errstate(all="ignore"):
            arrays[name] = rng.choice(edits)(array)
        meta = json.loads(bytes(arrays["meta"]).decode())
        meta["sha256"] = state_module._content_digest(arrays)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        with path.open("wb") as fh:
            np.savez(fh, **arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state_module.SurveyState.open(folder, "fuzz-fingerprint").close()


def _case_cache(seeds: dict, rng: random.Random, work: Path) -> None:
    from mmselfsup_ext.dedup import ClassicalEncoder
    from mmselfsup_ext.dedup.cache import CACHE_FILENAME, CachedEncoder
    folder = work / f"cache{rng.randrange(1 << 30)}"
    folder.mkdir()
    path = folder / CACHE_FILENAME
    if rng.random() < 0.5:
        path.write_bytes(mutate(seeds["cache"], rng))
    else:
        path.write_bytes(seeds["cache"])
        conn = sqlite3.connect(path)
        column = rng.choice(("codes", "digest", "size", "mtime_ns", "path"))
        value = rng.choice(("NULL", "x''", "randomblob(8)", "-1", "'text'", "zeroblob(100000)"))
        try:
            conn.execute(f"UPDATE entries SET {column} = {value} WHERE rowid % 2 = 0 OR 1")
            conn.commit()
        except sqlite3.Error:
            pass
        conn.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        CachedEncoder(ClassicalEncoder(["ahash"]), folder).encode(
            sorted(Path(seeds["images"]).iterdir()), progress=False)
    shutil.rmtree(folder)


def _case_config(seeds: dict, rng: random.Random, work: Path) -> None:
    from mmselfsup_ext.apis.inference import _config_from_checkpoint
    from mmselfsup_ext.engine import ConfigError
    from mmselfsup_ext.engine.config import config_from_literal_text
    from mmselfsup_ext.utils.checkpoint import CheckpointError
    try:
        if rng.random() < 0.5:
            text = mutate(seeds["cfg_text"], rng).decode("utf-8", "replace")
            config_from_literal_text(text, "fuzz")
        else:
            path = work / "x.pth"
            path.write_bytes(mutate(seeds["ckpt"], rng))
            _config_from_checkpoint(path)
    except (ConfigError, CheckpointError):
        pass


CASES: dict[str, Callable[[dict, random.Random, Path], None]] = {
    "image": _case_image, "manifest": _case_manifest, "state": _case_state,
    "cache": _case_cache, "config": _case_config}


def run_chunk(reader: str, seed: int, n: int, seeds: dict, case_timeout: float) -> dict:
    """Run ``n`` cases of one reader; counts and the first tracebacks."""
    signal.signal(signal.SIGALRM, _on_alarm)
    rng = random.Random(seed)
    tracebacks: dict[str, int] = {}
    hangs = 0
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{reader}-") as tmp:
        work = Path(tmp)
        for _ in range(n):
            signal.setitimer(signal.ITIMER_REAL, case_timeout)
            try:
                CASES[reader](seeds, rng, work)
            except _Hang:
                hangs += 1
            except BaseException:  # noqa: B036 - every escape is a finding
                lines = traceback.format_exc().strip().splitlines()
                key = " | ".join(lines[-3:])[-400:]
                tracebacks[key] = tracebacks.get(key, 0) + 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    return {"reader": reader, "cases": n, "hangs": hangs, "tracebacks": tracebacks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases per reader")
    parser.add_argument("--readers", nargs="+", choices=READERS, default=list(READERS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--case-timeout", type=float, default=20.0,
                        help="seconds after which one case counts as a hang")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fuzz-seeds-") as tmp:
        seeds = make_seeds(Path(tmp))
        jobs = [(r, args.seed * 1_000_003 + k, min(_CHUNK, args.cases - start))
                for r in args.readers
                for k, start in enumerate(range(0, args.cases, _CHUNK))]
        totals = {r: {"cases": 0, "hangs": 0, "crashes": 0, "tracebacks": {}, "s": 0.0}
                  for r in args.readers}
        start = time.perf_counter()
        with ProcessPoolExecutor(args.workers) as pool:
            futures = [(job, time.perf_counter(),
                        pool.submit(run_chunk, *job, seeds, args.case_timeout)) for job in jobs]
            for (reader, _, n), _, future in futures:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    totals[reader]["crashes"] += 1
                    continue
                total = totals[reader]
                total["cases"] += result["cases"]
                total["hangs"] += result["hangs"]
                for key, count in result["tracebacks"].items():
                    total["tracebacks"][key] = total["tracebacks"].get(key, 0) + count
        wall = time.perf_counter() - start
    print(f"fuzz_readers: {args.cases} cases per reader, seed {args.seed}, "
          f"{args.workers} workers, {wall:.0f} s")
    print(f"{'reader':<10}{'cases':>8}{'tracebacks':>12}{'hangs':>7}{'crashed chunks':>16}")
    bad = 0
    for reader, total in totals.items():
        n_tb = sum(total["tracebacks"].values())
        bad += n_tb + total["hangs"] + total["crashes"]
        print(f"{reader:<10}{total['cases']:>8}{n_tb:>12}{total['hangs']:>7}"
              f"{total['crashes']:>16}")
    for reader, total in totals.items():
        for key, count in sorted(total["tracebacks"].items(), key=lambda kv: -kv[1])[:5]:
            print(f"  {reader} x{count}: {key}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
