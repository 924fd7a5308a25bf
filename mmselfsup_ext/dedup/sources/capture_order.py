"""Capture-order candidates (``--pairing window`` / ``adjacent``): the pairs the hash
search enumerated in file order, every one of them verified.

Shifted views of a flight are mostly beyond any hash threshold but few per image, so
each ordered candidate is worth a geometric check.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..results import DuplicateSearch
from .base import Proposal, as_pairs

__all__ = ["CaptureOrder"]


class CaptureOrder:
    """Every candidate pair of an ordered hash search."""

    after_verification: ClassVar[bool] = False

    def propose(self, proposal: Proposal, verified: DuplicateSearch | None = None
                ) -> np.ndarray:
        """The search's own pairs (each image against its capture-order neighbours)."""
        return as_pairs(proposal.search.i, proposal.search.j)
