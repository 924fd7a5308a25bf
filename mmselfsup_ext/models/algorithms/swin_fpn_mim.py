"""SwinFpnMIM: SimMIM masked-image pre-training of the SwinFpn backbone."""
from typing import Optional

import torch

from mmselfsup_ext.registry import MODELS

from .base import BaseSelfSupervisor


@MODELS.register_module()
class SwinFpnMIM(BaseSelfSupervisor):
    """Masked patches are replaced by a mask token; the decoder reconstructs their pixels.

    Expects ``backbone`` built with ``use_mask_token=True``, ``neck`` a
    ``SimMIMLinearDecoder`` and ``head`` a ``SimMIMHead``. Training batches carry
    ``data_samples["mask"]`` (B, H/4, W/4) from ``SimMIMMaskGenerator``.
    """

    def reconstruct(self, images: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Predicted image (B, 3, H, W) in the normalised space of ``images``.

        Parameters
        ----------
        images : torch.Tensor
            Normalised images (B, 3, H, W).
        mask : torch.Tensor, optional
            (B, H/4, W/4), 1 = masked; None reconstructs the unmasked image.
        """
        return self.neck(self.backbone(images, mask))

    def loss(self, inputs: list[torch.Tensor], data_samples: dict) -> dict[str, torch.Tensor]:
        """``{"loss": L1 on masked pixels}`` of the first view."""
        mask = data_samples.get("mask")
        if mask is None:
            raise ValueError("SwinFpnMIM needs data_samples['mask'] (use SimMIMMaskGenerator in the pipeline)")
        images = inputs[0]
        return {"loss": self.head.loss(self.reconstruct(images, mask), images, mask)}

    def predict(self, inputs: list[torch.Tensor], data_samples: dict) -> dict[str, Optional[torch.Tensor]]:
        """``{"reconstruction": (B, 3, H, W) normalised, "mask": mask or None}``."""
        mask = data_samples.get("mask")
        return {"reconstruction": self.reconstruct(inputs[0], mask), "mask": mask}
