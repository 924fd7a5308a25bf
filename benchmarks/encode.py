"""Benchmark classical-hash encoding throughput against imagededup.

Both sides hash the same folder of full-size inspection shots (default 200
JPEGs of 2592 x 2048 px, flown over the evaluation half of the real concrete
photo by ``tools/simulate_flight.py``, or over a procedural wall when the photo
is absent) and are timed end to end from the folder path to the codes:

* ``project``: ``ClassicalEncoder(methods).encode(discover_images(dir), workers=W)``
  (JPEG draft-mode decode at the size the hash needs, one decode for all
  requested methods, ``multiprocessing.Pool(W)``);
* ``imagededup``: ``<Method>(verbose=False).encode_images(dir, num_enc_workers=W)``
  as its documentation shows (full-resolution decode and LANCZOS resize per
  method; ``multiprocessing.Pool(W)`` with ``imap`` chunks of 100 images, so a
  folder needs more than 100 images before a second worker gets any).

Configurations are interleaved (project then imagededup for each method and
worker count, round after round) so that load from other processes hits both
alike, and each configuration reports its best of ``--repeats`` rounds. The
table also times the project's encodings cache (``CachedEncoder``) on a first
run (cold, writes the cache) and a re-run (warm, reads it), and the keypoint
features that ``--verify`` extracts for retrieval and verification
(``FeatureEncoder``: JPEG draft decode to >= 640 px, ORB, 1000 keypoints).

``--deep`` adds the deep encoder on the CPU: ``DeepHashEncoder`` (decode, resize,
Swin-T + FPN + hash head) on image files, its model's forward alone on ready
tensors, and a plain timm ``SwinTransformer`` forward of the same backbone
(Swin-T, same input size and window) on the same tensors, interleaved the same
way. The model has random weights (``init_model`` without a checkpoint): speed
does not depend on them.

Example (imagededup installed per benchmarks/README_encode.md)::

    PYTHONPATH=.bench_venv/site .venv/bin/python benchmarks/encode.py --repeats 2
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mmselfsup_ext.dedup import ClassicalEncoder, Encoder
from mmselfsup_ext.dedup.cache import CachedEncoder
from mmselfsup_ext.dedup.verify import FeatureEncoder
from mmselfsup_ext.fileio import discover_images
from mmselfsup_ext.hashing import CLASSICAL_METHODS

from _common import cpu_model

REPO = Path(__file__).resolve().parents[1]
DEEP_CONFIG = REPO / "configs" / "selfsup" / "hashclr" / "hashclr_swin_tiny_fpn_2xb16_coslr_120e.py"
# imagededup's class for each project method.
PEER_CLASSES = {"ahash": "AHash", "dhash": "DHash", "phash": "PHash", "whash": "WHash"}


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path,
                        help="folder of JPEGs to hash (default: generate a flight under --work)")
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "mmselfsup_ext_bench",
                        help="where generated flights are kept and reused "
                             "(default: TMPDIR/mmselfsup_ext_bench)")
    parser.add_argument("--shot-size", nargs=2, type=int, default=(2592, 2048),
                        metavar=("W", "H"), help="generated shot size (default 2592 2048)")
    parser.add_argument("--strips", type=int, default=10, help="generated strips (default 10)")
    parser.add_argument("--shots-per-strip", type=int, default=20,
                        help="generated shots per strip (default 20: 200 images, enough for "
                             "imagededup's chunks of 100 to reach two workers)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="worker counts to compare (default 1 2)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="interleaved rounds; each configuration reports its best "
                             "(default 2)")
    deep = parser.add_argument_group("deep encoder (--deep)")
    deep.add_argument("--deep", action="store_true",
                      help="also time the deep encoder against a plain timm forward")
    deep.add_argument("--deep-config", type=Path, default=DEEP_CONFIG,
                      help="hashing model config (default: the paper's SwinFpnHashCLR)")
    deep.add_argument("--deep-images", type=int, default=8,
                      help="images encoded per deep measurement (default 8)")
    deep.add_argument("--deep-batch", type=int, default=4,
                      help="images per forward pass (default 4)")
    return parser


def ensure_flight(work: Path, shot_size: tuple[int, int], strips: int,
                  shots_per_strip: int) -> Path:
    """Images folder of a simulated flight, generated once and then reused."""
    folder = work / f"flight_{shot_size[0]}x{shot_size[1]}_{strips}x{shots_per_strip}_seed0"
    images = folder / "images"
    if images.is_dir() and len(discover_images(images)) == strips * shots_per_strip:
        return images
    print(f"generating {strips * shots_per_strip} shots of {shot_size[0]}x{shot_size[1]} px "
          f"in {folder} (once; reused afterwards)", flush=True)
    subprocess.run([sys.executable, str(REPO / "tools" / "simulate_flight.py"), "--out",
                    str(folder), "--strips", str(strips), "--shots-per-strip",
                    str(shots_per_strip), "--shot-size", *map(str, shot_size),
                    "--reshot-rate", "0", "--seed", "0"], check=True)
    return images


def load_peer() -> tuple[object, str] | None:
    """imagededup's ``methods`` module and version, or ``None`` if not importable."""
    try:
        import imagededup
        from imagededup import methods
    except ImportError:
        return None
    # Its INFO lines ("Start: Calculating hashes...") would interleave with the table.
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("imagededup"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return methods, imagededup.__version__


def timed(task: Callable[[], int], expected: int) -> float:
    """Wall seconds of ``task()``, which must return the number of codes it made."""
    start = time.perf_counter()
    count = task()
    seconds = time.perf_counter() - start
    if count != expected:
        raise RuntimeError(f"expected {expected} codes, got {count}")
    return seconds


def encoder_task(image_dir: Path, encoder: Encoder, workers: int) -> Callable[[], int]:
    """Encode the folder from its path, as the pipeline does; returns the images encoded."""
    def run() -> int:
        result = encoder.encode(discover_images(image_dir), workers=workers, progress=False)
        return len(result.ok_paths)
    return run


def peer_task(peer_methods: object, method: str, image_dir: Path,
              workers: int) -> Callable[[], int]:
    cls = getattr(peer_methods, PEER_CLASSES[method])

    def run() -> int:
        return len(cls(verbose=False).encode_images(str(image_dir), num_enc_workers=workers))
    return run


def deep_benchmark(paths: list[Path], config: Path, n_images: int, batch: int,
                   repeats: int) -> list[tuple[str, ...]]:
    """Rows of images/s: deep encoder on files, its model and plain timm on tensors."""
    import warnings

    import torch
    from timm.models.swin_transformer import SwinTransformer

    from mmselfsup_ext.apis import DeepHashEncoder, init_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "random weights": intended here
        model = init_model(config, device="cpu")
    encoder = DeepHashEncoder(model, batch_size=batch)
    size = encoder.img_size
    backbone = model.backbone
    # The same Swin-T as the project's backbone, straight from timm: stem + stages +
    # final norm, no FPN, fusion, neck or hash head.
    plain = SwinTransformer(img_size=size, patch_size=backbone.patch_size,
                            window_size=backbone.layers[0].blocks[0].window_size[0],
                            embed_dim=backbone.stage_channels[0],
                            depths=tuple(len(layer.blocks) for layer in backbone.layers),
                            num_heads=tuple(layer.blocks[0].attn.num_heads
                                            for layer in backbone.layers),
                            strict_img_size=False, num_classes=0).eval()
    files = (paths * (n_images // len(paths) + 1))[:n_images]
    tensors = torch.randn(n_images, 3, size, size)

    def forward_all(net: Callable[[torch.Tensor], object]) -> Callable[[], int]:
        def run() -> int:
            with torch.inference_mode():
                for start in range(0, n_images, batch):
                    net(tensors[start:start + batch])
            return n_images
        return run

    def encode_files() -> int:
        return len(encoder.encode(files, workers=1, progress=False).ok_paths)

    tasks = {"deep encoder, files": encode_files,
             "deep model forward, tensors": forward_all(model.project),
             "plain timm Swin-T forward, tensors": forward_all(plain)}
    best = dict.fromkeys(tasks, float("inf"))
    # Warm-up, one batch each: first-call allocations and kernel selection.
    with torch.inference_mode():
        plain(tensors[:batch])
        model.project(tensors[:batch])
    encoder.encode(files[:batch], workers=1, progress=False)
    for _ in range(repeats):
        for name, task in tasks.items():
            best[name] = min(best[name], timed(task, n_images))
    print(f"deep: {type(model).__name__} from {config.name}, {size}x{size} px, batch {batch}, "
          f"{n_images} images, torch {torch.__version__} on CPU with "
          f"{torch.get_num_threads()} threads", flush=True)
    reference = n_images / best["plain timm Swin-T forward, tensors"]
    return [(name, f"{n_images / seconds:.2f}", f"{n_images / seconds / reference:.2f}")
            for name, seconds in best.items()]


def format_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = (
        "method", "workers", "project img/s", "imagededup img/s", "project/imagededup")) -> str:
    widths = [max(len(h), *(len(r[c]) for r in rows)) for c, h in enumerate(header)]
    fmt = "  ".join(["{:<%d}" % widths[0]] + ["{:>%d}" % w for w in widths[1:]])
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    return "\n".join(lines + [fmt.format(*r) for r in rows])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; returns the exit status."""
    args = build_parser().parse_args(argv)
    if min(args.repeats, args.deep_images, args.deep_batch, *args.workers) < 1:
        print("error: --repeats, --workers, --deep-images and --deep-batch must be >= 1",
              file=sys.stderr)
        return 2
    image_dir = args.images or ensure_flight(args.work, tuple(args.shot_size), args.strips,
                                             args.shots_per_strip)
    paths = discover_images(image_dir)
    if not paths:
        print(f"error: no images under {image_dir}", file=sys.stderr)
        return 2
    n = len(paths)
    # Both sides read from the page cache, not the disk.
    for path in paths:
        path.read_bytes()
    peer = load_peer()

    best: dict[tuple[str, int], float] = {}

    def record(key: tuple[str, int], seconds: float) -> None:
        best[key] = min(seconds, best.get(key, float("inf")))

    with tempfile.TemporaryDirectory(prefix="encode_bench_cache_") as tmp:
        for round_ in range(args.repeats):
            print(f"round {round_ + 1}/{args.repeats}", file=sys.stderr, flush=True)
            for workers in args.workers:
                for method in CLASSICAL_METHODS:
                    record((method, workers),
                           timed(encoder_task(image_dir, ClassicalEncoder((method,)), workers), n))
                    if peer is not None:
                        record((f"peer:{method}", workers),
                               timed(peer_task(peer[0], method, image_dir, workers), n))
                record(("all", workers),
                       timed(encoder_task(image_dir, ClassicalEncoder(CLASSICAL_METHODS), workers),
                             n))
                cached = CachedEncoder(ClassicalEncoder(CLASSICAL_METHODS),
                                       Path(tmp) / f"round{round_}_w{workers}")
                record(("cold", workers), timed(encoder_task(image_dir, cached, workers), n))
                record(("warm", workers), timed(encoder_task(image_dir, cached, workers), n))
                record(("features", workers),
                       timed(encoder_task(image_dir, FeatureEncoder(), workers), n))

    rows = []
    for workers in args.workers:
        for method in CLASSICAL_METHODS:
            ours = n / best[(method, workers)]
            if peer is None:
                rows.append((method, str(workers), f"{ours:.1f}", "-", "-"))
                continue
            theirs = n / best[(f"peer:{method}", workers)]
            rows.append((method, str(workers), f"{ours:.1f}", f"{theirs:.1f}",
                         f"{ours / theirs:.1f}x"))
        ours = n / best[("all", workers)]
        if peer is None:
            rows.append(("all four", str(workers), f"{ours:.1f}", "-", "-"))
        else:
            # imagededup has no multi-hash call: all four cost four passes.
            theirs = n / sum(best[(f"peer:{m}", workers)] for m in CLASSICAL_METHODS)
            rows.append(("all four", str(workers), f"{ours:.1f}", f"{theirs:.1f}",
                         f"{ours / theirs:.1f}x"))
        for key, label in (("cold", "all four, cache 1st run"), ("warm", "all four, cache re-run"),
                           ("features", "keypoint features (--verify)")):
            rows.append((label, str(workers), f"{n / best[(key, workers)]:.1f}", "-", "-"))

    mean_mb = sum(p.stat().st_size for p in paths) / n / 1e6
    print(f"images: {n} from {image_dir} (mean file {mean_mb:.2f} MB)")
    print(f"machine: {cpu_model()}, "
          f"{len(os.sched_getaffinity(0))} CPUs available, Python {platform.python_version()}")
    print(f"timing: best of {args.repeats} interleaved rounds, end to end from the folder path")
    if peer is None:
        print("imagededup: not importable (install it per benchmarks/README_encode.md); "
              "project columns only")
    else:
        print(f"imagededup {peer[1]}: <Method>(verbose=False).encode_images(dir, "
              "num_enc_workers=W)")
    print(format_table(rows))
    if args.deep:
        print()
        deep_rows = deep_benchmark(paths, args.deep_config, args.deep_images, args.deep_batch,
                                   args.repeats)
        print(format_table(deep_rows, ("deep path", "img/s", "vs plain timm")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
