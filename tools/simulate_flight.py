"""Simulate an inspection flight: overlapping shots plus ground_truth.json (docs/design.md §6).

Example::

    python tools/simulate_flight.py --out demo_out/flight --seed 0
    python tools/simulate_flight.py --out flight_train --region train --strips 6
    python tools/simulate_flight.py --out wall --surface procedural --surface-size 6000 4000
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mmselfsup_ext.argtypes import OneLineArgumentParser, number_in, positive_int
from mmselfsup_ext.evaluation import (REGIONS, load_photo, procedural_concrete, shared_photo,
                                      simulate_flight)


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface of the flight simulator."""
    parser = OneLineArgumentParser(
        description="Write a simulated serpentine inspection flight (shots in capture order "
                    "under OUT/images/, footprints and overlaps in OUT/ground_truth.json).")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--surface", default=None,
                        help="'procedural' or a photo path (default: ../shared/data/"
                             "concrete_h0_l2.jpg beside the repository if present, "
                             "else procedural)")
    parser.add_argument("--region", choices=REGIONS, default="eval",
                        help="part of a photo to fly over: train = left half, eval = right "
                             "half (reserved for evaluation), full (default: eval; ignored "
                             "for procedural surfaces)")
    parser.add_argument("--surface-size", nargs=2, type=positive_int, metavar=("W", "H"),
                        default=(1296, 2048), help="procedural wall size (default: 1296 2048)")
    parser.add_argument("--strips", type=positive_int, default=10, help="strips (default: 10)")
    parser.add_argument("--shots-per-strip", type=positive_int, default=8,
                        help="shots per strip (default: 8)")
    parser.add_argument("--forward-overlap", type=number_in(0.0, 1.0), default=0.7,
                        help="overlap of consecutive shots in a strip, in [0, 1) (default: 0.7)")
    parser.add_argument("--side-overlap", type=number_in(0.0, 1.0), default=0.4,
                        help="overlap of adjacent strips, in [0, 1) (default: 0.4)")
    parser.add_argument("--reshot-rate", type=number_in(0.0, 1.0), default=0.05,
                        help="probability of a hovering re-shot after a shot (default: 0.05)")
    parser.add_argument("--shot-size", nargs=2, type=positive_int, metavar=("W", "H"),
                        default=(512, 410), help="shot size in pixels (default: 512 410)")
    parser.add_argument("--overlap-threshold", type=number_in(0.0, 1.0), default=0.5,
                        help="overlap at which a pair counts as duplicate (default: 0.5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the surface, fly, print one summary line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    start = time.perf_counter()
    spec = args.surface
    if spec is None:
        photo = shared_photo()
        spec = "procedural" if photo is None else str(photo)
    try:
        if spec == "procedural":
            width, height = args.surface_size
            surface = procedural_concrete(width, height, seed=args.seed)
            described = f"procedural wall {width}x{height}"
        else:
            surface = load_photo(spec, region=args.region)
            described = (f"{Path(spec).name} [{args.region}, "
                         f"{surface.width}x{surface.height}]")
        result = simulate_flight(
            surface, args.out, strips=args.strips, shots_per_strip=args.shots_per_strip,
            forward_overlap=args.forward_overlap, side_overlap=args.side_overlap,
            shot_size=tuple(args.shot_size), reshot_rate=args.reshot_rate,
            overlap_threshold=args.overlap_threshold, seed=args.seed)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    flight = result.ground_truth["flight"]
    print(f"wrote {flight['n_shots']} shots ({flight['n_reshots']} re-shots) over {described} "
          f"to {result.images_dir} and {result.ground_truth_path} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
