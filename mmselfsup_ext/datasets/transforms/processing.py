"""Geometric and photometric augmentations of (3, H, W) uint8 tensors.

Randomness comes from torch's global generator, which mmengine seeds per process and
per dataloader worker (``randomness.seed`` in the config).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torchvision.transforms import RandomResizedCrop as _TorchvisionRandomResizedCrop
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from mmselfsup_ext.registry import TRANSFORMS

from .base import BaseTransform, check_image

__all__ = ["ColorJitter", "RandomFlip", "RandomGaussianBlur", "RandomResizedCrop", "Resize"]


def _size_pair(size: int | Sequence[int], name: str) -> tuple[int, int]:
    """``size`` as (height, width); an int means a square."""
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, int) and s > 0 for s in pair):
        raise ValueError(f"{name} size must be a positive int or (height, width), got {size!r}")
    return pair  # type: ignore[return-value]


def _check_prob(prob: float, name: str) -> float:
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"{name} prob must be in [0, 1], got {prob!r}")
    return float(prob)


def _happens(prob: float) -> bool:
    return prob > 0.0 and torch.rand(()).item() < prob


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize to a fixed (height, width), ignoring the aspect ratio (bilinear, antialiased).

    Parameters
    ----------
    size : int or (int, int)
        Output size; an int gives a square.
    """

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _size_pair(size, "Resize")

    def transform(self, results: dict) -> dict:
        img = check_image(results["img"], "Resize")
        results["img"] = F.resize(img, list(self.size), antialias=True)
        return results


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area and aspect ratio, then resize it (Inception-style cropping).

    Parameters
    ----------
    size : int or (int, int)
        Output size; an int gives a square.
    scale : (float, float)
        Range of the crop area as a fraction of the image area.
    ratio : (float, float)
        Range of the crop aspect ratio (width / height).
    """

    def __init__(
        self,
        size: int | Sequence[int],
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
    ) -> None:
        self.size = _size_pair(size, "RandomResizedCrop")
        if len(scale) != 2 or not 0.0 < scale[0] <= scale[1] <= 1.0:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high <= 1, got {scale!r}")
        if len(ratio) != 2 or not 0.0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio must be (low, high) with 0 < low <= high, got {ratio!r}")
        self.scale = tuple(float(s) for s in scale)
        self.ratio = tuple(float(r) for r in ratio)

    def transform(self, results: dict) -> dict:
        img = check_image(results["img"], "RandomResizedCrop")
        top, left, height, width = _TorchvisionRandomResizedCrop.get_params(
            img, list(self.scale), list(self.ratio)
        )
        results["img"] = F.resized_crop(img, top, left, height, width, list(self.size), antialias=True)
        return results


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Mirror the image with probability ``prob``.

    Parameters
    ----------
    prob : float
        Flip probability.
    direction : {"horizontal", "vertical"}
        Mirror axis. Concrete surfaces have no natural up, so both are valid.
    """

    def __init__(self, prob: float = 0.5, direction: str = "horizontal") -> None:
        if direction not in ("horizontal", "vertical"):
            raise ValueError(f"direction must be 'horizontal' or 'vertical', got {direction!r}")
        self.prob = _check_prob(prob, "RandomFlip")
        self.direction = direction

    def transform(self, results: dict) -> dict:
        img = check_image(results["img"], "RandomFlip")
        if _happens(self.prob):
            flip = F.horizontal_flip if self.direction == "horizontal" else F.vertical_flip
            results["img"] = flip(img)
        return results


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """With probability ``prob``, jitter brightness, contrast, saturation and hue (random order).

    Defaults are SimCLR's (0.8, 0.8, 0.8, 0.2) applied with probability 0.8 (docs/design.md §4).

    Parameters
    ----------
    brightness, contrast, saturation : float
        Factors are drawn from [max(0, 1 - x), 1 + x].
    hue : float
        Hue shift drawn from [-hue, hue]; at most 0.5.
    prob : float
        Probability of jittering at all.
    """

    def __init__(
        self,
        brightness: float = 0.8,
        contrast: float = 0.8,
        saturation: float = 0.8,
        hue: float = 0.2,
        prob: float = 0.8,
    ) -> None:
        for name, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if value < 0:
                raise ValueError(f"ColorJitter {name} must be >= 0, got {value!r}")
        if not 0.0 <= hue <= 0.5:
            raise ValueError(f"ColorJitter hue must be in [0, 0.5], got {hue!r}")
        self.brightness, self.contrast, self.saturation, self.hue = brightness, contrast, saturation, hue
        self.prob = _check_prob(prob, "ColorJitter")
        self._jitter = v2.ColorJitter(brightness, contrast, saturation, hue)

    def transform(self, results: dict) -> dict:
        img = check_image(results["img"], "ColorJitter")
        if _happens(self.prob):
            results["img"] = self._jitter(img)
        return results


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """With probability ``prob``, blur with a Gaussian of sigma drawn uniformly in a range.

    The kernel spans +-3 sigma, so the blur is the same whatever the image size.

    Parameters
    ----------
    sigma_min, sigma_max : float
        Range of sigma in pixels (SimCLR: 0.1 to 2.0).
    prob : float
        Probability of blurring.
    """

    def __init__(self, sigma_min: float = 0.1, sigma_max: float = 2.0, prob: float = 0.5) -> None:
        if not 0.0 < sigma_min <= sigma_max:
            raise ValueError(f"need 0 < sigma_min <= sigma_max, got {sigma_min!r} and {sigma_max!r}")
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        self.prob = _check_prob(prob, "RandomGaussianBlur")

    def transform(self, results: dict) -> dict:
        img = check_image(results["img"], "RandomGaussianBlur")
        if _happens(self.prob):
            sigma = self.sigma_min + (self.sigma_max - self.sigma_min) * torch.rand(()).item()
            # Reflect padding needs the half-kernel to stay below the image side.
            half = min(math.ceil(3.0 * sigma), min(img.shape[-2:]) - 1)
            results["img"] = F.gaussian_blur(img, [2 * half + 1] * 2, [sigma, sigma])
        return results
