"""Spatial hash head: dense contrastive hashing of cell maps with known correspondence.

A global code pools the whole frame, so two shots that share 70 % of their surface and
two that share 40 % look alike to it. Here every cell of the backbone map gets its own
code, and the loss makes a cell's code name the *surface point* under it: the cell of
view 1 and the place where the same point lies in view 2 (known exactly from
``OverlapViews``' geometry) are positives; every other cell of the batch, including the
other cells of the same image, is a negative. Two shots then share codes in proportion
to the surface they share.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmselfsup_ext.registry import MODELS

from ..utils.correspondence import cell_centres, map_between_views
from .decorrelation import decorrelation_loss
from .relaxation import TanhRelaxation

__all__ = ["SpatialHashHead", "dense_info_nce"]


def dense_info_nce(anchors: torch.Tensor, keys: torch.Tensor, neutral: torch.Tensor,
                   temperature: float) -> torch.Tensor:
    """InfoNCE of anchor ``i`` against key ``i`` among all keys, some pairs left out.

    Parameters
    ----------
    anchors, keys : torch.Tensor
        ``(N, D)``; row ``i`` of both shows the same surface point. L2-normalised here.
    neutral : torch.Tensor
        bool ``(N, N)``: key ``j`` is neither positive nor negative for anchor ``i``
        (e.g. a neighbouring cell of the same image, which shows the same surface in
        part). The diagonal is ignored.
    temperature : float
        Softmax temperature.

    Returns
    -------
    torch.Tensor
        Scalar mean cross entropy over the anchors (0 for ``N = 0``).
    """
    if anchors.shape != keys.shape or anchors.dim() != 2:
        raise ValueError(f"anchors and keys must be (N, D) of one shape, got {tuple(anchors.shape)} "
                         f"and {tuple(keys.shape)}")
    n = anchors.shape[0]
    if n == 0:
        return anchors.sum() * 0.0
    logits = F.normalize(anchors.float(), dim=1) @ F.normalize(keys.float(), dim=1).t() / temperature
    eye = torch.eye(n, dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(neutral & ~eye, float("-inf"))
    return F.cross_entropy(logits, torch.arange(n, device=logits.device))


@MODELS.register_module()
class SpatialHashHead(TanhRelaxation, BaseModule):
    """``b = tanh(gamma * u)`` per cell; dense InfoNCE + beta quantization (+ decorrelation).

    Parameters
    ----------
    temperature : float
        InfoNCE temperature.
    beta : float
        Weight of the quantization loss ``mean(1 - |b|)``.
    decorrelation : float
        Weight of :func:`decorrelation_loss` over the relaxed bits of every cell (0: off).
    neutral_radius : float
        Cells of the same image closer than this (in cells, in the anchor's view) are
        neither positives nor negatives: their receptive fields overlap.
    gamma : float
        Initial relaxation sharpness (``HashGammaHook`` sets ``sqrt(epoch + 1)``).
    init_cfg : dict, optional
        mmengine initialisation config.
    """

    def __init__(self, temperature: float = 0.1, beta: float = 1.0, decorrelation: float = 0.0,
                 neutral_radius: float = 1.5, gamma: float = 1.0, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if beta < 0 or decorrelation < 0:
            raise ValueError(f"beta and decorrelation must be non-negative, got {beta} and {decorrelation}")
        if neutral_radius < 0:
            raise ValueError(f"neutral_radius must be non-negative, got {neutral_radius}")
        self.temperature = temperature
        self.beta = beta
        self.decorrelation = decorrelation
        self.neutral_radius = neutral_radius
        self.set_gamma(gamma)

    def correspondences(self, u_anchor: torch.Tensor, u_other: torch.Tensor, geometry: torch.Tensor,
                        source: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Anchor cells of view ``source`` and their surface points in the other view.

        Returns
        -------
        anchors, keys : torch.Tensor
            ``(N, K)`` relaxed codes of the anchor cells whose surface point lies inside the
            other view (within the span of its cell centres), and the other view's relaxed
            code bilinearly sampled at that point.
        neutral : torch.Tensor
            bool ``(N, N)``: same image and closer than ``neutral_radius`` cells.
        """
        b, k, h, w = u_anchor.shape
        centres = cell_centres(h, w, device=u_anchor.device)
        mapped = map_between_views(geometry, centres, source=source)  # (B, P, 2)
        # Inside the span of the other view's cell centres: no sample leans on padding.
        limit = torch.tensor([1 - 1 / w, 1 - 1 / h], device=mapped.device)
        valid = (mapped.abs() <= limit).all(dim=2)  # (B, P)
        sampled = F.grid_sample(u_other.float(), mapped.unsqueeze(2).float(), mode="bilinear",
                                align_corners=False)  # (B, K, P, 1)
        keys = self.relax(sampled.squeeze(3).transpose(1, 2))[valid]
        anchors = self.relax(u_anchor.flatten(2).transpose(1, 2))[valid]
        image = torch.arange(b, device=u_anchor.device)[:, None].expand(b, h * w)[valid]
        cell = torch.stack([centres[:, 0] * w / 2, centres[:, 1] * h / 2], dim=1)  # in cells
        where = cell.unsqueeze(0).expand(b, -1, -1)[valid]
        close = torch.cdist(where, where) < self.neutral_radius
        neutral = close & (image[:, None] == image[None, :])
        return anchors, keys, neutral

    def loss(self, u1: torch.Tensor, u2: torch.Tensor, geometry: torch.Tensor) -> dict[str, torch.Tensor]:
        """Losses of the two views' cell maps.

        Parameters
        ----------
        u1, u2 : torch.Tensor
            ``(B, K, h, w)`` pre-activation cell codes of view 1 and view 2.
        geometry : torch.Tensor
            ``(B, 2, 2, 3)`` view-to-source maps (``OverlapViews``' ``view_geometry``).

        Returns
        -------
        dict
            ``loss_dense`` (InfoNCE, mean of both directions), ``loss_quant`` and, when
            ``decorrelation > 0``, ``loss_decor``.
        """
        if u1.shape != u2.shape or u1.dim() != 4:
            raise ValueError(f"expected two (B, K, h, w) maps of one shape, got {tuple(u1.shape)} "
                             f"and {tuple(u2.shape)}")
        if tuple(geometry.shape) != (u1.shape[0], 2, 2, 3):
            raise ValueError(f"expected geometry ({u1.shape[0]}, 2, 2, 3), got {tuple(geometry.shape)}")
        dense = [dense_info_nce(*self.correspondences(u1, u2, geometry, 0), self.temperature),
                 dense_info_nce(*self.correspondences(u2, u1, geometry, 1), self.temperature)]
        relaxed = self.relax(torch.cat([u1, u2]))
        losses = {"loss_dense": (dense[0] + dense[1]) / 2,
                  "loss_quant": self.beta * (1.0 - relaxed.abs()).mean()}
        if self.decorrelation > 0:
            bits = relaxed.permute(0, 2, 3, 1).reshape(-1, relaxed.shape[1])
            losses["loss_decor"] = self.decorrelation * decorrelation_loss(bits)
        return losses
