"""SimMIM reconstruction loss: L1 on the pixels of masked patches only."""
from typing import Optional

import torch
from mmengine.model import BaseModule

from mmselfsup_ext.registry import MODELS


@MODELS.register_module()
class SimMIMHead(BaseModule):
    """Mean absolute error over masked pixels and channels.

    Parameters
    ----------
    patch_size : int
        Pixels per mask cell side (the model patch, 4 in the paper).
    eps : float
        Added to the denominator so an all-visible mask gives 0, not NaN.
    init_cfg : dict, optional
        mmengine initialisation config.
    """

    def __init__(self, patch_size: int = 4, eps: float = 1e-5, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if patch_size < 1:
            raise ValueError(f"patch_size must be positive, got {patch_size}")
        self.patch_size = patch_size
        self.eps = eps

    def pixel_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """Upsample a (B, h, w) patch mask to a float (B, 1, h * p, w * p) pixel mask."""
        p = self.patch_size
        return mask.to(torch.float32).repeat_interleave(p, dim=1).repeat_interleave(p, dim=2).unsqueeze(1)

    def loss(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """L1 reconstruction loss on masked pixels.

        Parameters
        ----------
        pred, target : torch.Tensor
            (B, C, H, W) reconstruction and (normalised) input image.
        mask : torch.Tensor
            (B, H / patch_size, W / patch_size), 1 where the patch was masked.

        Returns
        -------
        torch.Tensor
            Scalar ``sum(|pred - target| * mask) / (sum(mask) * C + eps)``.
        """
        if pred.shape != target.shape or pred.dim() != 4:
            raise ValueError(
                f"pred and target must share a (B, C, H, W) shape, got {tuple(pred.shape)}, {tuple(target.shape)}"
            )
        expected = (pred.shape[0], pred.shape[2] // self.patch_size, pred.shape[3] // self.patch_size)
        if tuple(mask.shape) != expected:
            raise ValueError(f"expected a mask of shape {expected}, got {tuple(mask.shape)}")
        weight = self.pixel_mask(mask)
        error = (pred.float() - target.float()).abs() * weight
        return error.sum() / (weight.sum() * pred.shape[1] + self.eps)
