"""HashGammaHook: gamma = sqrt(epoch + 1) before every training epoch, through DDP wrappers."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from mmengine.model import MMDistributedDataParallel
from torch import nn

from mmselfsup_ext.engine.hooks import HashGammaHook


class _HashModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[float] = []

    def set_gamma(self, gamma: float) -> None:
        self.calls.append(gamma)


def _ddp_like(module: nn.Module) -> MMDistributedDataParallel:
    """A real MMDistributedDataParallel instance without a process group (only .module is used)."""
    wrapper = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(wrapper)
    wrapper.module = module
    return wrapper


@pytest.mark.parametrize("wrap", [False, True])
def test_gamma_is_sqrt_of_epoch_plus_one(wrap):
    model = _HashModel()
    hook = HashGammaHook()
    for epoch in range(5):
        runner = SimpleNamespace(model=_ddp_like(model) if wrap else model, epoch=epoch)
        hook.before_train_epoch(runner)
    assert model.calls == pytest.approx([1.0, math.sqrt(2), math.sqrt(3), 2.0, math.sqrt(5)])


def test_model_without_set_gamma_is_a_clear_error():
    with pytest.raises(TypeError, match="set_gamma"):
        HashGammaHook().before_train_epoch(SimpleNamespace(model=nn.Linear(1, 1), epoch=0))
