"""OverlapViews: two overlapping, re-posed crops of one image as a positive pair."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as F

from mmselfsup_ext.datasets.transforms import OverlapViews
from mmselfsup_ext.datasets.transforms.overlap_views import overlap_fraction
from mmselfsup_ext.registry import TRANSFORMS


def _raster_overlap(c1, c2, w, h, grid=400):
    """Brute force: intersection / box area of two w x h boxes, on a fine raster."""
    xs = np.linspace(min(c1[0], c2[0]) - w, max(c1[0], c2[0]) + w, grid)
    ys = np.linspace(min(c1[1], c2[1]) - h, max(c1[1], c2[1]) + h, grid)
    X, Y = np.meshgrid(xs, ys)

    def inside(c):
        return (np.abs(X - c[0]) <= w / 2) & (np.abs(Y - c[1]) <= h / 2)

    a, b = inside(c1), inside(c2)
    return (a & b).sum() / a.sum()


@pytest.mark.parametrize("dx,dy", [(0, 0), (30, 0), (-12.5, 20), (99, 70), (150, 0)])
def test_overlap_fraction_matches_a_raster(dx, dy):
    expected = _raster_overlap((200, 200), (200 + dx, 200 + dy), 100, 80)
    assert overlap_fraction(dx, dy, 100, 80) == pytest.approx(expected, abs=0.01)


def test_drawn_boxes_overlap_at_least_min_overlap_and_stay_inside():
    step = OverlapViews(size=32, crop_scale=(0.3, 0.8), min_overlap=0.55)
    torch.manual_seed(0)
    seen = []
    for _ in range(300):
        (cx1, cy1, cx2, cy2), (w, h) = step.boxes(180, 256)
        for cx, cy in ((cx1, cy1), (cx2, cy2)):
            assert w / 2 - 1e-6 <= cx <= 256 - w / 2 + 1e-6
            assert h / 2 - 1e-6 <= cy <= 180 - h / 2 + 1e-6
        seen.append(overlap_fraction(cx2 - cx1, cy2 - cy1, w, h))
        assert 1.0 <= w / h <= 1.35 + 1e-6
    seen = np.array(seen)
    assert seen.min() >= 0.55 - 1e-9
    # The whole range is used, not just near-copies.
    assert seen.min() < 0.65 and seen.max() > 0.95


def test_without_pose_jitter_the_views_are_the_resized_crops():
    torch.manual_seed(1)
    img = torch.randint(0, 256, (3, 120, 160), dtype=torch.uint8)
    step = OverlapViews(size=48, max_rotation=0.0, max_scale=0.0)
    torch.manual_seed(5)
    (cx1, cy1, cx2, cy2), (w, h) = step.boxes(120, 160)
    torch.manual_seed(5)
    out = step({"img": img, "img_path": "x.jpg"})
    assert out["img_path"] == "x.jpg" and len(out["img"]) == 2
    for view, (cx, cy) in zip(out["img"], ((cx1, cy1), (cx2, cy2))):
        left, top = int(round(cx - w / 2)), int(round(cy - h / 2))
        expected = F.resized_crop(img, top, left, int(round(h)), int(round(w)), [48, 48], antialias=True)
        assert view.shape == (3, 48, 48) and view.dtype == torch.uint8
        assert torch.equal(view, expected)


def test_built_from_config_with_photometric_steps_and_seeded():
    cfg = dict(type="OverlapViews", size=64, transforms=[dict(type="ColorJitter", prob=1.0)])
    step = TRANSFORMS.build(cfg)
    img = torch.randint(0, 256, (3, 128, 128), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    torch.manual_seed(3)
    a = step({"img": img})["img"]
    torch.manual_seed(3)
    b = step({"img": img})["img"]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], a[1])


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(size=0), "size"),
    (dict(crop_scale=(0.8, 0.5)), "crop_scale"),
    (dict(ratio=(0, 1)), "ratio"),
    (dict(min_overlap=0.0), "min_overlap"),
    (dict(max_rotation=90), "max_rotation"),
    (dict(max_scale=0.5), "max_scale"),
])
def test_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        OverlapViews(**kwargs)


def test_rejects_non_images():
    with pytest.raises(ValueError, match="OverlapViews"):
        OverlapViews()({"img": np.zeros((8, 8, 3), np.uint8)})
