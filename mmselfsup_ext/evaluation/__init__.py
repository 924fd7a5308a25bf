"""Torch-free evaluation: simulated inspection flights, ground-truth scoring, perturbations.

- :mod:`.surfaces`: procedural concrete walls and real photos (train/eval halves).
- :mod:`.flight`: serpentine flights with known footprints -> shots + ground_truth.json.
- :mod:`.survey`: several walls and passes, distractors, shuffled names -> the hard cases.
- :mod:`.real_surveys`: every real photo in the shared data, tiled into walls at a scale.
- :mod:`.geometry`: convex clipping, overlap ratios, coverage rasters.
- :mod:`.scoring`: pair precision/recall/F1/AUC, dedup rates, coverage retained per wall,
  the ideal coverage-preserving choice.
- :mod:`.perturbations`: the robustness protocol's image perturbations.
"""
from .camera import render_shot
from .flight import FlightPlan, FlightResult, ShotJitter, simulate_flight
from ..geometry import clip_convex, intersection_area, is_convex, overlap_ratio, polygon_area
from .geometry import CoverageGrid, pairwise_overlaps
from .perturbations import PERTURBATIONS
from .real_surveys import photo_label, scaled_walls, shared_photos
from .scoring import (GroundTruth, WallCoverage, format_table, load_ground_truth, roc_auc,
                      score_dedup)
from .surfaces import (REGIONS, Surface, load_photo, procedural_concrete, region_bounds,
                       shared_data_dir, shared_photo)
from .survey import PASS_PRESETS, pass_from_spec, simulate_survey, survey_walls

__all__ = [
    "PASS_PRESETS",
    "PERTURBATIONS",
    "REGIONS",
    "CoverageGrid",
    "FlightPlan",
    "FlightResult",
    "GroundTruth",
    "ShotJitter",
    "Surface",
    "WallCoverage",
    "clip_convex",
    "format_table",
    "intersection_area",
    "is_convex",
    "load_ground_truth",
    "load_photo",
    "overlap_ratio",
    "pairwise_overlaps",
    "pass_from_spec",
    "photo_label",
    "polygon_area",
    "procedural_concrete",
    "region_bounds",
    "render_shot",
    "roc_auc",
    "scaled_walls",
    "score_dedup",
    "shared_data_dir",
    "shared_photo",
    "shared_photos",
    "simulate_flight",
    "simulate_survey",
    "survey_walls",
]
