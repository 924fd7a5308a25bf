"""The base class of every pipeline step."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod

import torch

__all__ = ["BaseTransform", "check_image"]


class BaseTransform(metaclass=ABCMeta):
    """A pipeline step: ``step(results) -> results`` or ``None`` to drop the sample.

    mmcv's ``BaseTransform`` plays this role in OpenMMLab; mmcv is not a dependency
    here (docs/design.md §3), and mmengine's ``Compose`` only needs a callable.
    """

    def __call__(self, results: dict) -> dict | None:
        return self.transform(results)

    @abstractmethod
    def transform(self, results: dict) -> dict | None:
        """Transform ``results`` (a dict holding at least ``img``) and return it."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


def check_image(img: object, step: str) -> torch.Tensor:
    """Return ``img`` if it is a (3, H, W) uint8 tensor, else raise a ValueError naming ``step``."""
    if not isinstance(img, torch.Tensor) or img.dim() != 3 or img.shape[0] != 3 or img.dtype != torch.uint8:
        got = tuple(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
        raise ValueError(
            f"{step} expects results['img'] to be a (3, H, W) uint8 tensor (from LoadImage), got {got}"
        )
    return img
