"""``swinfpn-hashclr-deduplication``: a folder deduplicated with learned SwinFpnHashCLR codes.

One forward pass per image gives the 32-, 64-, 96- and 128-bit codes (tags
``hashclr32`` ... ``hashclr128``, or ``simclr<bits>`` for a SimCLR config), which run
through the same pipeline, output contract and options as
``image-processing-deduplication``. A spatial hash config (``SwinFpnSpatialHash``,
``configs/selfsup/spatialhash``) gives one code per cell instead (tag
``spatialhash64x8x8``): pairs are judged by how many of the cells they share under one
shift agree (``mmselfsup_ext.dedup.spatial``; the threshold comes from the config), and
``--pairing all`` finds each image's closest partners in any file order. Dry run by default: only --out is written.
Installed as the console command ``swinfpn-hashclr-deduplication``;
``SwinFpnHashCLR_deduplication.py`` at the repository root runs the same ``main``.

CONFIG is optional: with two positionals the first is CONFIG; a single positional is
CONFIG only if it ends in ``.py``. Without CONFIG and --checkpoint a shipped model
(package data, :mod:`mmselfsup_ext.model_zoo`) is used: ``--model spatialhash`` (the
default) or ``--model hashclr`` (the paper's global codes); with --checkpoint alone, the
config embedded in the checkpoint.

Examples
--------
    swinfpn-hashclr-deduplication survey/images --pairing all
    swinfpn-hashclr-deduplication flight/images --model hashclr --pairing window --window 3
    swinfpn-hashclr-deduplication CONFIG --checkpoint CKPT flight/images --bits 64 128
    swinfpn-hashclr-deduplication photos/ --pairing all --device cuda:0 --batch-size 64
    swinfpn-hashclr-deduplication --undo photos_dups/manifest.json
"""
from __future__ import annotations

import argparse
import os

from ..zoo import DEFAULT_MODEL, ZOO_MODELS
from ..argtypes import OneLineArgumentParser, positive_int
from ..dedup.cli import add_dedup_arguments, run_from_args

CODE_LENGTHS = (32, 64, 96, 128)


def build_parser() -> OneLineArgumentParser:
    """Command-line parser: model options plus the shared dedup options."""
    parser = OneLineArgumentParser(
        usage="%(prog)s [CONFIG] [--checkpoint CKPT] IMAGE_DIR [options]",
        description="Find and act on near-duplicate images with learned codes: per-cell codes "
                    "of the shipped spatial model (tag spatialhash64x8x8) or SwinFpnHashCLR codes "
                    "(tags like hashclr64). Source images are never deleted.")
    parser.add_argument("positionals", nargs="*", metavar="[CONFIG] IMAGE_DIR",
                        help="model config (.py; default: the shipped model of --model) and the folder of "
                             "images, searched recursively")
    add_dedup_arguments(parser, image_dir=False)
    model = parser.add_argument_group("deep hashing model")
    model.add_argument("--checkpoint", metavar="CKPT",
                       help="weights of CONFIG (default: the shipped model's, when no CONFIG "
                            "is given)")
    model.add_argument("--model", choices=sorted(ZOO_MODELS), default=None,
                       help=f"shipped model used without CONFIG and --checkpoint: spatialhash "
                            f"(per-cell codes, finds overlapping shots in any file order) or "
                            f"hashclr (the paper's global codes) (default: {DEFAULT_MODEL})")
    model.add_argument("--bits", nargs="+", type=int, choices=CODE_LENGTHS, default=None,
                       metavar="BITS",
                       help="code lengths, any of 32 64 96 128 (default: all; not for a "
                            "spatial hash model, whose cells have one length)")
    model.add_argument("--device", default="auto",
                       help="auto (CUDA if available), cpu, cuda or cuda:N (default: auto)")
    model.add_argument("--batch-size", type=positive_int, default=16, metavar="N",
                       help="images per forward pass (default 16)")
    model.add_argument("--img-size", type=positive_int, default=None, metavar="PX",
                       help="inference size, a multiple of 32 (default: the config's "
                            "inference_img_size, else 512)")
    return parser


