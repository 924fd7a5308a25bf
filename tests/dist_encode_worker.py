"""Helper of tests/test_apis_distributed.py, run under ``torchrun`` (or in-process).

Usage: ``dist_encode_worker.py IMAGE_DIR WORK_DIR``. One launch runs every case
(starting torch processes is the slow part), each in its own sub-folder of WORK_DIR:

* ``fake``: :class:`DigestEncoder` (codes from the file bytes) encodes the images
  several times (whole list, cache-sized chunks, empty and one-item lists); every
  result goes to ``fake/result.json``.
* ``fail`` / ``mismatch``: rank 1's encoder raises / has another identity; rank 0
  must report it (``*/error.txt``) instead of waiting forever.
* ``cli``: the dedup command line (``run_from_args``) with classical hashes and
  :data:`CLI_FLAGS`, writing ``cli/out``.
* ``verify``: the same command line with ``--verify``: the keypoint features and the
  matching of the candidate pairs are sharded too (role ``features``), writing
  ``verify/out``.
* ``retrieve``: ``--verify`` with ``--pairing all``: keypoint retrieval's queries
  and exact scoring are sharded too, writing ``retrieve/out``.
* ``deep``: a random-init SwinFpnHashCLR (seed 0 on every rank) encodes the list.

Every encoder is wrapped in :class:`RankLog`, which writes the paths each rank
encoded to ``<case>/rank<R>.txt`` and the number of pairs it matched, images it
queried and pairs it scored to ``<case>/rank<R>_{pairs,queries,votes}.txt``, so the
test can check the work was sharded.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from mmselfsup_ext.apis.distributed import (init_distributed, is_distributed_launch,
                                            local_device, run_distributed)
from mmselfsup_ext.dedup import ClassicalEncoder
from mmselfsup_ext.dedup.cache import CachedEncoder
from mmselfsup_ext.argtypes import OneLineArgumentParser
from mmselfsup_ext.dedup.cli import add_dedup_arguments, run_from_args
from mmselfsup_ext.fileio.discover import discover_images
from mmselfsup_ext.dedup.encoders import EncodeResult, Encoder
from mmselfsup_ext.dedup.sources.keypoints import retrieval_votes
from mmselfsup_ext.dedup.verify import FeatureEncoder, verify_pairs

CLI_FLAGS = ("--pairing", "all", "--threshold", "4", "--no-progress", "--no-report",
             "--workers", "1")
#: ``verify``: every pair in capture order checked by keypoints, so both ranks get
#: pairs to match (the candidate search of ``--pairing all`` proposes a single one).
VERIFY_FLAGS = (*CLI_FLAGS, "--verify", "--pairing", "window", "--window", "6")
#: ``retrieve``: order-free candidates from keypoint retrieval, then verification.
RETRIEVE_FLAGS = (*CLI_FLAGS, "--verify")
DEEP_CONFIG = Path(__file__).resolve().parents[1] / (
    "configs/selfsup/hashclr/hashclr_swin_nano_fpn_1xb8_coslr_2e.py")


class DigestEncoder:
    """Deterministic stand-in encoder: SHA-256 of the file bytes, 64 and 128 bits.

    Empty files and files starting with ``BAD`` are unreadable.
    """

    tags = {"sha64": 64, "sha128": 128}
    identity = "test/sha256"

    def encode(self, paths: Sequence[Path], workers: int = 1,
               progress: bool = True) -> EncodeResult:
        ok, rows, bad = [], [], []
        for path in paths:
            data = Path(path).read_bytes()
            if not data or data.startswith(b"BAD"):
                bad.append((Path(path), f"rejected {len(data)} bytes"))
                continue
            ok.append(Path(path))
            rows.append(np.frombuffer(hashlib.sha256(data).digest(), np.uint8)[:16])
        table = np.array(rows, np.uint8).reshape(len(ok), 16)
        return EncodeResult(codes={"sha64": table[:, :8].copy(), "sha128": table.copy()},
                            ok_paths=ok, unreadable=bad)


class RankLog:
    """Wrap an encoder; log every path it encodes and how many pairs it matches."""

    def __init__(self, encoder: Encoder, log_dir: Path) -> None:
        self.encoder, self.tags, self.identity = encoder, encoder.tags, encoder.identity
        self.log = Path(log_dir) / f"rank{os.environ.get('RANK', '0')}.txt"

    def _count(self, what: str, n: int) -> None:
        with (self.log.parent / f"{self.log.stem}_{what}.txt").open("a") as f:
            f.write(f"{n}\n")

    def verify_pairs(self, features, i, j, workers: int = 1, progress: bool = True):
        """:func:`verify_pairs`, after appending ``len(i)`` to ``rank<R>_pairs.txt``."""
        self._count("pairs", len(i))
        return verify_pairs(features, i, j, workers=workers, progress=progress)

    def surfaced_pairs(self, index, image_ids, descriptors, radius: int, min_count: int):
        """The index's range search, after appending the query count to ``rank<R>_queries.txt``."""
        self._count("queries", len(image_ids))
        return index.surfaced_pairs(image_ids, descriptors, radius, min_count=min_count)

    def retrieval_votes(self, descriptors, a, b, radius: int, workers: int = 1,
                        progress: bool = False):
        """:func:`retrieval_votes`, after appending ``len(a)`` to ``rank<R>_votes.txt``."""
        self._count("votes", len(a))
        return retrieval_votes(descriptors, a, b, radius, workers=workers, progress=progress)

    def encode(self, paths: Sequence[Path], workers: int = 1,
               progress: bool = True) -> EncodeResult:
        with self.log.open("a") as f:
            f.writelines(f"{p}\n" for p in paths)
        return self.encoder.encode(paths, workers=workers, progress=progress)


