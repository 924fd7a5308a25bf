"""Packing of a transformed sample into the model's input format."""
from __future__ import annotations

from collections.abc import Sequence

from mmselfsup_ext.registry import TRANSFORMS

from .base import BaseTransform, check_image

__all__ = ["PackSelfSupInputs"]


@TRANSFORMS.register_module()
class PackSelfSupInputs(BaseTransform):
    """Pack ``img`` (one tensor or a list of views), ``mask`` and meta keys for the model.

    Output (the data contract consumed by ``SelfSupDataPreprocessor``)::

        {"inputs": [uint8 (3, H, W), ... one per view],
         "data_samples": {"mask": bool (H/4, W/4) (MIM pipelines only), "img_path": str}}

    Parameters
    ----------
    meta_keys : sequence of str
        Keys of ``results`` copied into ``data_samples`` when present.
    """

    def __init__(self, meta_keys: Sequence[str] = ("img_path",)) -> None:
        if isinstance(meta_keys, str):
            raise ValueError(f"meta_keys must be a sequence of keys, not the string {meta_keys!r}")
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = results["img"]
        views = list(img) if isinstance(img, (list, tuple)) else [img]
        views = [check_image(view, "PackSelfSupInputs").contiguous() for view in views]
        samples = {key: results[key] for key in self.meta_keys if key in results}
        if "mask" in results:
            samples["mask"] = results["mask"]
        return {"inputs": views, "data_samples": samples}
