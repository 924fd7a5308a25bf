"""The deep-hash encoder of the deduplication pipeline (the ``Encoder`` protocol)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mmselfsup_ext.dedup.encoders import EncodeResult
from mmselfsup_ext.models.algorithms.simclr import SimCLR

from mmselfsup_ext.zoo import default_model_files
from .inference import code_tags, encode_images, init_model, model_identity, model_img_size

__all__ = ["DeepHashEncoder"]


class DeepHashEncoder:
    """Codes of a SwinFpnHashCLR (tags ``hashclr<bits>``) or SimCLR (``simclr<bits>``) model.

    All requested lengths come from one forward pass per image, so one run of the
    pipeline compares 32, 64, 96 and 128 bits.

    Parameters
    ----------
    model : SimCLR, optional
        From :func:`init_model`; None loads the shipped global model (``hashclr``) on ``device``.
    bits : sequence of int
        Code lengths, any of 32, 64, 96, 128.
    batch_size : int
        Images per forward pass.
    img_size : int, optional
        Inference size (multiple of 32); None: the model config's, else 512.
    device : str
        Only used when ``model`` is None (``"auto"``, ``"cpu"``, ``"cuda:N"``).

    Attributes
    ----------
    tags : dict of str to int
        Tag -> bits.
    identity : str
        Algorithm, config name, SHA-256 of the weights, input size and lengths: stable
        across runs, different for any other weights or settings.

    Examples
    --------
    >>> from mmselfsup_ext.dedup import deduplicate_folder
    >>> run = deduplicate_folder("flight/images", DeepHashEncoder(), "dedup_out")  # doctest: +SKIP
    """

    def __init__(self, model: SimCLR | None = None, *, bits: Sequence[int] = (32, 64, 96, 128),
                 batch_size: int = 16, img_size: int | None = None, device: str = "auto") -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.model = init_model(*default_model_files("hashclr"), device=device) if model is None else model
        self.tags: dict[str, int] = code_tags(self.model, bits)
        self.bits = tuple(self.tags.values())
        self.batch_size = batch_size
        self.img_size = model_img_size(self.model) if img_size is None else int(img_size)
        stride = getattr(self.model.backbone, "stride", 32)
        if self.img_size < stride or self.img_size % stride:
            raise ValueError(f"img_size must be a positive multiple of {stride}, got {img_size!r}")
        self.identity = (model_identity("deep", self.model, self.img_size)
                         + f"/bits={'+'.join(map(str, self.bits))}")

    def __repr__(self) -> str:
        return f"DeepHashEncoder(tags={list(self.tags)}, img_size={self.img_size}, batch_size={self.batch_size})"

    def encode(self, paths: Sequence[Path], workers: int = 1, progress: bool = True) -> EncodeResult:
        """Encode ``paths`` as :meth:`~mmselfsup_ext.dedup.encoders.Encoder.encode` says.

        ``workers`` 1 decodes in this process; N > 1 uses N DataLoader workers.
        """
        return encode_images(self.model, paths, batch_size=self.batch_size, img_size=self.img_size,
                             workers=workers if workers > 1 else 0, progress=progress, bits=self.bits)
