"""Load a hashing model and encode image files to binary codes of every length at once.

Notebook use::

    from mmselfsup_ext.apis import init_model, encode_images
    model = init_model()                      # the shipped default model, CPU or GPU
    result = encode_images(model, paths)      # EncodeResult: codes per tag, unreadable files
    result.codes["hashclr64"]                 # uint8 (n_ok, 8), rows aligned with result.ok_paths
"""
from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.v2 import functional as F
from tqdm.auto import tqdm

from mmselfsup_ext.dedup.encoders import EncodeResult
from mmselfsup_ext.fileio.loading import UnreadableImageError, load_image
from mmselfsup_ext.engine.config import ConfigError, config_from_literal_text, load_config
from mmselfsup_ext.hashing import CellGrid, pack_bits, pack_cell_codes
from mmselfsup_ext.models.algorithms.simclr import SimCLR
from mmselfsup_ext.models.algorithms.swin_fpn_hashclr import SwinFpnHashCLR
from mmselfsup_ext.models.algorithms.swin_fpn_spatial_hash import SwinFpnSpatialHash
from mmselfsup_ext.models.utils import code_layout
from mmselfsup_ext.registry import MODELS
from mmselfsup_ext.utils import load_checkpoint_file, load_model_weights, register_all_modules

from mmselfsup_ext.zoo import default_model_files

__all__ = ["DEFAULT_IMG_SIZE", "cell_grid", "code_method", "code_tags", "encode_images", "init_model",
           "model_identity", "model_img_size", "resolve_device", "weights_digest"]

#: Models whose codes :func:`encode_images` computes: global codes (SimCLR and its
#: subclass SwinFpnHashCLR) and spatial codes (SwinFpnSpatialHash).
HashingModel = SimCLR | SwinFpnSpatialHash

