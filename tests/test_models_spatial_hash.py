"""Spatial hash: view geometry of OverlapViews, correspondence, the dense loss, the model."""
from __future__ import annotations

import math

import pytest
import torch

from mmselfsup_ext.datasets.transforms import OverlapViews
from mmselfsup_ext.models import ConvProjectionNeck, SpatialHashHead, SwinFpn
from mmselfsup_ext.models.heads import decorrelation_loss, dense_info_nce
from mmselfsup_ext.models.utils import cell_centres, map_between_views
from mmselfsup_ext.registry import MODELS


def _ramp(height: int, width: int) -> torch.Tensor:
    """uint8 image whose red channel is x / 2 and green channel y / 2 (continuous coords)."""
    ys, xs = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    return torch.stack([xs / 2, ys / 2, torch.zeros_like(xs)]).round().to(torch.uint8)


# --- geometry of the views ----------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_view_geometry_points_at_the_source_pixels_the_view_shows(seed):
    # The ramp encodes source coordinates in the pixel values, so reading a view pixel tells
    # where it came from, independently of how the geometry was derived.
    img = _ramp(400, 480)
    step = OverlapViews(size=64, crop_scale=(0.4, 0.6), max_rotation=10.0, max_scale=0.2)
    torch.manual_seed(seed)
    out = step({"img": img})
    geometry = out["view_geometry"]
    assert geometry.shape == (2, 2, 3) and geometry.dtype == torch.float32
    centres = cell_centres(64, 64)
    inner = (centres.abs() < 0.8).all(dim=1)  # away from the border fill
    for v in range(2):
        source = centres[inner] @ geometry[v, :, :2].t() + geometry[v, :, 2]
        shown = out["img"][v][:2].float().flatten(1).t()[inner] * 2
        # uint8 rounding of x / 2 and bilinear resampling: within 2 source pixels.
        assert (shown - source).abs().max() < 2.5


def test_map_between_views_recovers_a_known_shift_and_scale():
    # View 0: source box x in [0, 100], y in [0, 80]; view 1: x in [50, 150] (same y),
    # i.e. half a view to the right: view-0 point x = 0.5 is view-1 point x = -0.5.
    geometry = torch.tensor([[[[50.0, 0, 50], [0, 40, 40]], [[50.0, 0, 100], [0, 40, 40]]]])
    points = torch.tensor([[0.5, 0.0], [1.0, -1.0], [-1.0, 0.25]])
    mapped = map_between_views(geometry, points, source=0)
    torch.testing.assert_close(mapped[0], torch.tensor([[-0.5, 0.0], [0.0, -1.0], [-2.0, 0.25]]))
    back = map_between_views(geometry, mapped, source=1)
    torch.testing.assert_close(back[0], points)


def test_cell_centres_are_row_major_grid_centres():
    assert cell_centres(2, 2).tolist() == [[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]]
    with pytest.raises(ValueError):
        cell_centres(0, 3)


# --- losses -----------------------------------------------------------------------------------

def _info_nce_loops(a, b, neutral, tau):
    total = 0.0
    for i in range(len(a)):
        sims = {j: float(torch.nn.functional.cosine_similarity(a[i], b[j], dim=0)) / tau
                for j in range(len(b)) if j == i or not neutral[i, j]}
        total += -(sims[i] - math.log(sum(math.exp(s) for s in sims.values())))
    return total / len(a)


def test_dense_info_nce_matches_a_loop_and_leaves_neutral_keys_out():
    torch.manual_seed(0)
    a, b = torch.randn(5, 4), torch.randn(5, 4)
    neutral = torch.zeros(5, 5, dtype=torch.bool)
    neutral[0, 1] = neutral[3, 4] = neutral[2, 2] = True
    got = dense_info_nce(a, b, neutral, 0.5).item()
    assert got == pytest.approx(_info_nce_loops(a, b, neutral, 0.5), rel=1e-5)
    assert got != pytest.approx(dense_info_nce(a, b, torch.zeros_like(neutral), 0.5).item())
    assert dense_info_nce(torch.zeros(0, 4), torch.zeros(0, 4), torch.zeros(0, 0, dtype=torch.bool), 0.1) == 0