def result_to_json(result: EncodeResult) -> dict:
    """Plain-data form of an ``EncodeResult`` (codes as hex rows)."""
    return {"ok_paths": [str(p) for p in result.ok_paths],
            "unreadable": [[str(p), r] for p, r in result.unreadable],
            "codes": {tag: [row.tobytes().hex() for row in codes]
                      for tag, codes in result.codes.items()}}


def build_deep_encoder() -> Encoder:
    """Random-init model, seeded so that every rank builds the same weights."""
    from mmselfsup_ext.apis import DeepHashEncoder, init_model
    torch.manual_seed(0)
    model = init_model(DEEP_CONFIG, None, device=local_device())
    # batch_size 1: codes must not depend on which images share a batch.
    return DeepHashEncoder(model, bits=(32, 64), batch_size=1, img_size=64)


def encode_calls(paths: list[Path], result_json: Path, cache_dir: Path
                 ) -> Callable[[dict[str, Callable[[], Encoder]]], int]:
    """The rank-0 side of ``fake`` and ``deep``: encode in the ways the pipeline does."""
    def run(encoders: dict[str, Callable[[], Encoder]]) -> int:
        encoder = encoders["codes"]()
        results = [encoder.encode(paths, progress=False),
                   CachedEncoder(encoder, cache_dir, chunk_size=3).encode(paths, progress=False),
                   encoder.encode([], progress=False),
                   encoder.encode(paths[:1], progress=False)]
        result_json.write_text(json.dumps([result_to_json(r) for r in results]))
        return 0
    return run


class BrokenOnRank1(DigestEncoder):
    """Fails on rank 1 only (like a rank whose disk or GPU gave up)."""

    def encode(self, paths: Sequence[Path], workers: int = 1,
               progress: bool = True) -> EncodeResult:
        if os.environ.get("RANK") == "1":
            raise OSError("simulated failure")
        return super().encode(paths, workers, progress)


class OtherWeightsOnRank1(DigestEncoder):
    """Claims other weights on rank 1 (a rank that loaded another checkpoint)."""

    identity = f"test/sha256/rank{os.environ.get('RANK', '0')}"


def expect_error(paths: list[Path], error_txt: Path) -> Callable[[dict[str, Callable[[], Encoder]]], int]:
    """Rank-0 side of ``fail``/``mismatch``: write the error encoding raised."""
    def run(encoders: dict[str, Callable[[], Encoder]]) -> int:
        try:
            encoders["codes"]().encode(paths, progress=False)
        except RuntimeError as exc:
            error_txt.write_text(str(exc))
            return 0
        return 1
    return run


def run_case(case: str, image_dir: Path, work_dir: Path) -> int:
    """Run one case (see the module docstring) with run_distributed."""
    case_dir = work_dir / case
    case_dir.mkdir(parents=True, exist_ok=True)
    if case == "cli":
        args = add_dedup_arguments(OneLineArgumentParser()).parse_args(
            [str(image_dir), "--out", str(case_dir / "out"), *CLI_FLAGS])
        return run_distributed(lambda encoders: run_from_args(args, encoders["codes"]),
                               {"codes": lambda: RankLog(ClassicalEncoder(["phash", "dhash"], 8),
                                                         case_dir)})
    if case in ("verify", "retrieve"):
        flags = VERIFY_FLAGS if case == "verify" else RETRIEVE_FLAGS
        args = add_dedup_arguments(OneLineArgumentParser()).parse_args(
            [str(image_dir), "--out", str(case_dir / "out"), *flags])
        return run_distributed(
            lambda encoders: run_from_args(args, encoders["codes"],
                                           feature_encoder=encoders["features"]),
            {"codes": lambda: ClassicalEncoder(["phash"], 8),
             "features": lambda: RankLog(FeatureEncoder(), case_dir)})
    paths = discover_images(image_dir)
    if case in ("fail", "mismatch"):
        build = BrokenOnRank1 if case == "fail" else OtherWeightsOnRank1
        return run_distributed(expect_error(paths, case_dir / "error.txt"), {"codes": build})
    build = {"fake": DigestEncoder, "deep": build_deep_encoder}[case]
    return run_distributed(encode_calls(paths, case_dir / "result.json", case_dir / "cache"),
                           {"codes": lambda: RankLog(build(), case_dir)})


def main(argv: list[str]) -> int:
    image_dir, work_dir = Path(argv[0]), Path(argv[1])
    # One process group for all cases; run_distributed leaves a group it did not create.
    created = is_distributed_launch() and init_distributed()
    try:
        cases = (["fake", "fail", "mismatch", "cli", "verify", "retrieve"]
                 + (["deep"] if DEEP_CONFIG.is_file() else []))
        return max(run_case(case, image_dir, work_dir) for case in cases)
    finally:
        if created:
            dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
