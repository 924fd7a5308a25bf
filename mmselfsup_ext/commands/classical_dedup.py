"""``image-processing-deduplication``: a folder deduplicated with classical perceptual hashes.

Runs aHash, dHash, pHash and wHash (or a subset) through the shared pipeline,
prints a comparison table and writes the output contract plus report.html. Dry
run by default: only --out is written. Installed as the console command
``image-processing-deduplication``; ``image_processing_deduplication.py`` at the
repository root runs the same ``main``.

Examples
--------
    image-processing-deduplication flight/images --pairing window --window 3
    image-processing-deduplication photos/ --methods phash --pairing all \
        --move-duplicates-to photos_dups/
    image-processing-deduplication --undo photos_dups/manifest.json
"""
from __future__ import annotations

from ..argtypes import OneLineArgumentParser
from ..dedup.cli import add_dedup_arguments, main_with
from ..dedup.encoders import ClassicalEncoder
from ..hashing import CLASSICAL_METHODS


def build_parser() -> OneLineArgumentParser:
    """Command-line parser: encoder options plus the shared dedup options."""
    parser = OneLineArgumentParser(
        description="Find and act on near-duplicate images with classical perceptual "
                    "hashes (tags like phash64). Source images are never deleted.")
    add_dedup_arguments(parser)
    enc = parser.add_argument_group("classical hashes")
    enc.add_argument("--methods", nargs="+", choices=CLASSICAL_METHODS,
                     default=list(CLASSICAL_METHODS), metavar="METHOD",
                     help=f"hashes to compare, any of {' '.join(CLASSICAL_METHODS)} "
                          "(default: all)")
    enc.add_argument("--hash-size", type=int, default=8, metavar="S",
                     help="hash grid side; codes have S*S bits (default 8 -> 64 bits)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    return main_with(build_parser(),
                     lambda args: ClassicalEncoder(args.methods, args.hash_size), argv)

