"""Candidate sources: the registry the options validate against, and the seam a new
source plugs into (one module, one registry line)."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from mmselfsup_ext.dedup import ClassicalEncoder, DedupOptions, deduplicate_folder
from mmselfsup_ext.dedup import sources as source_registry
from mmselfsup_ext.dedup.options import CANDIDATE_SOURCES
from mmselfsup_ext.dedup.sources import CaptureOrder, SpatialCells, as_pairs, build_sources
from mmselfsup_ext.evaluation import procedural_concrete, simulate_survey


@pytest.mark.parametrize("settings, expected", [
    ({}, ("window",)),
    ({"pairing": "adjacent", "verify": True}, ("adjacent",)),
    ({"pairing": "all", "verify": True}, ("features", "implied")),
    ({"pairing": "all", "verify": True, "candidates": "codes"}, ("codes", "implied")),
    ({"pairing": "all", "verify": True, "candidates": "both"},
     ("features", "codes", "implied")),
])
def test_options_name_the_sources_of_every_pairing(settings, expected):
    assert DedupOptions(**settings).sources == expected


def test_every_named_source_is_registered_and_the_cli_choices_are_the_registry():
    assert CANDIDATE_SOURCES == source_registry.USER_SOURCES + ("both",)
    for name in ("window", "adjacent", *source_registry.USER_SOURCES, "implied"):
        assert name in source_registry.SOURCES
    with pytest.raises(ValueError, match="candidates must be one of"):
        DedupOptions(pairing="all", verify=True, candidates="everything")


def test_spatial_codes_take_the_cell_variant_of_the_code_source():
    plain, spatial = build_sources(("codes", "window"), False), build_sources(("codes", "window"), True)
    assert type(spatial[0]) is SpatialCells and type(plain[0]) is not SpatialCells
    assert type(plain[1]) is type(spatial[1]) is CaptureOrder


class _EveryPair:
    """A toy source: every pair of the survey (what an exhaustive verifier would check)."""

    after_verification = False

    def propose(self, proposal, verified=None):
        n = len(proposal.search.paths)
        pairs = np.array(list(itertools.combinations(range(n), 2)), dtype=np.int64)
        return as_pairs(pairs[:, 0], pairs[:, 1])


def test_a_source_added_by_one_registry_line_is_accepted_and_its_pairs_verified(
        tmp_path, monkeypatch):
    walls = [procedural_concrete(900, 700, seed=3)]
    survey = simulate_survey(walls, tmp_path / "survey", distractors=2, seed=1,
                             passes=("coarse:strips=2:shots_per_strip=3",
                                     "dense:strips=3:shots_per_strip=4"),
                             shot_size=(256, 205))
    monkeypatch.setitem(source_registry.SOURCES, "every", _EveryPair)
    monkeypatch.setattr(source_registry, "USER_SOURCES", source_registry.USER_SOURCES + ("every",))
    run = deduplicate_folder(survey.images_dir, ClassicalEncoder(["phash"]), tmp_path / "out",
                             pairing="all", verify=True, candidates="every", progress=False,
                             html_report=False)
    outcome = run.outcomes["phash64"]
    n = run.n_images
    assert {(int(a), int(b)) for a, b in zip(outcome.search.i, outcome.search.j)} == set(
        itertools.combinations(range(n), 2))
    summary = json.loads((tmp_path / "out" / "phash64" / "summary.json").read_text())
    # Every pair was proposed, so the closure over verified homographies adds none.
    assert summary["candidate_sources"] == ["every"] and summary["n_implied"] == 0