#: Inference size when a config does not name one (``inference_img_size``): the paper's 512.
DEFAULT_IMG_SIZE = 512


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into an available device.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` picks ``cuda:0`` when CUDA is available, else the CPU.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        For an unknown name, or a CUDA device that is not available.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if not torch.cuda.is_available():
        raise ValueError(f"device {str(dev)!r} requested but CUDA is not available here; use --device cpu or auto")
    index = 0 if dev.index is None else dev.index
    if index >= torch.cuda.device_count():
        raise ValueError(f"device {str(dev)!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    return torch.device("cuda", index)


def weights_digest(model: nn.Module) -> str:
    """SHA-256 of a model's state dict (names, dtypes, shapes and values, in name order).

    Identifies the weights in encoder identities and caches: two checkpoints with the
    same weights give the same digest, any changed value another.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _config_from_checkpoint(checkpoint: str | os.PathLike) -> Config:
    """The training config mmengine embeds in a checkpoint's ``meta['cfg']``."""
    meta = load_checkpoint_file(checkpoint).get("meta") or {}
    text = meta.get("cfg") if isinstance(meta, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"checkpoint {str(checkpoint)!r} embeds no config; pass its CONFIG file as well")
    # Parsed as data, never executed: a checkpoint is a file anyone may have edited.
    return config_from_literal_text(text, f"the config embedded in {str(checkpoint)!r}")


def init_model(
    config: str | os.PathLike | Config | None = None,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = "auto",
) -> HashingModel:
    """Build a hashing model (SwinFpnHashCLR, SimCLR or SwinFpnSpatialHash) for inference.

    Parameters
    ----------
    config : str, os.PathLike or mmengine.config.Config, optional
        Model config. None: the config embedded in ``checkpoint`` if one is given,
        else the shipped default model (config *and* checkpoint; see
        :func:`~.defaults.default_model_files` for the others).
    checkpoint : str or os.PathLike, optional
        Weights (an mmengine checkpoint or a bare state dict). None with a ``config``:
        random weights, with a warning (only useful for tests and timing).
    device : str or torch.device
        ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns
    -------
    SimCLR or SwinFpnSpatialHash
        In eval mode on ``device``, with ``cfg`` (the config), ``config_name``,
        ``checkpoint_path`` and ``weights_sha256`` attributes. ``init_weights()`` is deliberately not called, so
        a config's ``backbone_init`` (a training-time file) is not needed.

    Raises
    ------
    ConfigError
        Missing/unreadable config, or a config that builds no hashing model.
    CheckpointError
        Missing/corrupt checkpoint, or weights of another model (one-line message).
    ValueError
        Unavailable ``device``.
    FileNotFoundError
        The shipped default model was asked for but is missing.

    Examples
    --------
    >>> model = init_model(*default_model_files("hashclr"), device="cpu")  # doctest: +SKIP
    >>> code_tags(model)  # doctest: +SKIP
    {'hashclr32': 32, 'hashclr64': 64, 'hashclr96': 96, 'hashclr128': 128}
    """
    dev = resolve_device(device)
    if config is None and checkpoint is None:
        config, checkpoint = default_model_files()
    if isinstance(config, Config):
        cfg = config
    elif config is not None:
        cfg = load_config(config)
    else:
        cfg = _config_from_checkpoint(checkpoint)
    if "model" not in cfg:
        raise ConfigError("the config has no 'model' entry")
    register_all_modules()
    try:
        model = MODELS.build(cfg.model)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"cannot build the model of the config: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, (SimCLR, SwinFpnSpatialHash)):
        raise ConfigError(f"the config builds {type(model).__name__}, which yields no binary codes; "
                          "use a SwinFpnHashCLR, SimCLR or SwinFpnSpatialHash config")
    if checkpoint is None:
        warnings.warn("init_model: no checkpoint given, the model has random weights", RuntimeWarning,
                      stacklevel=2)
    else:
        load_model_weights(model, checkpoint)
    model.cfg = cfg
    # A config rebuilt from a checkpoint lives in a temporary file: name it after the
    # checkpoint so encoder identities stay stable across runs.
    if config is None:
        model.config_name = f"{Path(checkpoint).stem}-embedded-config"
    else:
        model.config_name = Path(cfg.filename).stem if cfg.filename else "config"
    model.checkpoint_path = None if checkpoint is None else str(checkpoint)
    model.weights_sha256 = weights_digest(model)
    return model.to(dev).eval()


def code_method(model: nn.Module) -> str:
    """Tag prefix of a model's codes: ``"hashclr"`` (SwinFpnHashCLR) or ``"simclr"`` (SimCLR)."""
    if isinstance(model, SwinFpnHashCLR):
        return "hashclr"
    if isinstance(model, SimCLR):
        return "simclr"
    raise ValueError(f"expected a SwinFpnHashCLR or SimCLR model, got {type(model).__name__}")


def _available_bits(model: nn.Module) -> list[int]:
    n_dims = getattr(getattr(model, "neck", None), "out_channels", None)
    if n_dims is None:
        # NonLinearNeck keeps its width in the last Linear layer.
        linears = [m for m in model.neck.modules() if isinstance(m, nn.Linear)]
        n_dims = linears[-1].out_features
    return sorted(code_layout(int(n_dims)))


def code_tags(model: nn.Module, bits: Sequence[int] | None = None) -> dict[str, int]:
    """Output tags of a model's codes, e.g. ``{"hashclr32": 32, ..., "hashclr128": 128}``.

    Parameters
    ----------
    model : torch.nn.Module
        A SwinFpnHashCLR or SimCLR model.
    bits : sequence of int, optional
        Code lengths to keep (default: all the projection provides, 32/64/96/128).

    Raises
    ------
    ValueError
        For a length the model does not produce, or a repeated length.
    """
    available = _available_bits(model)
    chosen = available if bits is None else [int(b) for b in bits]
    if not chosen:
        raise ValueError(f"bits must name at least one of {available}")
    wrong = [b for b in chosen if b not in available]
    if wrong:
        raise ValueError(f"code length(s) {wrong} not produced by this model; choose from {available}")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"bits must not repeat, got {chosen}")
    method = code_method(model)
    return {f"{method}{b}": b for b in chosen}


def cell_grid(model: SwinFpnSpatialHash, img_size: int) -> CellGrid:
    """Cell layout of a spatial model's codes at input size ``img_size`` (square).

    Examples
    --------
    >>> cell_grid(model, 128).tag()  # doctest: +SKIP
    'spatialhash64x8x8'
    """
    if not isinstance(model, SwinFpnSpatialHash):
        raise ValueError(f"expected a SwinFpnSpatialHash model, got {type(model).__name__}")
    stride = model.backbone.out_stride
    if img_size % stride:
        raise ValueError(f"img_size must be a multiple of the cell size {stride}, got {img_size}")
    return CellGrid(img_size // stride, img_size // stride, model.code_bits)


def model_identity(kind: str, model: nn.Module, img_size: int) -> str:
    """Start of an encoder identity: ``KIND/ALGORITHM/CONFIG/weights-sha256=.../img_size=N``.

    Stable across runs of the same weights and size (the encodings cache keys on it),
    different for any other weights; encoders append their own settings.
    """
    name = getattr(model, "config_name", None) or type(model).__name__
    digest = getattr(model, "weights_sha256", None) or weights_digest(model)
    return f"{kind}/{type(model).__name__}/{name}/weights-sha256={digest[:16]}/img_size={img_size}"


def model_img_size(model: nn.Module) -> int:
    """Default inference size of a model: its config's ``inference_img_size``, else 512."""
    cfg = getattr(model, "cfg", None)
    size = cfg.get("inference_img_size", None) if cfg is not None else None
    return DEFAULT_IMG_SIZE if size is None else int(size)


class _ImageFiles(Dataset):
    """Decode and resize image files; an unreadable file yields its reason instead."""

    def __init__(self, paths: Sequence[Path], img_size: int) -> None:
        self.paths = list(paths)
        self.img_size = img_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor | None, str | None]:
        try:
            # Draft-mode JPEG decoding down to the working size, as the classical path does.
            image = load_image(self.paths[index], min_size=self.img_size)
        except UnreadableImageError as exc:
            return index, None, exc.reason
        # Whole frame to a square, ignoring the aspect ratio (like the classical hashes).
        img = F.resize(F.pil_to_tensor(image), [self.img_size, self.img_size], antialias=True)
        return index, img, None


def _collate(batch: list[tuple[int, torch.Tensor | None, str | None]]) -> tuple[list[int], torch.Tensor | None, list[tuple[int, str]]]:
    ok = [(i, img) for i, img, _ in batch if img is not None]
    failed = [(i, reason) for i, img, reason in batch if img is None]
    images = torch.stack([img for _, img in ok]) if ok else None
    return [i for i, _ in ok], images, failed


def encode_images(
    model: HashingModel,
    paths: Sequence[str | os.PathLike],
    batch_size: int = 16,
    img_size: int | None = None,
    workers: int = 0,
    progress: bool = True,
    bits: Sequence[int] | None = None,
) -> EncodeResult:
    """Binary codes of every requested length for image files, in one forward pass each.

    Images are decoded by :func:`mmselfsup_ext.fileio.loading.load_image` (the classical
    path's loader: EXIF orientation, JPEG draft mode) in a torch ``DataLoader``, resized
    to ``img_size`` squared, normalised by the model's data preprocessor and encoded in
    batches under ``torch.inference_mode`` (float16 autocast on CUDA). The code is
    ``sign(z)`` of the projection, split into lengths by the authors' layout; for a
    spatial model, one row per image packs the sign bits of every cell
    (:func:`mmselfsup_ext.hashing.pack_cell_codes`) under the tag of :func:`cell_grid`.

    Parameters
    ----------
    model : SimCLR or SwinFpnSpatialHash
        From :func:`init_model` (any SwinFpnHashCLR, SimCLR or SwinFpnSpatialHash in eval mode).
    paths : sequence of path-like
        Image files; codes keep this order.
    batch_size : int
        Images per forward pass. Codes do not depend on it (the model is in eval mode).
    img_size : int, optional
        Side the images are resized to, a multiple of 32. None: the model config's
        ``inference_img_size``, else 512.
    workers : int
        DataLoader worker processes decoding images (0: decode in this process).
    progress : bool
        Show a tqdm progress bar on stderr.
    bits : sequence of int, optional
        Code lengths (default all: 32, 64, 96, 128); global models only.

    Returns
    -------
    EncodeResult
        ``codes[tag]`` uint8 ``(n_ok, bits / 8)`` for tags ``hashclr<bits>`` (or
        ``simclr<bits>``, or one ``spatialhash<K>x<h>x<w>``), rows aligned with ``ok_paths``; ``unreadable`` lists
        ``(path, reason)`` with exactly the classical path's reasons; ``timings`` holds
        the wall time of the shared pass for every tag.

    Raises
    ------
    ValueError
        For a bad ``batch_size``, ``img_size``, ``workers`` or ``bits``.

    Examples
    --------
    >>> result = encode_images(init_model(device="cpu"), ["a.jpg", "b.jpg"])  # doctest: +SKIP
    >>> result.codes["hashclr64"].shape  # doctest: +SKIP
    (2, 8)
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be an int >= 0, got {workers!r}")
    size = model_img_size(model) if img_size is None else img_size
    stride = getattr(model.backbone, "stride", 32)
    if not isinstance(size, int) or size < stride or size % stride:
        raise ValueError(f"img_size must be a positive multiple of {stride}, got {size!r}")
    spatial = isinstance(model, SwinFpnSpatialHash)
    if spatial and bits is not None:
        raise ValueError("bits selects global code lengths; a spatial model has one cell layout")
    grid = cell_grid(model, size) if spatial else None
    tags = {grid.tag(): grid.total_bits} if spatial else code_tags(model, bits)
    paths = [Path(p) for p in paths]
    device = next(model.parameters()).device
    start = time.perf_counter()
    rows: dict[str, list[np.ndarray]] = {tag: [] for tag in tags}
    ok_index: list[int] = []
    failed: list[tuple[int, str]] = []
    loader = DataLoader(_ImageFiles(paths, size), batch_size=batch_size, shuffle=False,
                        num_workers=workers, collate_fn=_collate, pin_memory=device.type == "cuda")
    model.eval()
    autocast = torch.autocast("cuda", dtype=torch.float16, enabled=device.type == "cuda")
    with torch.inference_mode(), autocast, tqdm(total=len(paths), desc="encoding", unit="img",
                                                disable=not progress) as bar:
        for indices, images, bad in loader:
            failed.extend(bad)
            if images is not None:
                inputs = model.data_preprocessor({"inputs": images})["inputs"]
                codes = model(inputs, mode="predict")["codes"]
                for tag, b in tags.items():
                    rows[tag].append(pack_cell_codes(codes.cpu().numpy()) if spatial
                                     else pack_bits(codes[b].cpu().numpy()))
                ok_index.extend(indices)
            bar.update(len(indices) + len(bad))
    wall = time.perf_counter() - start
    codes_out = {tag: (np.concatenate(rows[tag]) if rows[tag] else np.zeros((0, b // 8), np.uint8))
                 for tag, b in tags.items()}
    return EncodeResult(
        codes=codes_out,
        ok_paths=[paths[i] for i in ok_index],
        unreadable=[(paths[i], reason) for i, reason in sorted(failed)],
        timings={tag: wall for tag in tags},
    )

