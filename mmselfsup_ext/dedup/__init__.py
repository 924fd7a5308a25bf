"""Deduplication pipeline: discover -> encode -> pair -> threshold -> group -> keep -> act.

Torch-free: encoders hand codes to the pipeline, which knows nothing of models.
Notebook use::

    from mmselfsup_ext.dedup import ClassicalEncoder, deduplicate_folder
    run = deduplicate_folder("photos/", ClassicalEncoder(["phash"]), "dedup_out/")

or, with codes already at hand, :func:`find_duplicates`,
:func:`select_keepers` and :func:`find_duplicates_to_remove`.
"""
from .actions import ActionReport, copy_unique, move_duplicates, undo_move
from .cache import CachedEncodeResult, CachedEncoder
from .discover import IMAGE_EXTENSIONS, discover_images, natural_key
from .encoders import ClassicalEncoder, EncodeResult, Encoder
from .grouping import KEEP_POLICIES, duplicate_components
from .loading import UnreadableImageError, load_image
from .pairing import PAIRING_MODES, candidate_pairs, group_indices
from .pipeline import (DedupRun, DuplicateSearch, KeepDecision, TagOutcome,
                       deduplicate_folder, find_duplicates, find_duplicates_to_remove,
                       select_keepers)

__all__ = [
    "IMAGE_EXTENSIONS", "KEEP_POLICIES", "PAIRING_MODES",
    "ActionReport", "CachedEncodeResult", "CachedEncoder", "ClassicalEncoder", "DedupRun", "DuplicateSearch", "EncodeResult",
    "Encoder", "KeepDecision", "TagOutcome", "UnreadableImageError",
    "candidate_pairs", "copy_unique", "deduplicate_folder", "discover_images",
    "duplicate_components", "find_duplicates", "find_duplicates_to_remove",
    "group_indices", "load_image", "move_duplicates", "natural_key", "select_keepers",
    "undo_move",
]
