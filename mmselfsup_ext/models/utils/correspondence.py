"""Dense correspondence between the two views of ``OverlapViews`` (``view_geometry``).

Coordinates are normalised per view: ``x, y`` in [-1, 1] with pixel (or cell) centres at
``2 (i + 0.5) / n - 1``, the ``align_corners=False`` convention of
:func:`torch.nn.functional.grid_sample`. ``view_geometry[v]`` maps view ``v``'s
normalised coordinates to source-image coordinates by ``p = L n + o`` (a (2, 3) matrix
``[L | o]``).
"""
from __future__ import annotations

import torch

__all__ = ["cell_centres", "map_between_views"]


def cell_centres(height: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """Normalised centres of a ``height x width`` grid of cells, row-major.

    Returns
    -------
    torch.Tensor
        ``(height * width, 2)`` float32 ``(x, y)``.

    Examples
    --------
    >>> cell_centres(1, 2).tolist()
    [[-0.5, 0.0], [0.5, 0.0]]
    """
    if height < 1 or width < 1:
        raise ValueError(f"grid must have at least one cell, got {height} x {width}")
    ys = (torch.arange(height, dtype=torch.float32, device=device) + 0.5) * 2 / height - 1
    xs = (torch.arange(width, dtype=torch.float32, device=device) + 0.5) * 2 / width - 1
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)


def map_between_views(geometry: torch.Tensor, points: torch.Tensor, source: int = 0) -> torch.Tensor:
    """Where points of view ``source`` lie in the other view (same surface point).

    Parameters
    ----------
    geometry : torch.Tensor
        ``(B, 2, 2, 3)`` view-to-source maps, one pair per sample.
    points : torch.Tensor
        ``(P, 2)`` normalised ``(x, y)`` in view ``source`` (shared by all samples) or
        ``(B, P, 2)``.
    source : int
        0 or 1.

    Returns
    -------
    torch.Tensor
        ``(B, P, 2)`` normalised coordinates in view ``1 - source``; outside [-1, 1]
        where the point is not in that view.
    """
    if geometry.dim() != 4 or tuple(geometry.shape[1:]) != (2, 2, 3):
        raise ValueError(f"geometry must be (B, 2, 2, 3), got {tuple(geometry.shape)}")
    if source not in (0, 1):
        raise ValueError(f"source must be 0 or 1, got {source!r}")
    geometry = geometry.double()
    pts = points.double()
    if pts.dim() == 2:
        pts = pts.unsqueeze(0).expand(geometry.shape[0], -1, -1)
    src_lin, src_off = geometry[:, source, :, :2], geometry[:, source, :, 2]
    dst_lin, dst_off = geometry[:, 1 - source, :, :2], geometry[:, 1 - source, :, 2]
    on_source = pts @ src_lin.transpose(1, 2) + src_off[:, None]
    mapped = (on_source - dst_off[:, None]) @ torch.linalg.inv(dst_lin).transpose(1, 2)
    return mapped.to(points.dtype)