def test_decorrelation_loss_is_zero_for_independent_bits_and_one_for_copies():
    # Columns of a Hadamard-like +-1 design are exactly uncorrelated.
    h = torch.tensor([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=torch.float32)
    assert decorrelation_loss(h[:, 1:]).item() == pytest.approx(0.0, abs=1e-6)
    copies = torch.tensor([[1.0, 1.0], [-1.0, -1.0], [1.0, 1.0]])
    assert decorrelation_loss(copies).item() == pytest.approx(1.0, abs=1e-4)


def _identity_geometry(batch, shift_x=0.0):
    """Two views of the same 100 x 100 source box, the second shifted by shift_x (normalised)."""
    g = torch.tensor([[50.0, 0, 50], [0, 50, 50]])
    second = g.clone()
    second[0, 2] += 50.0 * shift_x
    return torch.stack([g, second]).expand(batch, 2, 2, 3).clone()


def test_spatial_head_pairs_cells_showing_the_same_surface_point():
    head = SpatialHashHead(neutral_radius=0.0)
    u = torch.randn(2, 8, 4, 4)
    # View 2 is view 1 shifted by half a view (2 cells) to the right: view-1 cell (r, c)
    # shows the surface of view-2 cell (r, c - 2), so only columns 2-3 of view 1 have a
    # partner, and it is view 2's column 0-1.
    u2 = torch.zeros_like(u)
    u2[..., :2] = u[..., 2:]
    anchors, keys, neutral = head.correspondences(u, u2, _identity_geometry(2, shift_x=1.0), source=0)
    assert anchors.shape == keys.shape == (2 * 4 * 2, 8)
    torch.testing.assert_close(anchors, keys)
    assert not neutral.any()


def test_spatial_head_loss_prefers_corresponding_codes():
    torch.manual_seed(1)
    head = SpatialHashHead(temperature=0.1, beta=1.0, decorrelation=1.0, neutral_radius=1.5, gamma=3.0)
    u = torch.randn(3, 16, 4, 4)
    geometry = _identity_geometry(3)
    matched = head.loss(u, u.clone(), geometry)
    shuffled = head.loss(u, u[:, :, torch.randperm(4)][..., torch.randperm(4)], geometry)
    assert set(matched) == {"loss_dense", "loss_quant", "loss_decor"}
    assert matched["loss_dense"] < shuffled["loss_dense"]
    relaxed = torch.tanh(3.0 * u)
    assert matched["loss_quant"].item() == pytest.approx((1 - relaxed.abs()).mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match="geometry"):
        head.loss(u, u, geometry[:2])


def test_spatial_head_rejects_bad_settings():
    for kwargs in (dict(temperature=0), dict(beta=-1), dict(decorrelation=-1), dict(neutral_radius=-1)):
        with pytest.raises(ValueError):
            SpatialHashHead(**kwargs)


# --- neck, backbone grid, model -------------------------------------------------------------

def test_conv_projection_neck_keeps_the_grid():
    neck = ConvProjectionNeck(16, 8, 5).eval()
    assert neck(torch.randn(2, 16, 3, 4)).shape == (2, 5, 3, 4)
    with pytest.raises(ValueError):
        neck(torch.randn(2, 16))


def test_swin_fpn_out_level_sets_the_cell_grid_without_new_weights():
    coarse = SwinFpn(arch="nano", img_size=64, window_size=2).eval()
    fine = SwinFpn(arch="nano", img_size=64, window_size=2, out_level=2).eval()
    fine.load_state_dict(coarse.state_dict())
    x = torch.randn(1, 3, 64, 64)
    assert coarse(x).shape == (1, 128, 2, 2) and coarse.out_stride == 32
    assert fine(x).shape == (1, 128, 4, 4) and fine.out_stride == 16
    with pytest.raises(ValueError, match="out_level"):
        SwinFpn(arch="nano", img_size=64, window_size=2, out_level=4)


def _tiny_model():
    return MODELS.build(dict(
        type="SwinFpnSpatialHash", data_preprocessor=dict(type="PerImageDataPreprocessor"),
        backbone=dict(type="SwinFpn", arch="nano", img_size=64, window_size=2, out_level=2),
        neck=dict(type="ConvProjectionNeck", in_channels=128, hid_channels=32, out_channels=16),
        head=dict(type="SpatialHashHead", decorrelation=1.0)))


def test_model_loss_and_predict_shapes():
    torch.manual_seed(2)
    model = _tiny_model()
    step = OverlapViews(size=64, min_overlap=0.3)
    img = torch.randint(0, 256, (3, 160, 160), dtype=torch.uint8)
    samples = [step({"img": img}) for _ in range(2)]
    data = model.data_preprocessor({
        "inputs": [[s["img"][v] for s in samples] for v in range(2)],
        "data_samples": {"view_geometry": [s["view_geometry"] for s in samples]}})
    losses = model(data["inputs"], data["data_samples"], mode="loss")
    assert set(losses) == {"loss_dense", "loss_quant", "loss_decor"}
    assert all(torch.isfinite(v) for v in losses.values())
    model.set_gamma(2.0)
    assert model.gamma == 2.0 and model.code_bits == 16
    out = model.eval()(data["inputs"][:1], {}, mode="predict")
    assert out["z"].shape == (2, 16, 4, 4) and out["codes"].shape == (2, 4, 4, 16)
    torch.testing.assert_close(out["codes"], (out["z"] > 0).permute(0, 2, 3, 1))
    with pytest.raises(ValueError, match="view_geometry"):
        model(data["inputs"], {}, mode="loss")
