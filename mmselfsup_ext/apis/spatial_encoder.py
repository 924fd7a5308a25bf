"""The spatial-hash encoder of the deduplication pipeline (the ``Encoder`` protocol).

Each image's cell codes are packed into one row (:func:`mmselfsup_ext.hashing.pack_cell_codes`),
so the pipeline's encodings cache and torchrun sharding handle them like any code;
:attr:`SpatialHashEncoder.grid` and :func:`mmselfsup_ext.hashing.unpack_cell_codes` turn
rows back into per-image local binary codes. :attr:`SpatialHashEncoder.spatial` tells the
pipeline to search them by cell agreement (:mod:`mmselfsup_ext.dedup.spatial`) with the
rule of the model's config.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from torch import nn

from mmselfsup_ext.dedup.encoders import EncodeResult
from mmselfsup_ext.dedup.spatial import SpatialCodes, SpatialVoteRule
from mmselfsup_ext.hashing import CellGrid
from mmselfsup_ext.models.algorithms.swin_fpn_spatial_hash import SwinFpnSpatialHash

from .inference import cell_grid, encode_images, model_identity, model_img_size

__all__ = ["SpatialHashEncoder", "vote_rule"]


def vote_rule(model: nn.Module) -> SpatialVoteRule:
    """The ``spatial_vote_rule = dict(radius=..., threshold=..., scales=...)`` of a spatial model's config.

    ``scales`` is optional (shifts only without it).

    Raises
    ------
    ValueError
        When the config (``init_model`` keeps it as ``model.cfg``) has none, or an
        incomplete one.
    """
    cfg = getattr(model, "cfg", None)
    rule = cfg.get("spatial_vote_rule", None) if cfg is not None else None
    if rule is None or not {"radius", "threshold"} <= set(rule):
        raise ValueError("the model's config has no spatial_vote_rule = dict(radius=..., threshold=...); "
                         "fix one on training surfaces (benchmarks/learned.py prints it)")
    return SpatialVoteRule(int(rule["radius"]), int(rule["threshold"]), tuple(rule.get("scales", ())))


class SpatialHashEncoder:
    """Cell codes of a SwinFpnSpatialHash model, one tag ``spatialhash<K>x<h>x<w>``.

    Parameters
    ----------
    model : SwinFpnSpatialHash
        From :func:`~mmselfsup_ext.apis.init_model`.
    batch_size : int
        Images per forward pass.
    img_size : int, optional
        Inference size (a multiple of the cell size); None: the model config's
        ``inference_img_size``, else 512.
    rule : SpatialVoteRule, optional
        How the pipeline decides duplicates; None: the config's ``spatial_vote_rule`` if
        it has one (without a rule the encoder still encodes, but cannot deduplicate).

    Attributes
    ----------
    grid : CellGrid
        Cells per image and bits per cell at ``img_size``.
    tags : dict of str to int
        ``{grid.tag(): grid.total_bits}``.
    identity : str
        Algorithm, config name, SHA-256 of the weights, input size and grid.
    spatial : SpatialCodes or None
        ``grid`` and ``rule`` for the pipeline's search (None without a rule).

    Examples
    --------
    >>> encoder = SpatialHashEncoder(init_model(CONFIG, CKPT, device="cpu"))  # doctest: +SKIP
    >>> result = encoder.encode(paths)  # doctest: +SKIP
    >>> cells = unpack_cell_codes(result.codes[encoder.tag], encoder.grid)  # (N, 64, 8)  # doctest: +SKIP
    """

    def __init__(self, model: SwinFpnSpatialHash, *, batch_size: int = 16, img_size: int | None = None,
                 rule: SpatialVoteRule | None = None) -> None:
        if not isinstance(model, SwinFpnSpatialHash):
            raise ValueError(f"SpatialHashEncoder needs a SwinFpnSpatialHash model, got {type(model).__name__}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.model = model
        self.batch_size = batch_size
        self.img_size = model_img_size(model) if img_size is None else int(img_size)
        self.grid: CellGrid = cell_grid(model, self.img_size)
        self.tag = self.grid.tag()
        self.tags: dict[str, int] = {self.tag: self.grid.total_bits}
        if rule is None:
            cfg = getattr(model, "cfg", None)
            rule = vote_rule(model) if cfg is not None and cfg.get("spatial_vote_rule", None) else None
        self.spatial = None if rule is None else SpatialCodes(self.grid, rule)
        self.identity = (model_identity("spatial", model, self.img_size)
                         + f"/grid={self.grid.height}x{self.grid.width}/bits={self.grid.bits}")

    def __repr__(self) -> str:
        return f"SpatialHashEncoder(tag={self.tag!r}, img_size={self.img_size}, batch_size={self.batch_size})"

    def encode(self, paths: Sequence[Path], workers: int = 1, progress: bool = True) -> EncodeResult:
        """One packed row of cell codes per readable image, as ``Encoder.encode`` says.

        ``workers`` 1 decodes in this process; N > 1 uses N DataLoader workers.
        """
        return encode_images(self.model, paths, batch_size=self.batch_size, img_size=self.img_size,
                             workers=workers if workers > 1 else 0, progress=progress)
