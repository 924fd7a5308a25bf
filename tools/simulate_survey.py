"""Simulate an inspection survey with the hard cases of duplicate detection (docs/design.md §6).

Several distinct walls, each flown in one or more passes (pass 0 over every wall, then
pass 1, ...), optional unrelated photos mixed in, optional shuffled file names; exact
ground truth in OUT/ground_truth.json (schema: ``mmselfsup_ext.evaluation.survey``).

Example::

    python tools/simulate_survey.py --out demo_out/survey --walls 4 --distractors 3
    python tools/simulate_survey.py --out survey_big --walls 20 --shuffle-names \\
        --passes coarse,dense:strips=20:shots_per_strip=12
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mmselfsup_ext.argtypes import (OneLineArgumentParser, dimensions, non_negative_int,
                                    number_in, positive_int)
from mmselfsup_ext.evaluation import (PASS_PRESETS, FlightPlan, pass_from_spec, shared_photo,
                                      simulate_survey, survey_walls)


def pass_list(text: str) -> list[FlightPlan]:
    """Type function: comma-separated pass specs (``PRESET[:field=value...]``)."""
    try:
        return [pass_from_spec(spec) for spec in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface of the survey simulator."""
    presets = ", ".join(f"{name} ({p.strips} strips x {p.shots_per_strip} shots, overlap "
                        f"{p.forward_overlap:g}/{p.side_overlap:g}, footprint scale "
                        f"{p.footprint_scale:g}, re-shots {p.reshot_rate:g})"
                        for name, p in PASS_PRESETS.items())
    parser = OneLineArgumentParser(
        description="Write a simulated inspection survey: several walls, each flown in one "
                    "or more serpentine passes, optional unrelated photos and shuffled file "
                    "names. Images go to OUT/images/, footprints (in the coordinates of each "
                    "wall), overlaps within walls and the distractor list to "
                    "OUT/ground_truth.json.")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--walls", type=positive_int, default=3,
                        help="number of distinct walls, the photo's included (default: 3)")
    parser.add_argument("--photo", type=Path, default=None,
                        help="wall 0 is the right (evaluation) half of this photo (default: "
                             "../shared/data/concrete_h0_l2.jpg beside the repository if "
                             "present, else procedural walls only)")
    parser.add_argument("--no-photo", action="store_true",
                        help="procedural walls only, even if the default photo is present")
    parser.add_argument("--wall-size", type=dimensions(64), default=(1296, 2048),
                        metavar="WxH",
                        help="procedural wall size, the photo half's by default "
                             "(default: 1296x2048)")
    parser.add_argument("--wall-seed", type=non_negative_int, default=0,
                        help="seed of the first procedural wall; the others count up from "
                             "it. Keep clear of training walls (tools/make_training_data.py "
                             "uses 1000 and up) (default: 0)")
    parser.add_argument("--passes", type=pass_list, default="coarse,dense",
                        metavar="SPEC[,SPEC...]",
                        help="passes flown over every wall, in capture order; a SPEC is a "
                             "preset name, optionally with :field=value overrides of strips, "
                             "shots_per_strip, forward_overlap, side_overlap, footprint_scale "
                             "(stand-off: 1 = largest footprint that fits, smaller = closer, "
                             "grid centred) or reshot_rate, e.g. "
                             "'coarse,dense:strips=20:shots_per_strip=12'. Presets: "
                             f"{presets} (default: coarse,dense)")
    parser.add_argument("--distractors", type=non_negative_int, default=0,
                        help="unrelated photos mixed in, never to be removed: scikit-image's "
                             "samples (brick, gravel, grass, camera, coffee, rocket, "
                             "astronaut, chelsea), then concrete-like photos of walls outside "
                             "the survey (default: 0)")
    parser.add_argument("--shuffle-names", action="store_true",
                        help="name every file IMG_<random>.jpg (seeded), as after merged "
                             "memory cards and renames; ground truth keeps each shot's "
                             "capture_index (default: names in capture order, "
                             "p<pass>_w<wall>_h<strip>_<capture>.jpg, distractors "
                             "photo_<k>.jpg)")
    parser.add_argument("--shot-size", type=dimensions(16), default=(320, 256), metavar="WxH",
                        help="image size in pixels (default: 320x256)")
    parser.add_argument("--overlap-threshold", type=number_in(0.0, 1.0, low_open=True),
                        default=0.5,
                        help="overlap at which a pair counts as duplicate (default: 0.5)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="random seed; the same arguments give byte-identical output "
                             "(default: 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the walls, fly the survey, print one summary line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.no_photo and args.photo is not None:
        parser.error("--photo and --no-photo exclude each other")
    start = time.perf_counter()
    photo = args.photo
    if photo is None and not args.no_photo:
        photo = shared_photo()
    try:
        walls = survey_walls(args.walls, size=args.wall_size, first_seed=args.wall_seed,
                             photo=photo)
        result = simulate_survey(walls, args.out, passes=args.passes,
                                 distractors=args.distractors,
                                 shuffle_names=args.shuffle_names, shot_size=args.shot_size,
                                 overlap_threshold=args.overlap_threshold, seed=args.seed)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    survey = result.ground_truth["survey"]
    print(f"wrote {survey['n_shots']} shots ({survey['n_reshots']} re-shots) over "
          f"{survey['n_walls']} walls{' (wall 0: ' + photo.name + ')' if photo else ''} in "
          f"{survey['n_passes']} passes and {survey['n_distractors']} distractors to "
          f"{result.images_dir} and {result.ground_truth_path} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
