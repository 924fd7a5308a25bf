"""SwinFpnSpatialHash: one binary code per cell of the SwinFpn map, trained on dense correspondence."""
from __future__ import annotations

import torch

from mmselfsup_ext.registry import MODELS

from ..heads.relaxation import TanhRelaxation
from .base import BaseSelfSupervisor


def _stack_geometry(value: object, batch: int, device: torch.device) -> torch.Tensor:
    """``data_samples['view_geometry']`` (a list of (2, 2, 3) tensors or a stacked tensor)."""
    if value is None:
        raise ValueError("SwinFpnSpatialHash needs data_samples['view_geometry'] (OverlapViews + "
                         "PackSelfSupInputs(meta_keys=('img_path', 'view_geometry')))")
    geometry = value if isinstance(value, torch.Tensor) else torch.stack(list(value))
    if tuple(geometry.shape) != (batch, 2, 2, 3):
        raise ValueError(f"expected view_geometry of shape ({batch}, 2, 2, 3), got {tuple(geometry.shape)}")
    return geometry.to(device=device, dtype=torch.float32)


@MODELS.register_module()
class SwinFpnSpatialHash(BaseSelfSupervisor):
    """Backbone map -> per-cell projection (``ConvProjectionNeck``) -> ``SpatialHashHead``.

    Parameters as :class:`BaseSelfSupervisor`; typically ``SwinFpn(out_level=2)`` (a
    stride-16 map: 8 x 8 cells at 128 px), ``ConvProjectionNeck`` and ``SpatialHashHead``
    (any head with a gamma).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.head, TanhRelaxation):
            raise ValueError(f"SwinFpnSpatialHash needs a head with a gamma (SpatialHashHead), "
                             f"got {type(self.head).__name__}")

    def set_gamma(self, gamma: float) -> None:
        """Set the relaxation sharpness of ``b = tanh(gamma * u)`` (gamma > 0)."""
        self.head.set_gamma(gamma)

    @property
    def gamma(self) -> float:
        """Current relaxation sharpness."""
        return self.head.gamma

    @property
    def code_bits(self) -> int:
        """Bits per cell (the neck's output channels)."""
        return int(self.neck.out_channels)

    def project(self, images: torch.Tensor) -> torch.Tensor:
        """Cell codes before binarisation, ``(B, K, h, w)``, of normalised images."""
        return self.neck(self.backbone(images))

    def loss(self, inputs: list[torch.Tensor], data_samples: dict) -> dict[str, torch.Tensor]:
        """Head losses of the two views, matched through ``data_samples['view_geometry']``."""
        if len(inputs) != 2 or inputs[0].shape != inputs[1].shape:
            raise ValueError(f"{type(self).__name__} trains on exactly 2 views of one shape per image")
        geometry = _stack_geometry(data_samples.get("view_geometry"), inputs[0].shape[0], inputs[0].device)
        # One pass over both views: BN statistics span all cells of the 2B images.
        u1, u2 = self.project(torch.cat(inputs)).chunk(2)
        return self.head.loss(u1, u2, geometry)

    def predict(self, inputs: list[torch.Tensor], data_samples: dict) -> dict:
        """``{"z": (B, K, h, w), "codes": bool (B, h, w, K)}`` of the first view (bit = z > 0)."""
        z = self.project(inputs[0])
        return {"z": z, "codes": (z > 0).permute(0, 2, 3, 1)}
