"""NT-Xent (normalised temperature-scaled cross entropy) of SimCLR."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmselfsup_ext.registry import MODELS


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent over two views: each of the 2B samples must pick its other view among the rest.

    Parameters
    ----------
    a, b : torch.Tensor
        (B, D) embeddings of the two views; row i of ``a`` and row i of ``b`` are positives.
        They are L2-normalised here.
    temperature : float
        Softmax temperature tau.

    Returns
    -------
    torch.Tensor
        Scalar mean cross entropy over the 2B anchors (self-similarity excluded).
    """
    if a.shape != b.shape or a.dim() != 2 or a.shape[0] < 1:
        raise ValueError(f"expected two (B, D) views of equal shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    n = a.shape[0]
    feats = F.normalize(torch.cat([a, b]).float(), dim=1)
    logits = feats @ feats.t() / temperature
    eye = torch.eye(2 * n, dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(eye, float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(logits.device)
    return F.cross_entropy(logits, targets)


@MODELS.register_module()
class ContrastiveHead(BaseModule):
    """Plain NT-Xent head of the SimCLR baseline.

    Parameters
    ----------
    temperature : float
        Softmax temperature tau (0.1 in the paper).
    init_cfg : dict, optional
        mmengine initialisation config.
    """

    def __init__(self, temperature: float = 0.1, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature

    def loss(self, z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"loss_contrastive": NT-Xent}`` of the two views' projections (B, D)."""
        return {"loss_contrastive": nt_xent(z1, z2, self.temperature)}
