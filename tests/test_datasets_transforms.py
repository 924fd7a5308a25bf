"""Transforms: SimMIM mask statistics, augmentations against references, view packing."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from scipy import ndimage

from mmselfsup_ext.datasets.transforms import (
    ColorJitter,
    MultiView,
    PackSelfSupInputs,
    RandomFlip,
    RandomGaussianBlur,
    RandomResizedCrop,
    Resize,
    SimMIMMaskGenerator,
)
from mmselfsup_ext.registry import MODELS, TRANSFORMS
from mmselfsup_ext.utils import register_all_modules

register_all_modules()
CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "selfsup"


def _image(h: int = 48, w: int = 40, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (3, h, w), dtype=np.uint8))


def _blocks(mask: torch.Tensor, block: int) -> torch.Tensor:
    """(H, W) -> (H/block, W/block, block, block)."""
    h, w = mask.shape
    return mask.view(h // block, block, w // block, block).permute(0, 2, 1, 3)


# ---------------------------------------------------------------- SimMIM mask
@pytest.mark.parametrize(
    "input_size, mask_patch, model_patch, ratio, tokens, masked",
    [
        (256, 32, 4, 0.6, 64, 39),  # paper: ceil(38.4) as in SimMIM / MMSelfSup
        (192, 32, 4, 0.6, 36, 22),  # SimMIM's own 192 px setting: ceil(21.6)
        (128, 16, 4, 0.5, 64, 32),
        (128, 32, 4, 0.6, 16, 10),  # the CPU configs
    ],
)
def test_mask_masks_an_exact_number_of_whole_tokens(input_size, mask_patch, model_patch, ratio, tokens, masked):
    gen = SimMIMMaskGenerator(input_size, mask_patch, model_patch, ratio)
    out = gen(dict(img=torch.zeros(3, input_size, input_size, dtype=torch.uint8)))
    mask = out["mask"]
    side = input_size // model_patch
    assert mask.dtype == torch.bool and mask.shape == (side, side)
    blocks = _blocks(mask, mask_patch // model_patch)
    assert blocks.shape[0] * blocks.shape[1] == tokens
    whole = blocks.all(-1).all(-1)
    assert torch.equal(whole, blocks.any(-1).any(-1))  # every token fully masked or fully visible
    assert int(whole.sum()) == masked
    assert mask.float().mean().item() == pytest.approx(masked / tokens)


def test_mask_is_random_and_uniform_over_tokens():
    gen = SimMIMMaskGenerator()
    draws = torch.stack([_blocks(gen.generate(), 8).all(-1).all(-1) for _ in range(2000)]).float()
    assert len({tuple(d.flatten().tolist()) for d in draws[:50]}) == 50  # no repeats
    freq = draws.mean(0)
    p = 39 / 64
    sigma = math.sqrt(p * (1 - p) / 2000)
    assert (freq - p).abs().max().item() < 5 * sigma


def test_seeded_mask_depends_only_on_seed_and_sample():
    gen = SimMIMMaskGenerator(seed=7)
    img = torch.zeros(3, 256, 256, dtype=torch.uint8)
    torch.manual_seed(1)
    a = gen(dict(img=img, sample_idx=3))["mask"]
    torch.manual_seed(2)
    b = gen(dict(img=img, sample_idx=3))["mask"]
    assert torch.equal(a, b)
    others = [gen(dict(img=img, sample_idx=i))["mask"] for i in range(4)]
    assert not all(torch.equal(others[0], o) for o in others[1:])
    assert not torch.equal(a, SimMIMMaskGenerator(seed=8)(dict(img=img, sample_idx=3))["mask"])


def test_mask_generator_rejects_bad_arguments_and_sizes():
    with pytest.raises(ValueError, match="divide input_size"):
        SimMIMMaskGenerator(input_size=100, mask_patch_size=32)
    with pytest.raises(ValueError, match="divide mask_patch_size"):
        SimMIMMaskGenerator(mask_patch_size=32, model_patch_size=5)
    with pytest.raises(ValueError, match="mask_ratio"):
        SimMIMMaskGenerator(mask_ratio=1.0)
    with pytest.raises(ValueError, match="resize or crop"):
        SimMIMMaskGenerator(input_size=256)(dict(img=torch.zeros(3, 128, 128, dtype=torch.uint8)))


# ------------------------------------------------------------ augmentations
def test_flip_matches_torch_flip():
    img = _image()
    assert torch.equal(RandomFlip(prob=1.0)(dict(img=img))["img"], torch.flip(img, [-1]))
    assert torch.equal(RandomFlip(prob=1.0, direction="vertical")(dict(img=img))["img"], torch.flip(img, [-2]))
    assert torch.equal(RandomFlip(prob=0.0)(dict(img=img))["img"], img)
    with pytest.raises(ValueError, match="prob"):
        RandomFlip(prob=1.5)


def test_resize_and_random_resized_crop_sizes_and_content():
    img = _image(48, 40)
    assert Resize(32)(dict(img=img))["img"].shape == (3, 32, 32)
    assert Resize((16, 24))(dict(img=img))["img"].shape == (3, 16, 24)
    flat = torch.full((3, 50, 70), 77, dtype=torch.uint8)
    crop = RandomResizedCrop(32, scale=(0.2, 0.5))(dict(img=flat))["img"]
    assert crop.shape == (3, 32, 32) and torch.all(crop == 77)
    # A left-to-right ramp: a crop of half the area or less cannot span the full range.
    ramp = torch.arange(200, dtype=torch.uint8).repeat(3, 200, 1)
    crop = RandomResizedCrop(64, scale=(0.1, 0.5), ratio=(1.0, 1.0))(dict(img=ramp))["img"]
    assert int(crop.max()) - int(crop.min()) < 200 * math.sqrt(0.5) + 2


def test_color_jitter_brightness_scales_all_pixels_by_one_factor():
    img = torch.randint(60, 120, (3, 20, 20), dtype=torch.uint8)  # no clipping for factors <= 2
    out = ColorJitter(brightness=0.5, contrast=0, saturation=0, hue=0, prob=1.0)(dict(img=img))["img"]
    ratio = out.float() / img.float()
    assert 0.5 - 0.02 <= ratio.mean().item() <= 1.5 + 0.02
    assert (ratio - ratio.mean()).abs().max().item() < 0.02  # one factor, up to uint8 rounding
    assert torch.equal(ColorJitter(prob=0.0)(dict(img=img))["img"], img)


def test_color_jitter_defaults_are_simclr():
    jitter = ColorJitter()
    assert (jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue, jitter.prob) == (0.8, 0.8, 0.8, 0.2, 0.8)


@pytest.mark.parametrize("sigma", [0.6, 1.0, 1.7])
def test_gaussian_blur_matches_scipy(sigma):
    img = _image(30, 34, seed=1)
    out = RandomGaussianBlur(sigma_min=sigma, sigma_max=sigma, prob=1.0)(dict(img=img))["img"]
    # The kernel spans ceil(3 sigma) pixels with reflection that does not repeat the edge
    # ("mirror" in scipy's terms); scipy's radius is int(truncate * sigma + 0.5).
    radius = math.ceil(3 * sigma)
    expected = ndimage.gaussian_filter(img.numpy().astype(np.float64), sigma=(0, sigma, sigma),
                                       mode="mirror", truncate=(radius + 0.25) / sigma)
    assert np.abs(out.numpy().astype(np.float64) - expected).max() <= 1.0


def test_gaussian_blur_probability():
    img = _image()
    assert torch.equal(RandomGaussianBlur(prob=0.0)(dict(img=img))["img"], img)
    torch.manual_seed(0)
    changed = sum(not torch.equal(RandomGaussianBlur(prob=0.5)(dict(img=img))["img"], img) for _ in range(400))
    assert 150 < changed < 250  # Binomial(400, 0.5): 200 +- 5 sigma


# --------------------------------------------------------- views and packing
def test_multiview_runs_the_pipeline_independently_per_view():
    img = _image(64, 64)
    views = MultiView(2, [dict(type="Resize", size=32)])(dict(img=img))["img"]
    assert len(views) == 2 and torch.equal(views[0], views[1])
    torch.manual_seed(0)
    jittered = MultiView(3, [dict(type="ColorJitter", prob=1.0)])(dict(img=img))["img"]
    assert len(jittered) == 3 and not torch.equal(jittered[0], jittered[1])
    with pytest.raises(ValueError, match="num_views"):
        MultiView(0, [])


def test_pack_follows_the_data_contract():
    img, mask = _image(32, 32), torch.zeros(8, 8, dtype=torch.bool)
    packed = PackSelfSupInputs()(dict(img=[img, img], mask=mask, img_path="a.jpg", ori_shape=(9, 9)))
    assert set(packed) == {"inputs", "data_samples"}
    assert len(packed["inputs"]) == 2 and packed["inputs"][0].dtype == torch.uint8
    assert packed["data_samples"] == {"img_path": "a.jpg", "mask": mask}
    with pytest.raises(ValueError, match="uint8"):
        PackSelfSupInputs()(dict(img=img.float()))


@pytest.fixture
def folder(tmp_path, concrete_left, write_images) -> str:
    crops = {f"s{i % 2}/img_{i}.jpg": concrete_left.crop((0, 150 * i, 150, 150 * i + 150)) for i in range(3)}
    write_images(tmp_path, crops)
    return str(tmp_path)


def _batch_from_config(config: str, folder: str, batch: int = 3) -> dict:
    cfg = Config.fromfile(str(CONFIGS / config))
    pipeline = Compose([TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline])
    paths = sorted(str(p) for p in Path(folder).rglob("*.jpg"))[:batch]
    samples = [pipeline(dict(img_path=p, sample_idx=i)) for i, p in enumerate(paths)]
    return cfg, pseudo_collate(samples)


def test_two_view_config_pipeline_shapes(folder):
    cfg, batch = _batch_from_config("hashclr/hashclr_swin_nano_fpn_1xb8_coslr_2e.py", folder)
    assert len(batch["inputs"]) == 2 and len(batch["inputs"][0]) == 3
    assert all(v.shape == (3, 128, 128) and v.dtype == torch.uint8 for view in batch["inputs"] for v in view)
    assert "mask" not in batch["data_samples"] and len(batch["data_samples"]["img_path"]) == 3
    assert not torch.equal(batch["inputs"][0][0], batch["inputs"][1][0])  # two different views
    out = MODELS.build(cfg.model.data_preprocessor)(batch)
    assert [tuple(v.shape) for v in out["inputs"]] == [(3, 3, 128, 128)] * 2


def test_mim_config_pipeline_shapes(folder):
    cfg, batch = _batch_from_config("simmim/simmim_swin_nano_fpn_1xb8-coslr-2e.py", folder)
    assert len(batch["inputs"]) == 1
    assert all(m.shape == (32, 32) and m.dtype == torch.bool for m in batch["data_samples"]["mask"])
    out = MODELS.build(cfg.model.data_preprocessor)(batch)
    assert tuple(out["inputs"][0].shape) == (3, 3, 128, 128)
    assert tuple(out["data_samples"]["mask"].shape) == (3, 32, 32)
