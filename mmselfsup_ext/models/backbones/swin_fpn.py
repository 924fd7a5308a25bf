"""SwinFpn: a timm Swin Transformer whose four stages feed an FPN and a fused map.

Reads top-down: the small conv block, the FPN, the fusion, then the backbone.
Paper facts (docs/design.md §4): Swin-T (embed 96, depths 2-2-6-2, heads 3-6-12-24, patch 4),
trained at 256 px with window 6 and run at 512 px for inference; every stage feeds an FPN
(1x1 lateral conv+BN+ReLU to 192 channels, nearest top-down addition, 3x3 conv+BN+ReLU);
each level is projected to 192 channels, resized to the coarsest map, concatenated to
768 channels and passed through Dropout2d(0.1). The optional SimMIM mask token replaces
the patch embeddings of masked patches before the first stage.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from timm.models.swin_transformer import SwinTransformer
from torch import nn

from mmselfsup_ext.registry import MODELS

#: Named architectures. ``"tiny"`` is the paper's Swin-T + FPN; ``"nano"`` is narrower
#: (embed 32) and shallower (depths 1-1-2-1) than Swin-T, for CPU configs and tests.
SWIN_FPN_ARCHS: dict[str, dict] = {
    "tiny": dict(embed_dims=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), fpn_channels=192),
    "nano": dict(embed_dims=32, depths=(1, 1, 2, 1), num_heads=(1, 2, 4, 8), fpn_channels=32),
}
#: Former names still read, so checkpoints whose embedded config uses them load:
#: ``"small-cpu"`` suggested Swin-S, which is wider than Swin-T, not narrower.
LEGACY_ARCH_NAMES = {"small-cpu": "nano"}


class ConvBnRelu(nn.Sequential):
    """Conv2d (no bias, BN follows) + BatchNorm2d + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class Fpn(nn.Module):
    """Feature pyramid over all backbone stages (lateral, nearest top-down, 3x3 output).

    Parameters
    ----------
    in_channels : sequence of int
        Channels of each input level, finest first.
    out_channels : int
        Channels of every pyramid level.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(ConvBnRelu(c, out_channels, 1) for c in in_channels)
        self.output = nn.ModuleList(ConvBnRelu(out_channels, out_channels, 3) for _ in in_channels)

    def forward(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Map NCHW stage outputs (finest first) to pyramid levels (finest first)."""
        laterals = [conv(x) for conv, x in zip(self.lateral, feats)]
        for i in range(len(laterals) - 2, -1, -1):
            laterals[i] = laterals[i] + F.interpolate(laterals[i + 1], size=laterals[i].shape[-2:], mode="nearest")
        return [conv(x) for conv, x in zip(self.output, laterals)]


class PyramidFusion(nn.Module):
    """Project each pyramid level, resize it to one level's grid and concatenate.

    Parameters
    ----------
    channels : int
        Channels of every pyramid level and of every projection.
    num_levels : int
        Number of pyramid levels; the output has ``num_levels * channels`` channels.
    dropout : float
        Channel dropout (Dropout2d) on the fused map.
    out_level : int
        Index (finest first) of the level whose grid the output has; -1 is the coarsest
        (the paper's fusion).
    """

    def __init__(self, channels: int, num_levels: int, dropout: float, out_level: int = -1) -> None:
        super().__init__()
        if not -num_levels <= out_level < num_levels:
            raise ValueError(f"out_level must index one of {num_levels} levels, got {out_level}")
        self.proj = nn.ModuleList(nn.Conv2d(channels, channels, 1) for _ in range(num_levels))
        self.dropout = nn.Dropout2d(dropout)
        self.out_level = out_level % num_levels

    def forward(self, levels: Sequence[torch.Tensor]) -> torch.Tensor:
        """Fuse pyramid levels (finest first) into one map on the grid of ``out_level``."""
        size = levels[self.out_level].shape[-2:]
        fused = []
        for k, (proj, x) in enumerate(zip(self.proj, levels)):
            # Area resizing averages each finer level over the output cell instead of
            # sampling a few pixels, so no level aliases when it shrinks by up to 8x;
            # coarser levels are upsampled bilinearly, so cell maps vary smoothly.
            mode = "area" if k <= self.out_level else "bilinear"
            extra = {} if mode == "area" else {"align_corners": False}
            fused.append(F.interpolate(proj(x), size=size, mode=mode, **extra))
        return self.dropout(torch.cat(fused, dim=1))


def _resolve_arch(arch: Union[str, dict], fpn_channels: Optional[int]) -> dict:
    """Return ``embed_dims, depths, num_heads, fpn_channels`` for a named or explicit arch."""
    if isinstance(arch, str):
        arch = LEGACY_ARCH_NAMES.get(arch, arch)
        if arch not in SWIN_FPN_ARCHS:
            raise ValueError(f"arch must be one of {sorted(SWIN_FPN_ARCHS)} or a dict, got {arch!r}")
        spec = dict(SWIN_FPN_ARCHS[arch])
    elif isinstance(arch, dict):
        required = {"embed_dims", "depths", "num_heads"}
        if not required <= set(arch) or not set(arch) <= required | {"fpn_channels"}:
            raise ValueError(
                f"arch dict needs keys embed_dims, depths, num_heads (optional fpn_channels), got {sorted(arch)}"
            )
        spec = {"fpn_channels": SWIN_FPN_ARCHS["tiny"]["fpn_channels"], **arch}
    else:
        raise ValueError(f"arch must be a name or a dict, got {type(arch).__name__}")
    if fpn_channels is not None:
        spec["fpn_channels"] = fpn_channels
    if len(spec["depths"]) != len(spec["num_heads"]):
        raise ValueError(f"depths and num_heads need one entry per stage, got {spec['depths']} and {spec['num_heads']}")
    if spec["fpn_channels"] < 1:
        raise ValueError(f"fpn_channels must be positive, got {spec['fpn_channels']}")
    return spec


