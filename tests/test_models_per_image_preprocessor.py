"""PerImageDataPreprocessor: each image standardised by its own statistics."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmselfsup_ext.models import PerImageDataPreprocessor
from mmselfsup_ext.registry import MODELS


def _batch(seed: int, n: int = 3, size: int = 16) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(20, 200, (n, 3, size, size), generator=gen, dtype=torch.uint8)


def test_matches_a_numpy_standardisation():
    x = _batch(0)
    out = PerImageDataPreprocessor(eps=1.0)({"inputs": x})["inputs"][0]
    arr = x.numpy().astype(np.float64)
    for k in range(len(arr)):
        expected = (arr[k] - arr[k].mean()) / (arr[k].std(ddof=1) + 1.0)
        np.testing.assert_allclose(out[k].numpy(), expected, rtol=1e-5, atol=1e-5)


def test_exposure_gain_and_offset_do_not_change_the_input_much():
    x = _batch(1)
    brighter = (x.float() * 1.25 + 8).round().clamp(0, 255).to(torch.uint8)
    pre = PerImageDataPreprocessor()
    a = pre({"inputs": x})["inputs"][0]
    b = pre({"inputs": brighter})["inputs"][0]
    # Only the rounding to uint8 and eps remain (a fixed normalisation moves by ~0.5).
    assert (a - b).abs().max() < 0.03


def test_views_and_masks_are_batched_like_the_parent():
    pre = MODELS.build(dict(type="PerImageDataPreprocessor"))
    views = [list(_batch(2)), list(_batch(3))]
    masks = [torch.zeros(4, 4, dtype=torch.bool) for _ in range(3)]
    out = pre({"inputs": views, "data_samples": {"mask": masks, "img_path": ["a", "b", "c"]}})
    assert [v.shape for v in out["inputs"]] == [(3, 3, 16, 16)] * 2
    assert out["data_samples"]["mask"].shape == (3, 4, 4)


def test_flat_image_maps_to_zeros_and_bad_eps():
    flat = torch.full((1, 3, 8, 8), 77, dtype=torch.uint8)
    out = PerImageDataPreprocessor()({"inputs": flat})["inputs"][0]
    assert torch.equal(out, torch.zeros_like(out))
    with pytest.raises(ValueError, match="eps"):
        PerImageDataPreprocessor(eps=0)
    with pytest.raises(ValueError, match="cannot invert"):
        PerImageDataPreprocessor().denormalize(out)
