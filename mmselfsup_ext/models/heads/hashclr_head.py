"""HashCLR head: tanh relaxation of the projection, NT-Xent on it plus a quantization loss."""
from typing import Optional

import torch
from mmengine.model import BaseModule

from mmselfsup_ext.registry import MODELS

from .contrastive_head import nt_xent
from .decorrelation import decorrelation_loss
from .relaxation import TanhRelaxation


@MODELS.register_module()
class HashCLRHead(TanhRelaxation, BaseModule):
    """``b = tanh(gamma * z)``; loss = NT-Xent(b1, b2) + beta * mean(1 - |b|) (+ decorrelation).

    ``gamma`` grows during training (sqrt(epoch + 1), set by ``HashGammaHook`` through
    the algorithm's ``set_gamma``) so ``b`` approaches the binary code ``sign(z)``; the
    quantization term pulls every relaxed bit towards +-1.

    Parameters
    ----------
    temperature : float
        NT-Xent temperature tau (0.1 in the paper).
    beta : float
        Weight of the quantization loss (1 in the paper).
    gamma : float
        Initial relaxation sharpness.
    decorrelation : float
        Weight of :func:`decorrelation_loss` on the relaxed bits of both views (0, the
        paper: off). Not in the paper; a remedy for the collapse measured in issue 12.
    init_cfg : dict, optional
        mmengine initialisation config.
    """

    def __init__(
        self, temperature: float = 0.1, beta: float = 1.0, gamma: float = 1.0, decorrelation: float = 0.0,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if beta < 0:
            raise ValueError(f"beta must be non-negative, got {beta}")
        if decorrelation < 0:
            raise ValueError(f"decorrelation must be non-negative, got {decorrelation}")
        self.temperature = temperature
        self.beta = beta
        self.decorrelation = decorrelation
        self.set_gamma(gamma)

    def loss(self, z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"loss_contrastive", "loss_quant"}`` (and ``"loss_decor"`` if weighted) for the two
        views' projections (B, D)."""
        b1, b2 = self.relax(z1), self.relax(z2)
        both = torch.cat([b1, b2])
        quant = (1.0 - both.abs()).mean()
        losses = {"loss_contrastive": nt_xent(b1, b2, self.temperature), "loss_quant": self.beta * quant}
        if self.decorrelation > 0:
            losses["loss_decor"] = self.decorrelation * decorrelation_loss(both)
        return losses
