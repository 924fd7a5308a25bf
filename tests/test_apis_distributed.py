"""DistributedEncoder: 2 gloo ranks under torchrun give exactly the single-process result."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmselfsup_ext.apis.distributed import (DistributedEncoder, is_distributed_launch,
                                            is_main_process, run_distributed, shard_bounds)
from mmselfsup_ext.dedup import ClassicalEncoder
from mmselfsup_ext.argtypes import OneLineArgumentParser
from mmselfsup_ext.dedup.cli import add_dedup_arguments, run_from_args
from mmselfsup_ext.fileio.discover import discover_images

WORKER_PATH = Path(__file__).with_name("dist_encode_worker.py")
_spec = importlib.util.spec_from_file_location("dist_encode_worker", WORKER_PATH)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)

_LAUNCH_ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
# --standalone: torchrun binds its rendezvous store to a port the kernel picks and
# hands that very store to the ranks. A port chosen here (bind to 0, close, pass
# --master-port) could be taken by another process before torchrun binds it.
_TORCHRUN = (sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2")
# Ends only a hung subprocess, loudly (TimeoutExpired). Not a speed limit: on 2
# shared cores under load the slowest run here took a fraction of it.
_HANG_GUARD_S = 900


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """7 files in capture order: 4 random images, an exact copy, a corrupt and an empty file."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (160, 200, 3), dtype=np.uint8)).save(
            root / f"shot_{i:02d}.png")
    shutil.copy(root / "shot_01.png", root / "shot_04.png")
    (root / "shot_05.png").write_bytes(b"BAD image bytes")
    (root / "shot_06.png").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def launched(image_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every case of the worker in one ``torchrun --nproc-per-node 2`` launch (gloo, CPU)."""
    work = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if k not in _LAUNCH_ENV}
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run([*_TORCHRUN, str(WORKER_PATH), str(image_dir), str(work)],
                          env=env, capture_output=True, text=True, timeout=_HANG_GUARD_S)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return work


def _single_process(build, paths: list[Path], tmp: Path) -> list[dict]:
    """The reference: the same calls on the unwrapped encoder in this process."""
    result_json = tmp / "single.json"
    assert worker.encode_calls(paths, result_json, tmp / "single_cache")({"codes": build}) == 0
    return json.loads(result_json.read_text())


def _check_sharded(case_dir: Path, paths: list[Path]) -> None:
    """The first call (whole list) was split contiguously: rank 0 the first 4 of 7."""
    rank0 = (case_dir / "rank0.txt").read_text().splitlines()
    rank1 = (case_dir / "rank1.txt").read_text().splitlines()
    assert rank0[:4] == [str(p) for p in paths[:4]]
    assert rank1[:3] == [str(p) for p in paths[4:]]


def test_shard_bounds_cover_input_in_order() -> None:
    for n in range(0, 12):
        for world in range(1, 5):
            bounds = shard_bounds(n, world)
            shards = [list(range(n))[bounds[r]:bounds[r + 1]] for r in range(world)]
            assert sum(shards, []) == list(range(n))
            assert max(map(len, shards)) - min(map(len, shards)) <= 1
    with pytest.raises(ValueError, match="world_size >= 1"):
        shard_bounds(3, 0)


def test_single_process_is_a_pass_through(image_dir: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    for key in _LAUNCH_ENV:
        monkeypatch.delenv(key, raising=False)
    assert not is_distributed_launch() and is_main_process()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert not is_distributed_launch()
    paths = discover_images(image_dir)
    plain = worker.DigestEncoder().encode(paths)
    wrapped = DistributedEncoder(worker.DigestEncoder())
    assert (wrapped.tags, wrapped.identity) == (worker.DigestEncoder.tags,
                                                worker.DigestEncoder.identity)
    got = wrapped.encode(paths)
    assert worker.result_to_json(got) == worker.result_to_json(plain)
    assert run_distributed(lambda encoders: len(encoders["codes"]().encode(paths).ok_paths),
                           {"codes": worker.DigestEncoder}) == 5
    with pytest.raises(ValueError, match="Encoder protocol"):
        DistributedEncoder(object())


@pytest.mark.process
def test_two_gloo_ranks_equal_single_process(image_dir: Path, launched: Path,
                                             tmp_path: Path) -> None:
    paths = discover_images(image_dir)
    expected = _single_process(worker.DigestEncoder, paths, tmp_path)
    got = json.loads((launched / "fake" / "result.json").read_text())
    assert got == expected
    # Independent expectation for the whole list: input order minus the 2 bad files.
    assert got[0]["ok_paths"] == [str(p) for p in paths[:5]]
    assert [u[0] for u in got[0]["unreadable"]] == [str(p) for p in paths[5:]]
    assert got[0]["codes"]["sha64"][1] == got[0]["codes"]["sha64"][4]  # the exact copy
    assert [len(r["ok_paths"]) for r in got[2:]] == [0, 1]
    _check_sharded(launched / "fake", paths)


@pytest.mark.process
def test_failures_on_another_rank_are_reported_not_awaited(launched: Path) -> None:
    assert "rank 1: OSError: simulated failure" in (launched / "fail" / "error.txt").read_text()
    assert "ranks [1] built an encoder other than rank 0's" in (
        launched / "mismatch" / "error.txt").read_text()


@pytest.mark.process
def test_dedup_cli_under_torchrun_writes_single_process_outputs(image_dir: Path, launched: Path,
                                                                tmp_path: Path) -> None:
    args = add_dedup_arguments(OneLineArgumentParser()).parse_args(
        [str(image_dir), "--out", str(tmp_path / "single"), *worker.CLI_FLAGS])
    assert run_from_args(args, lambda: ClassicalEncoder(["phash", "dhash"], 8)) == 0
    dist_out = launched / "cli" / "out"
    for tag in ("phash64", "dhash64"):
        for name in ("codes.csv", "pairs.csv", "keep.txt", "remove.txt"):
            assert ((dist_out / tag / name).read_text()
                    == (tmp_path / "single" / tag / name).read_text()), (tag, name)
        assert (dist_out / tag / "remove.txt").read_text().split() == ["shot_04.png"]
    _check_sharded(launched / "cli", discover_images(image_dir))


@pytest.mark.process
def test_features_are_sharded_and_verified_outputs_equal_one_process(
        image_dir: Path, launched: Path, tmp_path: Path) -> None:
    args = add_dedup_arguments(OneLineArgumentParser()).parse_args(
        [str(image_dir), "--out", str(tmp_path / "single"), *worker.VERIFY_FLAGS])
    assert run_from_args(args, lambda: ClassicalEncoder(["phash"], 8)) == 0
    for name in ("pairs.csv", "keep.txt", "remove.txt"):
        assert ((launched / "verify" / "out" / "phash64" / name).read_text()
                == (tmp_path / "single" / "phash64" / name).read_text()), name
    readable = [p for p in discover_images(image_dir) if p.stat().st_size and
                not p.read_bytes().startswith(b"BAD")]
    assert (launched / "verify" / "rank0.txt").read_text().splitlines() == [
        str(p) for p in readable[:3]]
    assert (launched / "verify" / "rank1.txt").read_text().splitlines() == [
        str(p) for p in readable[3:]]
    assert "shot_04.png" in (launched / "verify" / "out" / "phash64" / "remove.txt").read_text()
    # The candidate pairs were matched on both ranks, in slices that add up to all of them.
    matched = [sum(map(int, (launched / "verify" / f"rank{r}_pairs.txt").read_text().split()))
               for r in (0, 1)]
    summary = json.loads((launched / "verify" / "out" / "phash64" / "summary.json").read_text())
    assert min(matched) > 0 and sum(matched) == summary["n_verified_now"], (matched, summary)


def _counts(case_dir: Path, what: str) -> list[int]:
    return [sum(map(int, (case_dir / f"rank{r}_{what}.txt").read_text().split()))
            for r in (0, 1)]


@pytest.mark.process
def test_retrieval_is_sharded_and_outputs_equal_one_process(
        image_dir: Path, launched: Path, tmp_path: Path) -> None:
    args = add_dedup_arguments(OneLineArgumentParser()).parse_args(
        [str(image_dir), "--out", str(tmp_path / "single"), *worker.RETRIEVE_FLAGS])
    assert run_from_args(args, lambda: ClassicalEncoder(["phash"], 8)) == 0
    out = launched / "retrieve" / "out" / "phash64"
    for name in ("pairs.csv", "keep.txt", "remove.txt"):
        assert (out / name).read_text() == (tmp_path / "single" / "phash64" / name).read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["candidate_sources"] == ["features"]
    assert "shot_04.png" in (out / "remove.txt").read_text()  # the copy, found by retrieval
    # Each rank queried a slice of the 5 readable images; the surfaced pairs were scored.
    queries = _counts(launched / "retrieve", "queries")
    assert min(queries) > 0 and sum(queries) == 5, queries
    assert sum(_counts(launched / "retrieve", "votes")) >= 1


@pytest.mark.process
def test_deep_encoder_two_ranks_equal_single_process(image_dir: Path, launched: Path,
                                                     tmp_path: Path) -> None:
    if not worker.DEEP_CONFIG.is_file():
        pytest.skip(f"missing {worker.DEEP_CONFIG}")
    paths = discover_images(image_dir)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in each torchrun rank (OMP_NUM_THREADS=1)
    try:
        expected = _single_process(worker.build_deep_encoder, paths, tmp_path)
    finally:
        torch.set_num_threads(threads)
    got = json.loads((launched / "deep" / "result.json").read_text())
    assert got == expected
    assert len(got[0]["ok_paths"]) == 5 and set(got[0]["codes"]) == {"hashclr32", "hashclr64"}
    _check_sharded(launched / "deep", paths)


def _run_once_and_under_torchrun(script: Path, args: list[str], tmp_path: Path) -> None:
    """Run ``script args`` in one process (into ``tmp_path/one``) and on 2 gloo ranks (``two``)."""
    env = {k: v for k, v in os.environ.items() if k not in _LAUNCH_ENV}
    env["OMP_NUM_THREADS"] = "1"
    single = subprocess.run([sys.executable, str(script), *args, "--out", str(tmp_path / "one")],
                            env=env, capture_output=True, text=True, timeout=_HANG_GUARD_S)
    assert single.returncode == 0, single.stderr[-3000:]
    dist = subprocess.run([*_TORCHRUN, str(script), *args, "--out", str(tmp_path / "two")],
                          env=env, capture_output=True, text=True, timeout=_HANG_GUARD_S)
    assert dist.returncode == 0, dist.stdout[-2000:] + dist.stderr[-3000:]


@pytest.mark.process
def test_deep_script_under_torchrun_equals_single_process(image_dir: Path, tmp_path: Path) -> None:
    """The shipped global model via SwinFpnHashCLR_deduplication.py, codes and keypoint
    features sharded: 2 gloo ranks == 1 process."""
    script = Path(__file__).resolve().parents[1] / "SwinFpnHashCLR_deduplication.py"
    common = [str(image_dir), "--model", "hashclr", "--bits", "32", "64", "--batch-size", "1", "--img-size", "64",
              "--pairing", "all", "--threshold", "6", "--no-progress", "--no-report",
              "--no-cache", "--verify"]
    _run_once_and_under_torchrun(script, common, tmp_path)
    for tag in ("hashclr32", "hashclr64"):
        for name in ("codes.csv", "pairs.csv", "keep.txt", "remove.txt"):
            one = (tmp_path / "one" / tag / name).read_bytes()
            assert one == (tmp_path / "two" / tag / name).read_bytes(), (tag, name)
    summary = json.loads((tmp_path / "two" / "hashclr64" / "summary.json").read_text())
    assert summary["n_unreadable"] == 2 and summary["n_images"] == 7


@pytest.mark.process
def test_spatial_default_under_torchrun_equals_single_process(image_dir: Path, tmp_path: Path) -> None:
    """The shipped spatial model: cell codes sharded over 2 gloo ranks, searched by cell
    agreement on rank 0, give the files of 1 process."""
    script = Path(__file__).resolve().parents[1] / "SwinFpnHashCLR_deduplication.py"
    common = [str(image_dir), "--batch-size", "1", "--pairing", "all", "--no-progress", "--no-report",
              "--no-cache"]
    _run_once_and_under_torchrun(script, common, tmp_path)
    tag = "spatialhash64x8x8"
    for name in ("codes.csv", "pairs.csv", "keep.txt", "remove.txt"):
        assert (tmp_path / "one" / tag / name).read_bytes() == (tmp_path / "two" / tag / name).read_bytes(), name
    summary = json.loads((tmp_path / "two" / tag / "summary.json").read_text())
    assert summary["histogram_source"] == "cell_disagreement" and summary["n_images"] == 7
