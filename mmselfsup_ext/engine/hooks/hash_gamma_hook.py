"""Epoch schedule of the hash head's tanh sharpness."""
from __future__ import annotations

import math

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmselfsup_ext.registry import HOOKS

__all__ = ["HashGammaHook"]


@HOOKS.register_module()
class HashGammaHook(Hook):
    """Before each training epoch set ``gamma = sqrt(epoch + 1)`` on the model (docs/design.md §4).

    The relaxation ``b = tanh(gamma * z)`` thus sharpens towards ``sign(z)`` as
    training proceeds. ``epoch`` is mmengine's 0-based epoch counter, so the first
    epoch trains with gamma = 1. The model (unwrapped from DDP) must offer
    ``set_gamma(gamma: float)``.
    """

    priority = "NORMAL"

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, "set_gamma"):
            raise TypeError(
                f"HashGammaHook needs a model with set_gamma(gamma), got {type(model).__name__}"
            )
        model.set_gamma(math.sqrt(runner.epoch + 1))
