"""Projection neck of dense (per-cell) training: the SimCLR MLP applied to every cell."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from mmselfsup_ext.registry import MODELS


@MODELS.register_module()
class ConvProjectionNeck(BaseModule):
    """1x1 conv -> BN -> ReLU -> 1x1 conv -> BN on a (B, C, H, W) map, no pooling.

    :class:`NonLinearNeck` without the global average pool: every cell of the backbone
    map gets its own projection, so the output keeps the layout of the image. The last BN
    centres every output channel over all cells of the batch, which balances the sign
    bits taken from it.

    Parameters
    ----------
    in_channels, hid_channels, out_channels : int
        Widths (e.g. 128 -> 128 -> 64 for the CPU SwinFpn).
    init_cfg : dict, optional
        mmengine initialisation config.
    """

    def __init__(self, in_channels: int, hid_channels: int, out_channels: int,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if min(in_channels, hid_channels, out_channels) < 1:
            raise ValueError(
                f"channels must be positive, got in={in_channels}, hid={hid_channels}, out={out_channels}"
            )
        self.mlp = nn.Sequential(
            nn.Conv2d(in_channels, hid_channels, 1, bias=False),
            nn.BatchNorm2d(hid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(hid_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, out_channels, H, W)."""
        if x.dim() != 4:
            raise ValueError(f"expected a (B, C, H, W) map, got shape {tuple(x.shape)}")
        return self.mlp(x)
