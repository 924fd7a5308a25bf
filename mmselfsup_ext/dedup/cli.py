"""Command-line layer shared by both deduplication scripts.

A script builds a :class:`~mmselfsup_ext.argtypes.OneLineArgumentParser`, adds its
encoder options, calls
:func:`add_dedup_arguments`, and hands the parsed arguments plus an encoder (or a
zero-argument factory, so ``--undo`` and argument errors never load a model) to
:func:`run_from_args`, whose return value is the exit status:

* 0 - finished (unreadable images are reported, not an error);
* 1 - an action left files in conflict (nothing overwritten), or an I/O error;
* 2 - a usage error (one ``error: ...`` line on stderr, no traceback);
* 130 - interrupted with Ctrl-C.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, Union

from ..argtypes import int_at_least, non_negative_int, number_in, positive_int
from ..fileio import is_within, relative_posix
from ..validation import one_line
from .actions import ActionReport, copy_unique, move_duplicates, undo_move
from .cache import CachedEncodeResult
from .encoders import Encoder
from .coverage import MIN_COVERAGE
from .keep_policies import KEEP_MODES, KEEP_POLICIES, LEGACY_KEEP_MODES
from .options import CANDIDATE_SOURCES, DedupOptions
from .pairing import PAIRING_MODES
from .parallel import default_workers
from .pipeline import check_folders, deduplicate_folder
from .results import DedupRun
from .summary import run_rows
from .threshold import OTSU_SOURCES, parse_threshold

__all__ = ["UsageError", "add_dedup_arguments", "run_from_args", "main_with", "format_table"]

# An encoder, or a zero-argument factory building one only when it is needed.
EncoderLike = Union[Encoder, Callable[[], Encoder]]


class UsageError(Exception):
    """A mistake in the command line; reported as one ``error:`` line, exit status 2."""


def _threshold(text: str) -> str | int:
    try:
        return parse_threshold(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_dedup_arguments(parser: argparse.ArgumentParser, *, image_dir: bool = True
                        ) -> argparse.ArgumentParser:
    """Add the options every deduplication script shares.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        Preferably a :class:`~mmselfsup_ext.argtypes.OneLineArgumentParser`.
    image_dir : bool, default True
        Add the positional ``IMAGE_DIR`` (optional on the command line only so
        that ``--undo MANIFEST`` can run alone).

    Returns
    -------
    argparse.ArgumentParser
        The same parser.
    """
    if image_dir:
        parser.add_argument("image_dir", nargs="?", metavar="IMAGE_DIR",
                            help="folder of images, searched recursively")
    search = parser.add_argument_group("duplicate search")
    search.add_argument("--pairing", choices=PAIRING_MODES, default="window",
                        help="candidate pairs: next --window images in capture order "
                             "(default), disjoint neighbours (paper), or all pairs")
    search.add_argument("--window", type=positive_int, default=3, metavar="K",
                        help="look-ahead for --pairing window (default 3)")
    search.add_argument("--group-by", metavar="REGEX",
                        help="pair and threshold separately per group, keyed by the first "
                             r"capture group of REGEX in the relative path (e.g. '_h(\d+)_')")
    search.add_argument("--threshold", type=_threshold, default="otsu", metavar="otsu|INT",
                        help="duplicate iff Hamming distance <= T; 'otsu' (default) picks T "
                             "per group (spatial codes: distance = %% of disagreeing shared "
                             "cells, 100 when the overlap they imply is below --min-overlap, "
                             "and the default is the model's calibrated T)")
    search.add_argument("--otsu-on", choices=OTSU_SOURCES, default=None,
                        help="--pairing all only: Otsu on k-nearest-neighbour distances "
                             "(default, knn) or on all pair distances")
    search.add_argument("--knn-k", type=positive_int, default=1, metavar="K",
                        help="neighbours per image for --otsu-on knn (default 1)")
    search.add_argument("--report-radius", type=non_negative_int, default=None, metavar="R",
                        help="--pairing all only: list pairs within max(T, R) in pairs.csv "
                             "(default bits/8)")
    search.add_argument("--keep", choices=KEEP_POLICIES, default="first",
                        help="preferred image of a duplicate group (default first in capture "
                             "order)")
    search.add_argument("--keep-mode", choices=KEEP_MODES + tuple(LEGACY_KEEP_MODES),
                        default=None, metavar="{" + ",".join(KEEP_MODES) + "}",
                        help="surface (default with --verify): remove an image only if the "
                             "kept images, projected through verified homographies, still "
                             "show --min-coverage of it; pairwise (default without): remove an "
                             "image only if a kept image is its duplicate; component: one image "
                             "per duplicate group (paper)")
    search.add_argument("--min-coverage", type=number_in(0.0, 1.0, low_open=True), default=MIN_COVERAGE,
                        metavar="F", help="--keep-mode surface: share of a removed image the "
                                          f"kept ones must show (default {MIN_COVERAGE})")
    verify = parser.add_argument_group(
        "geometric verification (judge hash candidates by their measured overlap)")
    verify.add_argument("--verify", action="store_true",
                        help="match keypoints on candidate pairs; duplicate iff the verified "
                             "overlap >= --min-overlap")
    verify.add_argument("--min-overlap", type=number_in(0.0, 1.0, low_open=True), default=0.5, metavar="F",
                        help="shared surface / smaller footprint that makes a duplicate "
                             "(default 0.5)")
    verify.add_argument("--verify-max-side", type=int_at_least(32), default=640, metavar="PX",
                        help="longest side for keypoint detection (default 640)")
    verify.add_argument("--max-features", type=positive_int, default=1000, metavar="N",
                        help="keypoints kept per image, strongest first (default 1000; "
                             "40 KB per image)")
    verify.add_argument("--candidates", choices=CANDIDATE_SOURCES, default=None,
                        help="--pairing all: where pairs to verify come from: keypoint "
                             "descriptors shared by two images, in any file order (default, "
                             "features), the codes' nearest neighbours (codes), or both")
    verify.add_argument("--verify-margin", type=non_negative_int, default=None, metavar="BITS",
                        help="code candidates: verify pairs within T + BITS (default bits/8)")
    verify.add_argument("--verify-knn", type=positive_int, default=4, metavar="K",
                        help="code candidates: also verify each image's K nearest codes "
                             "(default 4)")
    run = parser.add_argument_group("output and execution")
    run.add_argument("--out", type=Path, default=Path("dedup_out"), metavar="DIR",
                     help="output folder for codes, pairs, lists, summaries and "
                          "report.html (default ./dedup_out)")
    run.add_argument("--workers", type=positive_int, default=default_workers(), metavar="N",
                     help="worker processes (default: all available CPUs)")
    run.add_argument("--cache-dir", type=Path, metavar="DIR",
                     help="encodings cache: a re-run encodes only new or changed images "
                          "(default OUT/.cache)")
    run.add_argument("--no-cache", action="store_true",
                     help="encode every image; neither read nor write the cache")
    run.add_argument("--no-progress", action="store_true", help="hide progress bars")
    run.add_argument("--no-report", action="store_true", help="skip report.html")
    act = parser.add_argument_group(
        "actions (default: dry run, only --out is written; nothing is ever deleted)")
    act.add_argument("--copy-unique-to", type=Path, metavar="DIR",
                     help="copy kept images to DIR, keeping relative paths")
    act.add_argument("--move-duplicates-to", type=Path, metavar="DIR",
                     help="move removed images to DIR and write DIR/manifest.json")
    act.add_argument("--act-on", metavar="TAG",
                     help="tag whose keep/remove lists drive the actions (required when "
                          "several tags are computed)")
    act.add_argument("--undo", type=Path, metavar="MANIFEST",
                     help="restore the files listed in a move manifest, then exit")
    act.add_argument("--restore-to", type=Path, metavar="FOLDER",
                     help="with --undo: the folder the files came from, needed when the "
                          "manifest is not signed by your key (edited, or from another "
                          "user or machine); nothing is restored outside it")
    return parser


def format_table(run: DedupRun) -> str:
    """The comparison table printed by the scripts (one row per tag)."""
    summaries = run_rows(run)
    header = ("tag", "threshold", "dup pairs", "groups", "removed", "dedup rate", "encode s")
    rows = [(r["tag"], str(r["threshold"]), str(r["n_duplicate_pairs"]), str(r["n_groups"]),
             f"{r['n_removed']}/{r['n_images']}", f"{100 * r['dedup_rate']:.1f}%",
             f"{r['encode_s']:.2f}") for r in summaries]
    if any("n_verified" in r for r in summaries):
        header += ("verified", "verify s")
        rows = [row + (str(r.get("n_verified", "")), f"{r.get('verify_s', 0.0):.2f}")
                for row, r in zip(rows, summaries)]
    widths = [max(len(h), *(len(row[c]) for row in rows)) for c, h in enumerate(header)]
    fmt = "  ".join(["{:<%d}" % widths[0]] + ["{:>%d}" % w for w in widths[1:]])
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines)


def _show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: TextIO | None = None, line: str | None = None) -> None:
    # A command-line user needs the message, not the library line that raised it.
    sys.stderr.write(f"warning: {one_line(message)}\n")


def _print_action(report: ActionReport, verb: str, out: TextIO) -> None:
    print(f"{verb} {len(report.done)} files"
          + (f", {len(report.skipped)} skipped" if report.skipped else "")
          + (f", {len(report.conflicts)} conflicts (left untouched)" if report.conflicts else "")
          + (f"; manifest: {report.manifest}" if report.manifest else ""), file=out)
    for path, reason in report.skipped[:20]:
        print(f"  skipped {path}: {reason}", file=out)
    for path, reason in report.conflicts:
        print(f"  conflict {path}: {reason}", file=sys.stderr)


def _options(args: argparse.Namespace) -> DedupOptions:
    """Check the command line (before any model is loaded) and build the run's options."""
    if args.image_dir is None:
        raise UsageError("IMAGE_DIR is required (or use --undo MANIFEST alone)")
    check_folders(args.image_dir, args.out)
    root = Path(args.image_dir)
    if args.no_cache and args.cache_dir is not None:
        raise UsageError("--cache-dir and --no-cache exclude each other")
    if args.cache_dir is not None and args.cache_dir.exists() and not args.cache_dir.is_dir():
        raise UsageError(f"--cache-dir {str(args.cache_dir)!r} exists and is not a directory")
    for flag, dest in (("--copy-unique-to", args.copy_unique_to),
                       ("--move-duplicates-to", args.move_duplicates_to)):
        if dest is not None and is_within(dest, root):
            raise UsageError(f"{flag} {str(dest)!r} lies inside the input folder; choose a "
                             f"folder outside {str(root)!r}")
        if dest is not None and dest.exists() and not dest.is_dir():
            raise UsageError(f"{flag} {str(dest)!r} exists and is not a directory")
    if (args.copy_unique_to is not None and args.move_duplicates_to is not None
            and (is_within(args.copy_unique_to, args.move_duplicates_to)
                 or is_within(args.move_duplicates_to, args.copy_unique_to))):
        raise UsageError("--copy-unique-to and --move-duplicates-to must be separate folders")
    cache_dir = None if args.no_cache else (
        args.cache_dir if args.cache_dir is not None else Path(args.out) / ".cache")
    return DedupOptions.from_args(args, cache_dir=cache_dir)


