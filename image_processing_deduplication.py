#!/usr/bin/env python3
"""Deduplicate a folder of images with classical perceptual hashes.

Runs aHash, dHash, pHash and wHash (or a subset) through the shared pipeline,
prints a comparison table and writes the DESIGN §5 output contract plus
report.html. Dry run by default: only --out is written.

Examples
--------
    image_processing_deduplication.py flight/images --pairing window --window 3
    image_processing_deduplication.py photos/ --methods phash --pairing all \
        --move-duplicates-to photos_dups/
    image_processing_deduplication.py --undo photos_dups/manifest.json
"""
from __future__ import annotations

import sys

from mmselfsup_ext.dedup.cli import DedupArgumentParser, add_dedup_arguments, main_with
from mmselfsup_ext.dedup.encoders import ClassicalEncoder
from mmselfsup_ext.hashing import CLASSICAL_METHODS


def build_parser() -> DedupArgumentParser:
    """Command-line parser: encoder options plus the shared dedup options."""
    parser = DedupArgumentParser(
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


if __name__ == "__main__":
    sys.exit(main())
