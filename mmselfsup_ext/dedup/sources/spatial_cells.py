"""Spatial-code candidates (``--candidates codes`` with a spatial encoder).

The spatial search (:func:`~..spatial.spatial_search`) already chose each image's
closest partners by cell agreement, in any file order: as with capture order, the
search's own pairs are the candidates.
"""
from __future__ import annotations

from .capture_order import CaptureOrder

__all__ = ["SpatialCells"]


class SpatialCells(CaptureOrder):
    """The pairs the spatial search lists (each image's best cell agreements)."""
