"""SimMIM's random block mask."""
from __future__ import annotations

import math

import numpy as np
import torch

from mmselfsup_ext.registry import TRANSFORMS

from .base import BaseTransform, check_image

__all__ = ["SimMIMMaskGenerator"]


@TRANSFORMS.register_module()
class SimMIMMaskGenerator(BaseTransform):
    """Mask a random subset of ``mask_patch_size`` squares, given at model-patch resolution.

    The image is divided into ``(input_size / mask_patch_size) ** 2`` mask tokens
    (8 x 8 = 64 at 256 px with 32 px tokens) and exactly
    ``ceil(mask_ratio * tokens)`` of them are masked (39 of 64 at ratio 0.6), as in
    SimMIM and MMSelfSup's ``SimMIMMaskGenerator``, which the paper's code uses. The
    mask is returned at the backbone's patch resolution, each token becoming a
    ``mask_patch_size / model_patch_size`` square block (8 x 8 patches of 4 px).

    Parameters
    ----------
    input_size : int
        Side of the (square) image the mask is made for; the image must have it.
    mask_patch_size : int
        Side of a masked square in pixels; must divide ``input_size``.
    model_patch_size : int
        Patch size of the backbone's patch embedding; must divide ``mask_patch_size``.
    mask_ratio : float
        Fraction of mask tokens to mask, in (0, 1).
    seed : int, optional
        If given, the mask of a sample depends only on ``(seed, results['sample_idx'])``:
        the same image always gets the same mask, whatever the process, worker or
        epoch (for evaluation, visualisation and distributed-equivalence checks).
        ``None`` (training) draws from torch's global generator.

    Notes
    -----
    Adds ``results['mask']``: a bool tensor of shape
    ``(input_size / model_patch_size,) * 2``, True where the patch is masked.
    """

    def __init__(
        self,
        input_size: int = 256,
        mask_patch_size: int = 32,
        model_patch_size: int = 4,
        mask_ratio: float = 0.6,
        seed: int | None = None,
    ) -> None:
        for name, value in (
            ("input_size", input_size),
            ("mask_patch_size", mask_patch_size),
            ("model_patch_size", model_patch_size),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if input_size % mask_patch_size:
            raise ValueError(
                f"mask_patch_size ({mask_patch_size}) must divide input_size ({input_size})"
            )
        if mask_patch_size % model_patch_size:
            raise ValueError(
                f"model_patch_size ({model_patch_size}) must divide mask_patch_size ({mask_patch_size})"
            )
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in (0, 1), got {mask_ratio!r}")
        self.input_size = input_size
        self.mask_patch_size = mask_patch_size
        self.model_patch_size = model_patch_size
        self.mask_ratio = float(mask_ratio)
        self.seed = seed
        self.tokens_per_side = input_size // mask_patch_size
        self.block = mask_patch_size // model_patch_size
        self.num_masked = math.ceil(self.tokens_per_side**2 * self.mask_ratio)

    def generate(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw one mask.

        Parameters
        ----------
        generator : torch.Generator, optional
            Source of randomness; torch's global generator if None.

        Returns
        -------
        torch.Tensor
            Bool (input_size / model_patch_size, input_size / model_patch_size).
        """
        tokens = self.tokens_per_side**2
        chosen = torch.randperm(tokens, generator=generator)[: self.num_masked]
        mask = torch.zeros(tokens, dtype=torch.bool)
        mask[chosen] = True
        mask = mask.view(self.tokens_per_side, self.tokens_per_side)
        return mask.repeat_interleave(self.block, dim=0).repeat_interleave(self.block, dim=1)

    def transform(self, results: dict) -> dict:
        img = check_image(results["img"], "SimMIMMaskGenerator")
        if tuple(img.shape[-2:]) != (self.input_size, self.input_size):
            raise ValueError(
                f"SimMIMMaskGenerator(input_size={self.input_size}) got an image of "
                f"{tuple(img.shape[-2:])}; resize or crop to the input size first"
            )
        generator = None
        if self.seed is not None:
            entropy = [self.seed, int(results.get("sample_idx", 0))]
            generator = torch.Generator().manual_seed(int(np.random.SeedSequence(entropy).generate_state(1)[0]))
        results["mask"] = self.generate(generator)
        return results