@MODELS.register_module()
class SwinFpn(BaseModule):
    """Swin Transformer + FPN + fusion backbone (optionally with a SimMIM mask token).

    Parameters
    ----------
    arch : str or dict
        ``"tiny"`` (paper Swin-T, FPN 192), ``"nano"`` (embed 32, depths 1-1-2-1,
        heads 1-2-4-8, FPN 32) or a dict with ``embed_dims``, ``depths``, ``num_heads``
        (and optionally ``fpn_channels``).
    img_size : int
        Training input size. Other sizes (e.g. 512 at inference) run with the same
        window, the attention masks being built for each input.
    window_size : int
        Attention window of every stage (6 in the paper).
    patch_size : int
        Patch embedding stride (model patch), 4 in the paper.
    fpn_channels : int, optional
        Channels of the FPN levels; None takes the arch's value (192 for ``"tiny"``).
    drop_path_rate : float
        Stochastic depth rate of the Swin blocks.
    dropout : float
        Dropout2d rate on the fused map.
    use_mask_token : bool
        Create the learnable SimMIM mask token (needed for ``forward(x, mask)``).
    out_level : int
        Pyramid level (finest first; -1 = coarsest, the paper) whose grid the fused map
        has. Dense heads use a finer one (level 2: stride 16) for more cells per image;
        it adds no parameters, so a checkpoint loads at any ``out_level``.
    init_cfg : dict, optional
        mmengine initialisation config.

    Notes
    -----
    ``forward(x)`` returns ``(B, 4 * fpn_channels, H / out_stride, W / out_stride)`` for
    the 4-stage archs (``out_stride`` 32 at the default ``out_level``); H and W must be
    multiples of ``patch_size * 2 ** (num_stages - 1)``.
    """

    def __init__(
        self,
        arch: Union[str, dict] = "tiny",
        img_size: int = 256,
        window_size: int = 6,
        patch_size: int = 4,
        fpn_channels: Optional[int] = None,
        drop_path_rate: float = 0.1,
        dropout: float = 0.1,
        use_mask_token: bool = False,
        out_level: int = -1,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        spec = _resolve_arch(arch, fpn_channels)
        num_stages = len(spec["depths"])
        self.patch_size = patch_size
        self.stride = patch_size * 2 ** (num_stages - 1)
        if img_size % self.stride:
            raise ValueError(f"img_size must be a multiple of {self.stride}, got {img_size}")
        # strict_img_size=False keeps the window fixed and builds the shifted-window masks
        # for whatever input arrives, so a model trained at 256 px runs at 512 px unchanged.
        swin = SwinTransformer(
            img_size=img_size,
            patch_size=patch_size,
            embed_dim=spec["embed_dims"],
            depths=tuple(spec["depths"]),
            num_heads=tuple(spec["num_heads"]),
            window_size=window_size,
            drop_path_rate=drop_path_rate,
            strict_img_size=False,
            num_classes=0,
            global_pool="",
        )
        # Only the stem and the stages are kept: the classifier norm/head would be
        # parameters that never receive gradients (DDP rejects those).
        self.patch_embed = swin.patch_embed
        self.layers = swin.layers
        stage_channels = [info["num_chs"] for info in swin.feature_info]
        self.stage_norms = nn.ModuleList(nn.LayerNorm(c) for c in stage_channels)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, stage_channels[0])) if use_mask_token else None
        if self.mask_token is not None:
            nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.fpn = Fpn(stage_channels, spec["fpn_channels"])
        self.fusion = PyramidFusion(spec["fpn_channels"], num_stages, dropout, out_level)
        #: Input pixels per cell of the fused map.
        self.out_stride = patch_size * 2 ** self.fusion.out_level
        self.stage_channels = tuple(stage_channels)
        self.out_channels = spec["fpn_channels"] * num_stages

    def _check_inputs(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> None:
        if x.dim() != 4 or x.shape[-2] % self.stride or x.shape[-1] % self.stride:
            raise ValueError(
                f"expected images (B, C, H, W) with H and W multiples of {self.stride}, got {tuple(x.shape)}"
            )
        if mask is None:
            return
        if self.mask_token is None:
            raise ValueError("a mask was given but the backbone was built with use_mask_token=False")
        grid = (x.shape[0], x.shape[-2] // self.patch_size, x.shape[-1] // self.patch_size)
        if tuple(mask.shape) != grid:
            raise ValueError(f"expected a mask of shape {grid} (model-patch grid), got {tuple(mask.shape)}")

    def forward_features(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> list[torch.Tensor]:
        """Run patch embedding, masking and the Swin stages.

        Parameters
        ----------
        x : torch.Tensor
            Normalised images (B, 3, H, W).
        mask : torch.Tensor, optional
            Bool/0-1 (B, H / patch_size, W / patch_size); 1 replaces that patch
            embedding by the mask token.

        Returns
        -------
        list of torch.Tensor
            Normalised NCHW output of every stage, finest first.
        """
        self._check_inputs(x, mask)
        tokens = self.patch_embed(x)  # NHWC
        if mask is not None:
            weight = mask.unsqueeze(-1).to(tokens.dtype)
            tokens = tokens * (1.0 - weight) + self.mask_token.to(tokens.dtype) * weight
        feats = []
        for stage, norm in zip(self.layers, self.stage_norms):
            tokens = stage(tokens)
            feats.append(norm(tokens).permute(0, 3, 1, 2).contiguous())
        return feats

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Fused FPN map (B, num_stages * fpn_channels, H / stride, W / stride)."""
        return self.fusion(self.fpn(self.forward_features(x, mask)))
