"""Generate the unlabeled training images of the shipped default model.

Square tiles are cut at random positions and sizes from

- the LEFT half (x < width // 2) of the real inspection photo (its right half is
  reserved for evaluation and is never decoded: ``load_photo(region="train")``), and
- procedural concrete walls (:func:`mmselfsup_ext.evaluation.procedural_concrete`) with
  seeds from ``--wall-seed`` upwards, disjoint from the simulator's default seed 0,

and written as JPEGs of ``--tile-size`` pixels. A tile spans 480 to 800 surface pixels by
default, somewhat more than one simulated shot's footprint (about 400 x 320 px on the
photo), so a training view cropped from a tile sees the surface at the scale the drone
does, and two overlapping views of one tile mimic two overlapping shots.
``manifest.json`` records the arguments and every tile's source box.

Example (the command behind the shipped model)::

    python tools/make_training_data.py --out data/concrete --seed 0
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mmselfsup_ext.argtypes import OneLineArgumentParser, non_negative_int, positive_int
from mmselfsup_ext.evaluation import Surface, load_photo, procedural_concrete, shared_photo


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface."""
    parser = OneLineArgumentParser(description="Cut training tiles from the left (training) half of the "
                                        "real photo and from procedural concrete walls.")
    parser.add_argument("--out", type=Path, default=Path("data/concrete"),
                        help="output folder, created if missing; must hold no images "
                             "(default: data/concrete, the configs' data_root)")
    parser.add_argument("--photo", type=Path, default=shared_photo(),
                        help="real photo; only its left half is read "
                             "(default: ../shared/data/concrete_h0_l2.jpg beside the repository)")
    parser.add_argument("--photo-tiles", type=non_negative_int, default=800,
                        help="tiles from the photo's left half (default: 800)")
    parser.add_argument("--walls", type=non_negative_int, default=4,
                        help="procedural walls (default: 4)")
    parser.add_argument("--wall-tiles", type=non_negative_int, default=100,
                        help="tiles per procedural wall (default: 100)")
    parser.add_argument("--wall-size", nargs=2, type=positive_int, metavar=("W", "H"),
                        default=(1296, 2048), help="procedural wall size (default: 1296 2048)")
    parser.add_argument("--wall-seed", type=non_negative_int, default=1000,
                        help="seed of the first procedural wall (default: 1000)")
    parser.add_argument("--tile-span", nargs=2, type=positive_int, metavar=("MIN", "MAX"),
                        default=(480, 800), help="tile side in surface pixels (default: 480 800)")
    parser.add_argument("--tile-size", type=positive_int, default=256,
                        help="side of the written tiles in pixels (default: 256)")
    parser.add_argument("--quality", type=positive_int, default=92, help="JPEG quality (default: 92)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return parser


def cut_tiles(surface: Surface, count: int, span: tuple[int, int], size: int,
              rng: np.random.Generator) -> list[tuple[Image.Image, list[int]]]:
    """Cut ``count`` random square tiles from a surface and resize them.

    Parameters
    ----------
    surface : Surface
        Source pixels.
    count : int
        Number of tiles.
    span : (int, int)
        Range of the tile side in surface pixels; clipped to the surface's shorter side.
    size : int
        Output side in pixels.
    rng : numpy.random.Generator
        Source of the positions and sides.

    Returns
    -------
    list of (PIL.Image.Image, [x0, y0, x1, y1])
        The tiles and their boxes in surface pixels.
    """
    lo, hi = span
    if not 0 < lo <= hi:
        raise ValueError(f"tile span must satisfy 0 < MIN <= MAX, got {span}")
    shorter = min(surface.width, surface.height)
    image = Image.fromarray(surface.pixels)
    tiles = []
    for _ in range(count):
        side = int(min(shorter, rng.integers(lo, hi + 1)))
        x0 = int(rng.integers(0, surface.width - side + 1))
        y0 = int(rng.integers(0, surface.height - side + 1))
        box = [x0, y0, x0 + side, y0 + side]
        tiles.append((image.resize((size, size), Image.Resampling.LANCZOS, box=tuple(box)), box))
    return tiles


def _prepare_out(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if any(out.glob("*.jpg")):
        raise ValueError(f"{out} already holds JPEG images; choose an empty or new --out folder")


def main(argv: list[str] | None = None) -> int:
    """Write the tiles and ``manifest.json``; print one summary line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.photo is None and args.photo_tiles:
        parser.error("the shared real photo is not on this machine: give --photo PATH, or "
                     "--photo-tiles 0 for procedural walls only")
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    records = []
    try:
        _prepare_out(args.out)
        sources: list[tuple[str, Surface, int]] = []
        if args.photo_tiles:
            sources.append(("photo", load_photo(args.photo, region="train"), args.photo_tiles))
        for k in range(args.walls):
            if args.wall_tiles:
                wall = procedural_concrete(*args.wall_size, seed=args.wall_seed + k)
                sources.append((f"wall{args.wall_seed + k}", wall, args.wall_tiles))
        if not sources:
            raise ValueError("nothing to write: --photo-tiles and --walls/--wall-tiles are all 0")
        for name, surface, count in sources:
            for i, (tile, box) in enumerate(cut_tiles(surface, count, tuple(args.tile_span),
                                                      args.tile_size, rng)):
                file = f"{name}_{i:05d}.jpg"
                tile.save(args.out / file, quality=args.quality)
                records.append({"file": file, "source": name, "box": box})
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    manifest = {
        "command": "tools/make_training_data.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "photo": {"path": args.photo.name, "region": "train"} if args.photo_tiles else None,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "tiles": records,
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(records)} tiles to {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
