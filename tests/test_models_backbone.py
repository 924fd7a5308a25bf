"""SwinFpn: shapes at the paper's 256/512 px, the small CPU arch, the SimMIM mask token."""
import pytest
import torch

from mmselfsup_ext.models import SWIN_FPN_ARCHS, SwinFpn
from mmselfsup_ext.registry import MODELS


@pytest.fixture(scope="module")
def swin_tiny() -> SwinFpn:
    torch.manual_seed(0)
    return MODELS.build(dict(type="SwinFpn", arch="tiny", img_size=256, window_size=6)).eval()


@pytest.fixture(scope="module")
def small_masked() -> SwinFpn:
    torch.manual_seed(0)
    return SwinFpn(arch="nano", img_size=64, window_size=4, use_mask_token=True).eval()


@pytest.mark.parametrize("size", [256, 512])
def test_tiny_stage_and_fused_shapes(swin_tiny, size):
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        feats = swin_tiny.forward_features(x)
        fused = swin_tiny.fusion(swin_tiny.fpn(feats))
    expected = [(1, c, size // s, size // s) for c, s in zip((96, 192, 384, 768), (4, 8, 16, 32))]
    assert [tuple(f.shape) for f in feats] == expected
    # The fused map is the 4 FPN levels of 192 channels at the coarsest (1/32) resolution.
    assert tuple(fused.shape) == (1, 4 * 192, size // 32, size // 32)
    assert swin_tiny.out_channels == 768
    assert torch.isfinite(fused).all()


def test_tiny_keeps_window_6_at_512(swin_tiny):
    # Running at 512 px must reuse the 256-px weights: same window, same bias tables.
    windows = {tuple(block.window_size) for stage in swin_tiny.layers for block in stage.blocks}
    assert windows == {(6, 6)}


def test_nano_arch_shapes(small_masked):
    spec = SWIN_FPN_ARCHS["nano"]
    assert (spec["embed_dims"], tuple(spec["depths"]), tuple(spec["num_heads"]), spec["fpn_channels"]) == (
        32,
        (1, 1, 2, 1),
        (1, 2, 4, 8),
        32,
    )
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        feats = small_masked.forward_features(x)
        out = small_masked(x)
    assert [tuple(f.shape) for f in feats] == [(2, 32, 16, 24), (2, 64, 8, 12), (2, 128, 4, 6), (2, 256, 2, 3)]
    assert tuple(out.shape) == (2, 128, 2, 3)


def test_former_arch_name_builds_the_same_network():
    # Checkpoints trained before the rename embed arch="small-cpu".
    torch.manual_seed(0)
    former = SwinFpn(arch="small-cpu", img_size=64, window_size=4).eval()
    current = SwinFpn(arch="nano", img_size=64, window_size=4).eval()
    current.load_state_dict(former.state_dict())  # strict: raises unless every tensor matches
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(former(x), current(x))


def test_dict_arch_and_fpn_override():
    arch = dict(embed_dims=16, depths=(1, 1, 1, 1), num_heads=(1, 1, 2, 2))
    model = SwinFpn(arch=arch, img_size=64, window_size=4, fpn_channels=8).eval()
    in_arch = SwinFpn(arch=dict(arch, fpn_channels=4), img_size=64, window_size=4).eval()
    with torch.no_grad():
        x = torch.randn(1, 3, 64, 64)
        assert tuple(model(x).shape) == (1, 32, 2, 2)
        assert tuple(in_arch(x).shape) == (1, 16, 2, 2)


def _patch_pixels(mask: torch.Tensor, patch: int) -> torch.Tensor:
    """Pixel-level (B, 1, H, W) bool mask written with explicit loops (independent of the model)."""
    b, h, w = mask.shape
    pixels = torch.zeros(b, 1, h * patch, w * patch, dtype=torch.bool)
    for n in range(b):
        for i in range(h):
            for j in range(w):
                if mask[n, i, j]:
                    pixels[n, :, i * patch:(i + 1) * patch, j * patch:(j + 1) * patch] = True
    return pixels


def test_masked_pixels_are_invisible_to_the_model(small_masked):
    torch.manual_seed(1)
    x = torch.randn(1, 3, 64, 64)
    mask = torch.rand(1, 16, 16) < 0.5
    pixels = _patch_pixels(mask, 4)
    noise = torch.randn_like(x) * 5
    with torch.no_grad():
        base = small_masked(x, mask)
        hidden_change = small_masked(torch.where(pixels, x + noise, x), mask)
        visible_change = small_masked(torch.where(pixels, x, x + noise), mask)
        unmasked = small_masked(x)
    # Changing only masked pixels cannot matter: their embeddings are replaced by the token.
    torch.testing.assert_close(hidden_change, base, rtol=0, atol=1e-5)
    assert (visible_change - base).abs().max() > 1e-2
    assert (unmasked - base).abs().max() > 1e-2


def test_mask_token_replaces_exactly_the_masked_embeddings(small_masked):
    torch.manual_seed(2)
    x = torch.randn(1, 3, 64, 64)
    mask = torch.zeros(1, 16, 16, dtype=torch.bool)
    mask[0, 3, 5] = True
    mask[0, 10:12, 0:4] = True
    captured = {}
    hook = small_masked.layers[0].register_forward_pre_hook(lambda m, args: captured.setdefault("x", args[0]))
    try:
        with torch.no_grad():
            small_masked(x, mask)
            embed = small_masked.patch_embed(x)
    finally:
        hook.remove()
    tokens = captured["x"]
    token = small_masked.mask_token.detach().reshape(-1)
    for i in range(16):
        for j in range(16):
            expected = token if mask[0, i, j] else embed[0, i, j]
            torch.testing.assert_close(tokens[0, i, j], expected)


def test_all_zero_mask_equals_no_mask(small_masked):
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(small_masked(x, torch.zeros(1, 16, 16, dtype=torch.bool)), small_masked(x))


@pytest.mark.parametrize(
    "kwargs, inputs, match",
    [
        (dict(arch="huge"), None, "arch must be one of"),
        (dict(arch=dict(embed_dims=8)), None, "needs keys"),
        (dict(arch=dict(embed_dims=8, depths=(1,), num_heads=(1,), window=3)), None, "needs keys"),
        (dict(arch="nano", img_size=70), None, "multiple of 32"),
        (dict(arch="nano", img_size=64), (torch.zeros(1, 3, 64, 48), None), "multiples of 32"),
        (dict(arch="nano", img_size=64), (torch.zeros(1, 3, 64, 64), torch.zeros(1, 16, 16)), "use_mask_token"),
        (
            dict(arch="nano", img_size=64, use_mask_token=True),
            (torch.zeros(1, 3, 64, 64), torch.zeros(1, 8, 8)),
            r"mask of shape \(1, 16, 16\)",
        ),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, inputs, match):
    with pytest.raises(ValueError, match=match):
        model = SwinFpn(window_size=4, **kwargs)
        model(*inputs)
