"""High-level API for scripts and notebooks: load a hashing model, encode images.

- :func:`init_model`: config + checkpoint (default: the shipped spatial model) -> model in eval mode.
- :func:`encode_images`: image files -> codes of every length at once (an ``EncodeResult``).
- :class:`DeepHashEncoder`: the same as an encoder of the deduplication pipeline.
- :class:`SpatialHashEncoder`: cell codes of a spatial hash model, one packed row per image;
  :func:`spatial_candidates` and :func:`spatial_overlaps` (from
  :mod:`mmselfsup_ext.dedup.spatial`) use them by cell agreement.
"""
from mmselfsup_ext.dedup.spatial import SpatialVoteRule, spatial_candidates, spatial_overlaps
from mmselfsup_ext.engine.config import ConfigError
from mmselfsup_ext.utils import CheckpointError

from mmselfsup_ext.zoo import DEFAULT_MODEL, MODEL_ZOO_DIR, ZOO_MODELS, default_model_files
from .encoder import DeepHashEncoder
from .inference import (DEFAULT_IMG_SIZE, cell_grid, code_method, code_tags, encode_images, init_model,
                        model_img_size, resolve_device, weights_digest)
from .spatial_encoder import SpatialHashEncoder, vote_rule

__all__ = [
    "MODEL_ZOO_DIR",
    "DEFAULT_IMG_SIZE",
    "DEFAULT_MODEL",
    "CheckpointError",
    "ConfigError",
    "DeepHashEncoder",
    "SpatialHashEncoder",
    "SpatialVoteRule",
    "ZOO_MODELS",
    "cell_grid",
    "code_method",
    "code_tags",
    "default_model_files",
    "encode_images",
    "init_model",
    "model_img_size",
    "resolve_device",
    "spatial_candidates",
    "spatial_overlaps",
    "vote_rule",
    "weights_digest",
]
