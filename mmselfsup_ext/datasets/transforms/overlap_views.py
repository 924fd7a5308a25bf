"""Overlap-aware positive pairs: two overlapping, slightly re-posed crops of one surface.

Inspection duplicates are not photometric copies of one frame (the paper's positives) but
two shots whose footprints overlap, shifted, slightly rotated and re-scaled, and exposed
differently. :class:`OverlapViews` draws such a pair from one training tile, so the
contrastive loss pulls together exactly what deduplication must call a duplicate.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from mmengine.dataset import Compose
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from mmselfsup_ext.registry import TRANSFORMS

from .base import BaseTransform, check_image

__all__ = ["OverlapViews", "overlap_fraction"]


def overlap_fraction(shift_x: float, shift_y: float, width: float, height: float) -> float:
    """Overlap of two equal axis-aligned boxes offset by (shift_x, shift_y).

    Intersection area over the (common) box area, the ground truth's definition for
    equal footprints.

    Parameters
    ----------
    shift_x, shift_y : float
        Offset of the second box's centre from the first's, in pixels.
    width, height : float
        Box size in pixels (> 0).

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> overlap_fraction(30, 0, 100, 80)
    0.7
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"box width and height must be positive, got {width} and {height}")
    return max(0.0, 1.0 - abs(shift_x) / width) * max(0.0, 1.0 - abs(shift_y) / height)


def _view_to_source(left: int, top: int, w_px: int, h_px: int, angle: float, cx: float,
                    cy: float) -> torch.Tensor:
    """(2, 3) affine map from a view's normalised coordinates to source coordinates.

    The view resizes the box ``(left, top, w_px, h_px)`` of the image rotated by ``angle``
    degrees about ``(cx, cy)``; torchvision's rotation takes the rotated image's point
    ``q`` from the source point ``p = c + R(-angle) (q - c)`` (R counter-clockwise in
    x-right, y-down coordinates; pinned by a test against a coordinate-ramp image).
    """
    a = math.radians(-angle)
    rot = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=torch.float64)
    scale = torch.diag(torch.tensor([w_px / 2.0, h_px / 2.0], dtype=torch.float64))
    centre = torch.tensor([cx, cy], dtype=torch.float64)
    box_centre = torch.tensor([left + w_px / 2.0, top + h_px / 2.0], dtype=torch.float64)
    linear = rot @ scale
    offset = rot @ (box_centre - centre) + centre
    return torch.cat([linear, offset[:, None]], dim=1).float()


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * torch.rand(()).item()