def _action_tag(args: argparse.Namespace, tags: list[str]) -> str | None:
    if args.copy_unique_to is None and args.move_duplicates_to is None:
        if args.act_on is not None:
            raise UsageError("--act-on needs --copy-unique-to or --move-duplicates-to")
        return None
    if args.act_on is None:
        if len(tags) == 1:
            return tags[0]
        raise UsageError(f"--act-on TAG is required with several tags ({', '.join(tags)}): "
                         "choose whose keep/remove lists to act on")
    if args.act_on not in tags:
        raise UsageError(f"--act-on {args.act_on!r} is not one of the computed tags "
                         f"({', '.join(tags)})")
    return args.act_on


def _run(args: argparse.Namespace, encoder: EncoderLike,
         feature_encoder: EncoderLike | None) -> int:
    if args.undo is not None:
        extra = [flag for flag, value in (("IMAGE_DIR", args.image_dir),
                                          ("--copy-unique-to", args.copy_unique_to),
                                          ("--move-duplicates-to", args.move_duplicates_to))
                 if value is not None]
        if extra:
            raise UsageError(f"--undo runs alone; drop {', '.join(extra)}")
        report = undo_move(args.undo, args.restore_to)
        _print_action(report, "restored", sys.stdout)
        return 0 if report.ok else 1
    if args.restore_to is not None:
        raise UsageError("--restore-to goes with --undo MANIFEST")
    options = _options(args)
    enc = encoder if isinstance(encoder, Encoder) else encoder()
    tag = _action_tag(args, list(enc.tags))
    features = (feature_encoder() if options.verify and feature_encoder is not None
                and not isinstance(feature_encoder, Encoder) else feature_encoder)
    run = deduplicate_folder(args.image_dir, enc, args.out, options,
                             feature_encoder=features if options.verify else None)
    print(format_table(run))
    if isinstance(run.encoded, CachedEncodeResult) and run.encoded.cache_path is not None:
        print(f"encodings cache: {run.encoded.n_cached} of {run.n_images} images reused "
              f"({run.encoded.cache_path})")
    unreadable = run.encoded.unreadable
    if unreadable:
        print(f"{len(unreadable)} unreadable files skipped (listed in each "
              f"<tag>/summary.json):", file=sys.stderr)
        for path, reason in unreadable[:10]:
            print(f"  {relative_posix(path, run.root)}: {reason}", file=sys.stderr)
        if len(unreadable) > 10:
            print(f"  ... and {len(unreadable) - 10} more", file=sys.stderr)
    stale = sorted(p.parent.name for p in run.out.glob("*/summary.json")
                   if p.parent.name not in run.outcomes)
    if stale:
        print(f"note: {run.out} also holds older results ({', '.join(stale)}); "
              "summary.csv and report.html cover this run only", file=sys.stderr)
    print(f"outputs: {run.out}")
    if run.report_path is not None:
        print(f"report: {run.report_path}")
    status = 0
    if tag is not None:
        outcome = run.outcomes[tag]
        if args.copy_unique_to is not None:
            report = copy_unique(run.root, outcome.keep_paths, args.copy_unique_to)
            _print_action(report, f"[{tag}] copied kept images:", sys.stdout)
            status = max(status, 0 if report.ok else 1)
        if args.move_duplicates_to is not None:
            report = move_duplicates(run.root, outcome.remove_paths, args.move_duplicates_to)
            _print_action(report, f"[{tag}] moved removed images:", sys.stdout)
            status = max(status, 0 if report.ok else 1)
    return status


