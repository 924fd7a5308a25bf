"""High-level API for scripts and notebooks: load a hashing model, encode images.

- :func:`init_model`: config + checkpoint (default: the shipped model) -> model in eval mode.
- :func:`encode_images`: image files -> codes of every length at once (an ``EncodeResult``).
- :class:`DeepHashEncoder`: the same as an encoder of the deduplication pipeline.
"""
from mmselfsup_ext.engine.config import ConfigError
from mmselfsup_ext.utils import CheckpointError

from .defaults import MODEL_ZOO_DIR, DEFAULT_MODEL, default_model_files
from .encoder import DeepHashEncoder
from .inference import (DEFAULT_IMG_SIZE, code_method, code_tags, encode_images, init_model,
                        model_img_size, resolve_device, weights_digest)

__all__ = [
    "MODEL_ZOO_DIR",
    "DEFAULT_IMG_SIZE",
    "DEFAULT_MODEL",
    "CheckpointError",
    "ConfigError",
    "DeepHashEncoder",
    "code_method",
    "code_tags",
    "default_model_files",
    "encode_images",
    "init_model",
    "model_img_size",
    "resolve_device",
    "weights_digest",
]