def split_positionals(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Set ``args.config`` and ``args.image_dir`` from the positional arguments."""
    given = list(args.positionals)
    if len(given) > 2:
        parser.error(f"expected [CONFIG] IMAGE_DIR, got {len(given)} positional arguments: {' '.join(given)}")
    if len(given) == 2:
        args.config, args.image_dir = given
    elif len(given) == 1 and given[0].endswith(".py"):
        args.config, args.image_dir = given[0], None
    else:
        args.config, args.image_dir = None, (given[0] if given else None)
    if args.config is not None and args.checkpoint is None:
        parser.error(f"CONFIG {args.config!r} needs its --checkpoint (or give neither for the "
                     "shipped default model)")
    if args.model is not None and args.checkpoint is not None:
        parser.error("--model picks a shipped model; it does not combine with CONFIG or --checkpoint")


def _torchrun() -> bool:
    """Started by ``torchrun --nproc-per-node N`` with N > 1 (checked without importing torch)."""
    return os.environ.get("WORLD_SIZE", "1") != "1"


def build_encoder(args: argparse.Namespace):
    """Load the model and wrap it as the pipeline's encoder; errors become ValueError."""
    # Imported here so --help, --undo and usage errors never import torch.
    from ..apis import (DEFAULT_MODEL, CheckpointError, DeepHashEncoder, SpatialHashEncoder,
                        default_model_files, init_model)
    from ..models.algorithms.swin_fpn_spatial_hash import SwinFpnSpatialHash

    device = args.device
    if device == "auto" and _torchrun():
        from ..apis.distributed import local_device
        device = local_device()  # cuda:LOCAL_RANK, not cuda:0 on every rank
    config, checkpoint = args.config, args.checkpoint
    try:
        if config is None and checkpoint is None:
            config, checkpoint = default_model_files(args.model or DEFAULT_MODEL)
        model = init_model(config, checkpoint, device=device)
        if not isinstance(model, SwinFpnSpatialHash):
            return DeepHashEncoder(model, bits=args.bits or list(CODE_LENGTHS),
                                   batch_size=args.batch_size, img_size=args.img_size)
        if args.bits is not None:
            raise ValueError("--bits selects code lengths of a global model; a spatial hash model has "
                             "one code per cell (for the shipped global model add --model hashclr)")
        encoder = SpatialHashEncoder(model, batch_size=args.batch_size, img_size=args.img_size)
        if encoder.spatial is None:
            source = (f"config {str(config)!r}" if config is not None
                      else f"the config embedded in {str(checkpoint)!r}")
            raise ValueError(f"{source} has no spatial_vote_rule = dict(radius=..., threshold=...); "
                             "fix one with benchmarks/learned.py and pass the config")
        return encoder
    except (CheckpointError, FileNotFoundError) as exc:
        # run_from_args reports ValueErrors as one "error:" line with exit status 2.
        raise ValueError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    # Intermixed parsing lets CONFIG come before options and IMAGE_DIR after them.
    args = parser.parse_intermixed_args(argv)
    split_positionals(parser, args)
    if _torchrun():
        # Rank 0 runs the pipeline and writes --out; the other ranks only encode
        # their shard of each encode request and return 0.
        from ..apis.distributed import run_distributed
        from ..dedup.verify import FeatureEncoder
        builders = {"codes": lambda: build_encoder(args),
                    "features": lambda: FeatureEncoder(max_side=args.verify_max_side,
                                                       n_features=args.max_features)}
        return run_distributed(lambda encoders: run_from_args(
            args, encoders["codes"], feature_encoder=encoders["features"]), builders)
    return run_from_args(args, lambda: build_encoder(args))