def run_from_args(args: argparse.Namespace, encoder: EncoderLike,
                  feature_encoder: EncoderLike | None = None) -> int:
    """Run deduplication (or ``--undo``) from parsed arguments.

    Parameters
    ----------
    args : argparse.Namespace
        From a parser set up by :func:`add_dedup_arguments`.
    encoder : Encoder or callable
        The encoder, or a zero-argument callable building it; a ``ValueError``
        it raises (bad method, bad checkpoint) is reported as a usage error.
    feature_encoder : Encoder or callable, optional
        With ``--verify``: the keypoint-feature extractor when it must differ from
        the default one of the options (e.g. sharded across ``torchrun`` ranks).

    Returns
    -------
    int
        Exit status (see the module docstring). Errors are printed as one
        ``error: ...`` line on stderr, never as a traceback.
    """
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return _run(args, encoder, feature_encoder)
    except (UsageError, ValueError) as exc:
        sys.stderr.write(f"error: {one_line(exc)}\n")
        return 2
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"error: {one_line(exc.strerror or exc)}{where}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130


def main_with(parser: argparse.ArgumentParser,
              build_encoder: Callable[[argparse.Namespace], Encoder],
              argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run; ``build_encoder(args)`` is called only when encoding."""
    args = parser.parse_args(argv)
    return run_from_args(args, lambda: build_encoder(args))
