"""Projection neck of SimCLR-style training: global average pool + 2-layer MLP."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from mmselfsup_ext.registry import MODELS


@MODELS.register_module()
class NonLinearNeck(BaseModule):
    """GAP -> Linear -> BN -> ReLU -> Linear (-> BN), as mmselfsup's SimCLR neck.

    The paper's projection is 768 -> 768 -> 320. The defaults follow mmselfsup's
    ``NonLinearNeck`` (linears without bias because a BN follows each), which the
    authors' mmselfsup-based configs used; the last BN also centres every output
    dimension, so the sign bits taken from it are balanced.

    Parameters
    ----------
    in_channels, hid_channels, out_channels : int
        MLP widths (768, 768, 320 in the paper).
    with_last_bn : bool
        Batch-normalise the projection (affine).
    with_avg_pool : bool
        Global-average-pool a (B, C, H, W) input first; False expects (B, C).
    init_cfg : dict, optional
        mmengine initialisation config.
    """

    def __init__(
        self,
        in_channels: int,
        hid_channels: int,
        out_channels: int,
        with_last_bn: bool = True,
        with_avg_pool: bool = True,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if min(in_channels, hid_channels, out_channels) < 1:
            raise ValueError(
                f"channels must be positive, got in={in_channels}, hid={hid_channels}, out={out_channels}"
            )
        self.with_avg_pool = with_avg_pool
        layers = [
            nn.Linear(in_channels, hid_channels, bias=False),
            nn.BatchNorm1d(hid_channels),
            nn.ReLU(inplace=True),
            nn.Linear(hid_channels, out_channels, bias=not with_last_bn),
        ]
        if with_last_bn:
            layers.append(nn.BatchNorm1d(out_channels))
        self.mlp = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) (or (B, C) without pooling) -> projection (B, out_channels)."""
        if self.with_avg_pool:
            if x.dim() != 4:
                raise ValueError(f"expected a (B, C, H, W) map to pool, got shape {tuple(x.shape)}")
            x = x.mean(dim=(2, 3))
        return self.mlp(x)
