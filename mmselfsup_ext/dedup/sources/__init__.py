"""Candidate sources: one module each, one registry line each.

========================  =====================================================
name                      module
========================  =====================================================
``window``, ``adjacent``  :mod:`.capture_order`: the ordered pairing's pairs
``features``              :mod:`.keypoints`: keypoint-descriptor retrieval
``codes``                 :mod:`.code_neighbours`: radius and nearest codes
                          (:mod:`.spatial_cells` for spatial codes)
``implied``               :mod:`.implied`: pairs verified homographies imply
========================  =====================================================

To add a source, write a module with a class following
:class:`~.base.CandidateSource` and add it to :data:`SOURCES`; the ones in
:data:`USER_SOURCES` are what ``--candidates`` accepts.
"""
from __future__ import annotations

from .base import CandidateSource, Proposal, as_pairs
from .capture_order import CaptureOrder
from .code_neighbours import CodeNeighbours, verification_candidates
from .implied import ImpliedPairs, implied_pairs, predicted_overlaps
from .keypoints import KeypointRetrieval, feature_candidates
from .spatial_cells import SpatialCells

__all__ = ["SOURCES", "SPATIAL_VARIANTS", "CandidateSource", "Proposal", "as_pairs",
           "build_sources", "feature_candidates", "implied_pairs", "predicted_overlaps",
           "verification_candidates"]

#: Every candidate source by the name options and ``summary.json`` use.
SOURCES: dict[str, type[CandidateSource]] = {
    "window": CaptureOrder,
    "adjacent": CaptureOrder,
    "features": KeypointRetrieval,
    "codes": CodeNeighbours,
    "implied": ImpliedPairs,
}
#: The sources a user chooses among with ``--candidates`` under ``--pairing all``; the
#: first is the default.
USER_SOURCES = ("features", "codes")
#: What serves a source for spatial (cell) codes, whose whole-row distances mean nothing.
SPATIAL_VARIANTS: dict[str, type[CandidateSource]] = {"codes": SpatialCells}


def build_sources(names: tuple[str, ...], spatial: bool) -> list[CandidateSource]:
    """One instance per named source, for one run (instances may keep run-wide work)."""
    return [(SPATIAL_VARIANTS.get(name, SOURCES[name]) if spatial else SOURCES[name])()
            for name in names]
