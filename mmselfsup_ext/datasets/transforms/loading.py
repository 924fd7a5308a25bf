"""Decoding of image files into the pipeline's (3, H, W) uint8 RGB tensors."""
from __future__ import annotations

import warnings

from mmengine.logging import print_log
from torchvision.transforms.v2 import functional as F

from mmselfsup_ext.fileio.loading import UnreadableImageError, load_image
from mmselfsup_ext.registry import TRANSFORMS

from .base import BaseTransform

__all__ = ["LoadImage", "UnreadableImageWarning"]


class UnreadableImageWarning(UserWarning):
    """An image of the training folder could not be decoded and is skipped."""


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Load ``results['img_path']`` as an upright RGB uint8 tensor ``results['img']``.

    Decoding goes through :func:`mmselfsup_ext.fileio.loading.load_image`, the same
    loader the deduplication pipeline uses, so training and encoding see identical
    pixels. An unreadable file yields ``None`` (the dataset then draws another
    sample) and one :class:`UnreadableImageWarning` per file and process.

    Parameters
    ----------
    min_size : int, optional
        Smallest side the rest of the pipeline needs; JPEGs are then decoded in draft
        mode (1/2, 1/4 or 1/8 scale), much faster for 20 MP photos. ``None`` decodes
        at full size.
    """

    def __init__(self, min_size: int | None = None) -> None:
        if min_size is not None and (not isinstance(min_size, int) or min_size < 1):
            raise ValueError(f"min_size must be a positive int or None, got {min_size!r}")
        self.min_size = min_size
        self._warned: set[str] = set()

    def transform(self, results: dict) -> dict | None:
        """Add ``img`` (3, H, W) uint8 and ``ori_shape`` (H, W); ``None`` if unreadable."""
        path = str(results["img_path"])
        try:
            image = load_image(path, min_size=self.min_size)
        except UnreadableImageError as exc:
            if path not in self._warned:
                self._warned.add(path)
                message = f"skipping unreadable image {path}: {exc}"
                warnings.warn(message, UnreadableImageWarning, stacklevel=2)
                # The warning reaches the console; the log line keeps it in the run's log file.
                print_log(message, logger="current", level=30)
            return None
        img = F.pil_to_tensor(image)
        results["img"] = img
        results["ori_shape"] = tuple(img.shape[-2:])
        return results