@TRANSFORMS.register_module()
class OverlapViews(BaseTransform):
    """Two views of an image: overlapping crops with pose jitter, each then augmented.

    The first crop has a random side (``crop_scale`` of the image's shorter side) and
    aspect ratio (``ratio``, width / height) at a random place. The second has the same
    nominal size, shifted so that the two nominal boxes overlap by a fraction drawn
    uniformly in ``[min_overlap, 1]`` (split at random between x and y), then both are
    rotated by up to ``max_rotation`` degrees and scaled by up to ``1 +- max_scale``
    about their centres, like the pose jitter between two drone shots. Each crop is
    resized to ``size`` and passed through ``transforms`` (photometric jitter).
    ``results['img']`` becomes the list of the two views, as after :class:`MultiView`.

``results['view_geometry']`` records where each view came from: a float32 ``(2, 2, 3)``
tensor whose ``[v]`` is the affine map from view ``v``'s normalised coordinates
(``x, y`` in [-1, 1], pixel centres at ``2 (i + 0.5) / size - 1``, the
``align_corners=False`` convention of ``grid_sample``) to continuous source-image
coordinates (pixel ``i`` spans ``[i, i + 1)``). The same surface point in the two views
is therefore known exactly (dense correspondence), provided ``transforms`` are
photometric only. Pack it with ``PackSelfSupInputs(meta_keys=("img_path",
"view_geometry"))`` for dense losses.

    Shifts that would leave the image are clipped, which only increases the overlap;
    a rotated or scaled crop may sample a thin border outside the image, filled with
    the image's mean colour.

    Parameters
    ----------
    size : int
        Side of the (square) output views.
    crop_scale : (float, float)
        Range of the crop's geometric-mean side as a fraction of the shorter image side.
    ratio : (float, float)
        Range of the crop aspect ratio (width / height); shots are often 5:4.
    min_overlap : float
        Smallest overlap of the two nominal boxes, in (0, 1].
    max_rotation : float
        Largest rotation of each crop in degrees.
    max_scale : float
        Largest relative size change of each crop, in [0, 0.5).
    transforms : sequence of dict or callable
        Per-view pipeline applied after cropping (e.g. ColorJitter, RandomGaussianBlur).
    """

    def __init__(
        self,
        size: int = 128,
        crop_scale: Sequence[float] = (0.45, 0.7),
        ratio: Sequence[float] = (1.0, 1.35),
        min_overlap: float = 0.55,
        max_rotation: float = 5.0,
        max_scale: float = 0.1,
        transforms: Sequence[dict | Callable] = (),
    ) -> None:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        if len(crop_scale) != 2 or not 0.0 < crop_scale[0] <= crop_scale[1] <= 1.0:
            raise ValueError(f"crop_scale must be (low, high) with 0 < low <= high <= 1, got {crop_scale!r}")
        if len(ratio) != 2 or not 0.0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio must be (low, high) with 0 < low <= high, got {ratio!r}")
        if not 0.0 < min_overlap <= 1.0:
            raise ValueError(f"min_overlap must be in (0, 1], got {min_overlap!r}")
        if not 0.0 <= max_rotation <= 45.0:
            raise ValueError(f"max_rotation must be in [0, 45] degrees, got {max_rotation!r}")
        if not 0.0 <= max_scale < 0.5:
            raise ValueError(f"max_scale must be in [0, 0.5), got {max_scale!r}")
        self.size = size
        self.crop_scale = tuple(float(s) for s in crop_scale)
        self.ratio = tuple(float(r) for r in ratio)
        self.min_overlap = float(min_overlap)
        self.max_rotation = float(max_rotation)
        self.max_scale = float(max_scale)
        self.pipeline = Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t for t in transforms])

    def boxes(self, height: int, width: int) -> tuple[tuple[float, float, float, float], tuple[float, float]]:
        """Draw the nominal crop size and the two centres.

        Parameters
        ----------
        height, width : int
            Image size.

        Returns
        -------
        ((cx1, cy1, cx2, cy2), (crop_w, crop_h))
            Centres of the two crops and their common nominal size, in pixels.
        """
        side = _uniform(*self.crop_scale) * min(height, width)
        aspect = math.exp(_uniform(math.log(self.ratio[0]), math.log(self.ratio[1])))
        crop_w = min(width, side * math.sqrt(aspect))
        crop_h = min(height, side / math.sqrt(aspect))
        target = _uniform(self.min_overlap, 1.0)
        # Split the target overlap between the axes: (1 - |dx|/w) (1 - |dy|/h) = target.
        share = torch.rand(()).item()
        shift_x = crop_w * (1.0 - target**share) * (1 if torch.rand(()).item() < 0.5 else -1)
        shift_y = crop_h * (1.0 - target ** (1.0 - share)) * (1 if torch.rand(()).item() < 0.5 else -1)
        cx1 = _uniform(crop_w / 2, width - crop_w / 2)
        cy1 = _uniform(crop_h / 2, height - crop_h / 2)
        cx2 = min(max(cx1 + shift_x, crop_w / 2), width - crop_w / 2)
        cy2 = min(max(cy1 + shift_y, crop_h / 2), height - crop_h / 2)
        return (cx1, cy1, cx2, cy2), (crop_w, crop_h)

    def _view(self, img: torch.Tensor, cx: float, cy: float, crop_w: float, crop_h: float,
              fill: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
        """Crop (w, h) about (cx, cy) with random rotation and scale, resized to ``size``.

        Returns the view and its (2, 3) map from normalised view to source coordinates.
        """
        angle = _uniform(-self.max_rotation, self.max_rotation)
        zoom = 1.0 + _uniform(-self.max_scale, self.max_scale)
        height, width = img.shape[-2:]
        # Rotating about the crop centre keeps that point fixed; the crop is then cut
        # axis-aligned from the rotated image.
        rotated = img if angle == 0.0 else F.affine(
            img, angle=angle, translate=[0.0, 0.0], scale=1.0, shear=[0.0, 0.0],
            interpolation=InterpolationMode.BILINEAR, fill=fill, center=[cx, cy])
        w, h = crop_w * zoom, crop_h * zoom
        left = int(round(min(max(cx - w / 2, 0.0), width - min(w, width))))
        top = int(round(min(max(cy - h / 2, 0.0), height - min(h, height))))
        w_px, h_px = max(1, int(round(min(w, width)))), max(1, int(round(min(h, height))))
        view = F.resized_crop(rotated, top, left, h_px, w_px, [self.size, self.size], antialias=True)
        return view, _view_to_source(left, top, w_px, h_px, angle, cx, cy)

    def transform(self, results: dict) -> dict | None:
        """Replace ``results['img']`` by the list of two augmented overlapping views."""
        img = check_image(results["img"], "OverlapViews")
        (cx1, cy1, cx2, cy2), (crop_w, crop_h) = self.boxes(*img.shape[-2:])
        fill = [float(v) for v in img.float().mean(dim=(1, 2))]
        views, geometry = [], []
        for cx, cy in ((cx1, cy1), (cx2, cy2)):
            view, to_source = self._view(img, cx, cy, crop_w, crop_h, fill)
            out = self.pipeline(dict(results, img=view))
            if out is None:
                return None
            views.append(out["img"])
            geometry.append(to_source)
        results["img"] = views
        results["view_geometry"] = torch.stack(geometry)
        return results
