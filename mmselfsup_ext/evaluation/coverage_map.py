"""A picture of the surface a deduplication kept, lost and never had, per wall.

Green: surface a kept shot shows. Red: surface only removed shots showed (lost).
White: surface no shot showed. Walls are drawn side by side at a common height.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageDraw

from .scoring import GroundTruth, WallCoverage

__all__ = ["KEPT_COLOUR", "LOST_COLOUR", "coverage_map"]

KEPT_COLOUR = (60, 160, 70)
LOST_COLOUR = (210, 40, 40)
_EMPTY = (255, 255, 255)


def coverage_map(gt: GroundTruth, kept: Iterable[int], height: int = 240,
                 max_walls: int = 8) -> Image.Image:
    """Coverage of the first ``max_walls`` walls by the shots ``kept`` (shot indices).

    Parameters
    ----------
    gt : GroundTruth
        Shots, footprints and walls.
    kept : iterable of int
        Indices of the kept shots (``gt.files`` order).
    height : int
        Height of each wall's panel in pixels.
    max_walls : int
        Walls drawn (a survey of hundreds of walls would make an unreadable strip).

    Returns
    -------
    PIL.Image.Image
        RGB panels, one per wall, each titled with its surface kept.
    """
    coverage = WallCoverage(gt)
    chosen = np.zeros(len(gt.files), dtype=bool)
    chosen[list(kept)] = True
    panels = []
    for members, grid in coverage.walls[:max_walls]:
        shot = grid.union_mask([gt.footprints[k] for k in members])
        kept_mask = grid.union_mask([gt.footprints[k] for k in members[chosen[members]]])
        rgb = np.full(shot.shape + (3,), _EMPTY, dtype=np.uint8)
        rgb[shot] = LOST_COLOUR
        rgb[kept_mask] = KEPT_COLOUR
        panel = Image.fromarray(rgb)
        width = max(1, round(panel.width * height / panel.height))
        panel = panel.resize((width, height), Image.Resampling.NEAREST)
        retained = kept_mask.sum() / max(1, shot.sum())
        ImageDraw.Draw(panel).text((4, 4), f"{100 * retained:.2f}% kept", fill=(0, 0, 0))
        panels.append(panel)
    gap = 8
    canvas = Image.new("RGB", (sum(p.width for p in panels) + gap * (len(panels) - 1), height),
                       _EMPTY)
    x = 0
    for panel in panels:
        canvas.paste(panel, (x, 0))
        x += panel.width + gap
    return canvas
