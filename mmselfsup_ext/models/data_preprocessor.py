"""Batching, device transfer and normalisation of the (multi-view) self-supervised inputs."""
from typing import Any, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from mmselfsup_ext.registry import MODELS

#: ImageNet RGB statistics on the 0-255 scale.
IMAGENET_MEAN_255 = (123.675, 116.28, 103.53)
IMAGENET_STD_255 = (58.395, 57.12, 57.375)


@MODELS.register_module()
class SelfSupDataPreprocessor(BaseDataPreprocessor):
    """Turn a collated batch of views into normalised float batches on the model's device.

    Input (mmengine ``pseudo_collate`` of ``PackSelfSupInputs`` samples)::

        {"inputs": [[view0 of each sample (3, H, W) uint8], [view1 ...], ...],
         "data_samples": {"mask": [(H/4, W/4) bool, ...], "img_path": [str, ...]}}

    Output::

        {"inputs": [float (B, 3, H, W) normalised, one per view],
         "data_samples": {"mask": bool (B, H/4, W/4) (only if given), "img_path": [...]}}

    A view may also arrive already batched as a (B, 3, H, W) tensor, and ``inputs`` may be
    a single such tensor (one view), which is convenient at inference.

    Parameters
    ----------
    mean, std : sequence of 3 floats
        Per-channel statistics on the 0-255 scale (ImageNet RGB by default).
    bgr_to_rgb : bool
        Reverse the channel order before normalising (inputs here are RGB already).
    non_blocking : bool
        Non-blocking host-to-device copies.
    """

    def __init__(
        self,
        mean: Sequence[float] = IMAGENET_MEAN_255,
        std: Sequence[float] = IMAGENET_STD_255,
        bgr_to_rgb: bool = False,
        non_blocking: bool = False,
    ) -> None:
        super().__init__(non_blocking)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f"mean and std need 3 values (one per channel), got {list(mean)} and {list(std)}")
        if min(std) <= 0:
            raise ValueError(f"std values must be positive, got {list(std)}")
        self.bgr_to_rgb = bgr_to_rgb
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Stack, move, cast and normalise every view; stack the masks.

        Parameters
        ----------
        data : dict
            ``{"inputs": ..., "data_samples": ...}`` as described in the class docstring.
        training : bool
            Unused (no batch augmentation); part of mmengine's interface.

        Returns
        -------
        dict
            ``{"inputs": [FloatTensor (B, 3, H, W), ...], "data_samples": dict}``.
        """
        if not isinstance(data, dict) or "inputs" not in data:
            raise ValueError("expected a dict with an 'inputs' entry (collated PackSelfSupInputs samples)")
        data = self.cast_data(data)
        views = [self.normalize(self._stack_view(view)) for view in self._split_views(data["inputs"])]
        samples = dict(data.get("data_samples") or {})
        if samples.get("mask") is not None:
            samples["mask"] = self._stack_mask(samples["mask"], views[0])
        return {"inputs": views, "data_samples": samples}

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) 0-255 images -> float32 normalised images."""
        images = images.float()
        if self.bgr_to_rgb:
            images = images.flip(1)
        return (images - self.mean) / self.std

    def denormalize(self, images: torch.Tensor) -> torch.Tensor:
        """Invert :meth:`normalize`: float (B, 3, H, W) on the 0-255 scale (not clipped)."""
        images = images.float() * self.std + self.mean
        return images.flip(1) if self.bgr_to_rgb else images

    @staticmethod
    def _split_views(inputs: Any) -> list:
        if isinstance(inputs, torch.Tensor):
            return [inputs]
        if isinstance(inputs, (list, tuple)) and inputs:
            if all(isinstance(v, torch.Tensor) and v.dim() == 4 for v in inputs):
                return list(inputs)
            if all(isinstance(v, (list, tuple)) for v in inputs):
                return list(inputs)
        raise ValueError(
            "inputs must be a (B, 3, H, W) tensor or a list of views, each a (B, 3, H, W) tensor "
            "or a list of (3, H, W) tensors"
        )

    @staticmethod
    def _stack_view(view: Any) -> torch.Tensor:
        if isinstance(view, torch.Tensor):
            batch = view
        else:
            shapes = {tuple(img.shape) for img in view}
            if len(shapes) != 1:
                raise ValueError(f"all images of a view must share one shape to be batched, got {sorted(shapes)}")
            batch = torch.stack(list(view))
        if batch.dim() != 4 or batch.shape[1] != 3:
            raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(batch.shape)}")
        return batch

    @staticmethod
    def _stack_mask(mask: Any, images: torch.Tensor) -> torch.Tensor:
        mask = mask if isinstance(mask, torch.Tensor) else torch.stack(list(mask))
        if mask.dim() != 3 or mask.shape[0] != images.shape[0]:
            raise ValueError(f"expected masks of shape (B, h, w) with B={images.shape[0]}, got {tuple(mask.shape)}")
        return mask.bool()
