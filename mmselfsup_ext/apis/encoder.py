"""The deep-hash encoder of the deduplication pipeline (the ``Encoder`` protocol)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mmselfsup_ext.dedup.encoders import EncodeResult
from mmselfsup_ext.models.algorithms.simclr import SimCLR

from mmselfsup_ext.zoo import default_model_files
from .inference import code_tags, encode_images, init_model, model_img_size, weights_digest

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
        name = getattr(self.model, "config_name", None) or type(self.model).__name__
        digest = getattr(self.model, "weights_sha256", None) or weights_digest(self.model)
        self.identity = (f"deep/{type(self.model).__name__}/{name}/weights-sha256={digest[:16]}"
                         f"/img_size={self.img_size}/bits={'+'.join(map(str, self.bits))}")

    def __repr__(self) -> str:
        return f"DeepHashEncoder(tags={list(self.tags)}, img_size={self.img_size}, batch_size={self.batch_size})"

    def encode(self, paths: Sequence[Path], workers: int = 1, progress: bool = True) -> EncodeResult:
        """Encode ``paths`` (unreadable files are listed with the classical path's reasons).

        Parameters
        ----------
        paths : sequence of pathlib.Path
            Image files, in the order the codes should have.
        workers : int
            Decoding processes: 1 decodes in this process, N > 1 uses N DataLoader workers.
        progress : bool
            tqdm progress bar on stderr.
        """
        return encode_images(self.model, paths, batch_size=self.batch_size, img_size=self.img_size,
                             workers=workers if workers > 1 else 0, progress=progress, bits=self.bits)
