"""Shared skeleton of the self-supervised algorithms: build parts, dispatch forward modes."""
from typing import Optional, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from mmselfsup_ext.registry import MODELS

Inputs = Union[torch.Tensor, list[torch.Tensor]]


def build_part(cfg: Union[dict, nn.Module, None]) -> Optional[nn.Module]:
    """Build a config dict with this package's MODELS registry (modules pass through)."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ValueError(f"expected a module or a config dict with a 'type' key, got {cfg!r}")
    return MODELS.build(cfg)


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
    init_cfg : dict, optional
        mmengine initialisation config.
    """

    def __init__(
        self,
        backbone: Union[dict, nn.Module],
        neck: Union[dict, nn.Module],
        head: Union[dict, nn.Module],
        data_preprocessor: Union[dict, nn.Module, None] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        # Built here with this package's registry so it resolves without a default scope.
        preprocessor = build_part(data_preprocessor or dict(type="SelfSupDataPreprocessor"))
        super().__init__(data_preprocessor=preprocessor, init_cfg=init_cfg)
        self.backbone = build_part(backbone)
        self.neck = build_part(neck)
        self.head = build_part(head)

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
