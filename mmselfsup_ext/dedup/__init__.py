"""Deduplication pipeline: discover -> encode -> propose -> verify -> select -> write -> report.

Torch-free: encoders hand codes to the pipeline, which knows nothing of models.
Notebook use::

    from mmselfsup_ext.dedup import ClassicalEncoder, deduplicate_folder
    run = deduplicate_folder("photos/", ClassicalEncoder(["phash"]), "dedup_out/")

or, with codes already at hand, the three verbs :func:`find_duplicates`,
:func:`select_keepers` and :func:`find_duplicates_to_remove`. Every setting is a
field of :class:`DedupOptions`; each function also takes them as keywords.
"""
from .actions import ActionReport, copy_unique, move_duplicates, undo_move
from .cache import CachedEncodeResult, CachedEncoder
from .encoders import ClassicalEncoder, EncodeResult, Encoder
from .hash_search import find_duplicates
from .keep import select_keepers
from .keep_policies import KEEP_MODES, KEEP_POLICIES, duplicate_components
from .options import DedupOptions
from .pairing import PAIRING_MODES, candidate_pairs, group_indices
from .pipeline import deduplicate_folder
from .results import DedupRun, DuplicateSearch, KeepDecision, TagOutcome
from .simple import find_duplicates_to_remove

__all__ = [
    "KEEP_MODES", "KEEP_POLICIES", "PAIRING_MODES",
    "ActionReport", "CachedEncodeResult", "CachedEncoder", "ClassicalEncoder", "DedupOptions",
    "DedupRun", "DuplicateSearch", "EncodeResult", "Encoder", "KeepDecision", "TagOutcome",
    "candidate_pairs", "copy_unique", "deduplicate_folder", "duplicate_components",
    "find_duplicates", "find_duplicates_to_remove", "group_indices", "move_duplicates",
    "select_keepers", "undo_move",
]
