"""SimCLR on the SwinFpn backbone: two views, NT-Xent, codes = sign of the projection."""
import torch

from mmselfsup_ext.models.utils import code_layout
from mmselfsup_ext.registry import MODELS

from .base import BaseSelfSupervisor


@MODELS.register_module()
class SimCLR(BaseSelfSupervisor):
    """Contrastive training of backbone + projection neck on two views of each image.

    Parameters
    ----------
    backbone, neck, head : dict or nn.Module
        Typically ``SwinFpn``, ``NonLinearNeck`` (768 -> 768 -> 320) and ``ContrastiveHead``.
    data_preprocessor : dict or nn.Module, optional
        Defaults to ``SelfSupDataPreprocessor()``.
    backbone_init : str, optional
        Checkpoint whose ``backbone.*`` weights (e.g. from SwinFpnMIM) initialise the
        backbone. Applied by :meth:`init_weights`, which mmengine's Runner calls before
        training, so building the model for inference does not need the file.
    init_cfg : dict, optional
        mmengine initialisation config.
    """

    def project(self, images: torch.Tensor) -> torch.Tensor:
        """Projection z (B, D) of normalised images (B, 3, H, W)."""
        return self.neck(self.backbone(images))

    def loss(self, inputs: list[torch.Tensor], data_samples: dict) -> dict[str, torch.Tensor]:
        """Head losses of the two views."""
        if len(inputs) != 2:
            raise ValueError(f"{type(self).__name__} trains on exactly 2 views per image, got {len(inputs)}")
        if inputs[0].shape != inputs[1].shape:
            raise ValueError(
                f"both views must share one shape, got {tuple(inputs[0].shape)} and {tuple(inputs[1].shape)}"
            )
        # One pass over both views: BN statistics span all 2B samples, as in SimCLR.
        z1, z2 = self.project(torch.cat(inputs)).chunk(2)
        return self.head.loss(z1, z2)

    def predict(self, inputs: list[torch.Tensor], data_samples: dict) -> dict:
        """``{"z": (B, D) projection, "codes": {bits: bool (B, bits)}}`` of the first view.

        ``codes`` follows :func:`code_layout` (32/64/96/128 bits for D = 320); a bit is
        set where z > 0, i.e. the code is sign(z).
        """
        z = self.project(inputs[0])
        bits = z > 0
        codes = {n_bits: bits[:, idx.to(z.device)] for n_bits, idx in code_layout(z.shape[1]).items()}
        return {"z": z, "codes": codes}
