"""Multi-view wrapper for contrastive training."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from mmengine.dataset import Compose

from mmselfsup_ext.registry import TRANSFORMS

from .base import BaseTransform

__all__ = ["MultiView"]


@TRANSFORMS.register_module()
class MultiView(BaseTransform):
    """Run one augmentation pipeline ``num_views`` times independently on the same image.

    ``results['img']`` becomes a list of ``num_views`` tensors, which
    :class:`PackSelfSupInputs` turns into one input per view.

    Parameters
    ----------
    num_views : int
        Number of views (2 for SimCLR / HashCLR).
    transforms : sequence of dict or callable
        The per-view pipeline; dicts are built from this package's ``TRANSFORMS``.
    """

    def __init__(self, num_views: int, transforms: Sequence[dict | Callable]) -> None:
        if not isinstance(num_views, int) or num_views < 1:
            raise ValueError(f"num_views must be a positive int, got {num_views!r}")
        self.num_views = num_views
        self.pipeline = Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t for t in transforms])

    def transform(self, results: dict) -> dict | None:
        views = []
        for _ in range(self.num_views):
            # Shallow copies suffice: every step returns new tensors instead of editing in place.
            out = self.pipeline(dict(results))
            if out is None:
                return None
            views.append(out["img"])
        results["img"] = views
        return results
