"""What the benchmark scripts share: the evaluation surface, the flight maker, reused codes.

Run the scripts from anywhere (``python benchmarks/<name>.py``): Python puts this folder
on ``sys.path``, so they ``import _common``.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mmselfsup_ext.dedup import EncodeResult
from mmselfsup_ext.evaluation import (Surface, load_photo, procedural_concrete, shared_photo,
                                      simulate_flight)

#: The real photo where this machine has it (``--photo`` default of every benchmark).
DEFAULT_PHOTO = shared_photo()


def evaluation_surface(photo: Path | None) -> Surface:
    """The right (evaluation) half of ``photo``, or a procedural wall without a photo."""
    if photo is None:
        return procedural_concrete(2592, 2048, seed=7)
    return load_photo(photo, region="eval")


def flight_folder(out: Path, flight: Path | None, photo: Path | None, **flight_options: object
                  ) -> Path:
    """``flight`` if given, else ``out/flight``, simulated over the evaluation surface once.

    A folder already holding a ``ground_truth.json`` is reused, so a benchmark rerun
    with the same ``--out`` measures the same shots.
    """
    if flight is not None:
        return flight
    folder = out / "flight"
    if not (folder / "ground_truth.json").is_file():
        simulate_flight(evaluation_surface(photo), folder, **flight_options)
    return folder


@dataclass
class PrecomputedEncoder:
    """An encoder that returns codes computed once (the same files, several pipeline runs)."""

    tags: dict[str, int]
    identity: str
    result: EncodeResult
    #: Cell codes: their layout and rule (``mmselfsup_ext.dedup.spatial.SpatialCodes``).
    spatial: object = None

    def encode(self, paths: Sequence[Path], workers: int = 1, progress: bool = True
               ) -> EncodeResult:
        """The stored result, after checking it is for exactly these files."""
        known = self.result.ok_paths + [p for p, _ in self.result.unreadable]
        if sorted(map(Path, paths)) != sorted(known):
            raise ValueError("the precomputed codes are for other files")
        return self.result


def parse_model_spec(text: str) -> tuple[str, str | None, str]:
    """``--model LABEL=CHECKPOINT`` or ``LABEL=CONFIG,CHECKPOINT`` as ``(label, config, checkpoint)``.

    The label prefixes the output tags (``LABEL64``), so it must not end in a digit.
    """
    label, sep, files = text.partition("=")
    if not sep or not label or not files:
        raise argparse.ArgumentTypeError(
            f"expected LABEL=CHECKPOINT or LABEL=CONFIG,CHECKPOINT, got {text!r}")
    if not label.replace("-", "").replace("_", "").isalnum() or label[-1].isdigit():
        raise argparse.ArgumentTypeError(
            f"LABEL must be letters/digits/-/_ not ending in a digit, got {label!r}")
    config, comma, checkpoint = files.partition(",")
    return (label, config, checkpoint) if comma else (label, None, files)
