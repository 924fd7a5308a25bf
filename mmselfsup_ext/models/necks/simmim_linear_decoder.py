"""SimMIM's linear decoder: one 1x1 conv to pixels, rearranged by PixelShuffle."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from mmselfsup_ext.registry import MODELS


@MODELS.register_module()
class SimMIMLinearDecoder(BaseModule):
    """Predict every pixel of an ``encoder_stride`` cell from that cell's feature vector.

    Parameters
    ----------
    in_channels : int
        Channels of the encoder map (768 for Swin-T + FPN).
    encoder_stride : int
        Pixels per encoder cell side (32); the conv emits ``encoder_stride**2 * out_channels``.
    out_channels : int
        Image channels to reconstruct.
    init_cfg : dict, optional
        mmengine initialisation config.
    """

    def __init__(
        self, in_channels: int, encoder_stride: int = 32, out_channels: int = 3, init_cfg: Optional[dict] = None
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels < 1 or encoder_stride < 1 or out_channels < 1:
            raise ValueError(
                "in_channels, encoder_stride and out_channels must be positive, got "
                f"{in_channels}, {encoder_stride}, {out_channels}"
            )
        self.decoder = nn.Sequential(
            nn.Conv2d(in_channels, encoder_stride**2 * out_channels, kernel_size=1),
            nn.PixelShuffle(encoder_stride),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, h, w) -> (B, out_channels, h * stride, w * stride)."""
        return self.decoder(x)
