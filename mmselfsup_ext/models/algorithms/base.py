"""Shared skeleton of the self-supervised algorithms: build parts, dispatch forward modes."""
from pathlib import Path
from typing import Optional, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from mmselfsup_ext.registry import MODELS
from mmselfsup_ext.utils.checkpoint import (
    CheckpointError,
    check_state_dict_fits,
    load_checkpoint_file,
    state_dict_from_checkpoint,
)

Inputs = Union[torch.Tensor, list[torch.Tensor]]


def build_part(cfg: Union[dict, nn.Module, None]) -> Optional[nn.Module]:
    """Build a config dict with this package's MODELS registry (modules pass through)."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ValueError(f"expected a module or a config dict with a 'type' key, got {cfg!r}")
    return MODELS.build(cfg)


def load_backbone_weights(backbone: nn.Module, path: Union[str, Path]) -> None:
    """Copy the ``backbone.*`` weights of a checkpoint (e.g. SwinFpnMIM's) into ``backbone``.

    The SimMIM mask token is skipped (the contrastive backbone has none); the decoder and
    any other non-backbone weights are ignored. Every other backbone weight must match.

    Parameters
    ----------
    backbone : nn.Module
        Module to fill.
    path : str or Path
        mmengine checkpoint (``{"state_dict": ...}``) or a plain state dict.

    Raises
    ------
    CheckpointError
        Missing/corrupt file, no ``backbone.*`` weights, or weights of another architecture.
    """
    source = f"backbone_init {str(path)!r}"
    state = state_dict_from_checkpoint(load_checkpoint_file(path), source=source)
    prefix = "backbone."
    weights = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix) and k != prefix + "mask_token"}
    if not weights:
        raise CheckpointError(f"{source} has no 'backbone.*' weights; expected a SwinFpnMIM/SwinFpn checkpoint")
    check_state_dict_fits(backbone, weights, source=source)
    backbone.load_state_dict(weights)


class BaseSelfSupervisor(BaseModel):
    """Backbone + neck + head with mmengine's ``forward(inputs, data_samples, mode)``.

    Modes: ``"loss"`` -> dict of losses, ``"predict"`` -> algorithm-specific dict,
    ``"tensor"`` -> backbone features of the first view.

    Parameters
    ----------
    backbone, neck, head : dict or nn.Module
        Config dicts (``type=...``) or built modules.
    data_preprocessor : dict or nn.Module, optional
        Defaults to ``SelfSupDataPreprocessor()`` (ImageNet RGB statistics on 0-255).
    backbone_init : str, optional
        Checkpoint whose ``backbone.*`` weights (e.g. from SwinFpnMIM; its mask token
        excepted) initialise the backbone. Applied by :meth:`init_weights`, which
        mmengine's Runner calls before training, so building the model for inference
        does not need the file.
    init_cfg : dict, optional
        mmengine initialisation config.
    """

    def __init__(
        self,
        backbone: Union[dict, nn.Module],
        neck: Union[dict, nn.Module],
        head: Union[dict, nn.Module],
        data_preprocessor: Union[dict, nn.Module, None] = None,
        backbone_init: Optional[str] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        # Built here with this package's registry so it resolves without a default scope.
        preprocessor = build_part(data_preprocessor or dict(type="SelfSupDataPreprocessor"))
        super().__init__(data_preprocessor=preprocessor, init_cfg=init_cfg)
        self.backbone = build_part(backbone)
        self.neck = build_part(neck)
        self.head = build_part(head)
        self.backbone_init = backbone_init

    def init_weights(self) -> None:
        """Default initialisation, then the backbone from ``backbone_init`` if set."""
        super().init_weights()
        if self.backbone_init:
            load_backbone_weights(self.backbone, self.backbone_init)

    def forward(self, inputs: Inputs, data_samples: Optional[dict] = None, mode: str = "tensor"):
        """Dispatch to :meth:`loss`, :meth:`predict` or :meth:`extract_feat`.

        Parameters
        ----------
        inputs : list of torch.Tensor or torch.Tensor
            Normalised views (B, 3, H, W) from ``SelfSupDataPreprocessor``; a tensor is one view.
        data_samples : dict, optional
            ``{"mask": (B, H/4, W/4), "img_path": [...]}``, keys as needed by the algorithm.
        mode : str
            ``"loss"``, ``"predict"`` or ``"tensor"``.
        """
        views = [inputs] if isinstance(inputs, torch.Tensor) else list(inputs)
        if not views:
            raise ValueError("inputs must hold at least one view")
        samples = data_samples or {}
        if mode == "loss":
            return self.loss(views, samples)
        if mode == "predict":
            return self.predict(views, samples)
        if mode == "tensor":
            return self.extract_feat(views[0])
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def extract_feat(self, images: torch.Tensor) -> torch.Tensor:
        """Backbone map of normalised images (B, 3, H, W)."""
        return self.backbone(images)

    def loss(self, inputs: list[torch.Tensor], data_samples: dict) -> dict[str, torch.Tensor]:
        """Losses of one batch; implemented by each algorithm."""
        raise NotImplementedError

    def predict(self, inputs: list[torch.Tensor], data_samples: dict) -> dict:
        """Inference outputs of one batch; implemented by each algorithm."""
        raise NotImplementedError
