"""Necks, heads, losses, the code layout and the data preprocessor, against hand references."""
import math

import pytest
import torch

from mmselfsup_ext.models import (
    ContrastiveHead,
    HashCLRHead,
    NonLinearNeck,
    SelfSupDataPreprocessor,
    SimMIMHead,
    SimMIMLinearDecoder,
    code_layout,
    nt_xent,
)


# --- code layout -----------------------------------------------------------------------

def test_code_layout_matches_the_authors_chunk_rule():
    layout = code_layout(320, 10)
    assert list(layout) == [32, 64, 96, 128]
    # Written independently: walk the 32 chunks of 10 and deal positions to the codes.
    expected = {32: [], 64: [], 96: [], 128: []}
    for c in range(32):
        for p in range(10):
            bits = 32 if p == 0 else 64 if p <= 2 else 96 if p <= 5 else 128
            expected[bits].append(10 * c + p)
    for bits, indices in layout.items():
        assert indices.dtype == torch.int64
        assert indices.tolist() == expected[bits]


def test_code_layout_is_a_disjoint_cover_of_the_projection():
    layout = code_layout(320, 10)
    everything = torch.cat(list(layout.values()))
    assert [len(v) for v in layout.values()] == [32, 64, 96, 128]
    assert sorted(everything.tolist()) == list(range(320))


def test_code_layout_other_sizes_and_errors():
    assert {k: v.tolist() for k, v in code_layout(6, 3).items()} == {2: [0, 3], 4: [1, 2, 4, 5]}
    with pytest.raises(ValueError, match="triangular"):
        code_layout(320, 8)
    with pytest.raises(ValueError, match="multiple of chunk"):
        code_layout(325, 10)


# --- NT-Xent -----------------------------------------------------------------------------

def _nt_xent_loops(a: torch.Tensor, b: torch.Tensor, tau: float) -> float:
    """Reference: explicit loop over anchors, log-softmax over every other sample."""
    feats = [v / v.norm() for v in torch.cat([a, b]).double()]
    n = a.shape[0]
    total = 0.0
    for i in range(2 * n):
        positive = i + n if i < n else i - n
        sims = {k: float(feats[i] @ feats[k]) / tau for k in range(2 * n) if k != i}
        log_norm = math.log(sum(math.exp(s) for s in sims.values()))
        total += -(sims[positive] - log_norm)
    return total / (2 * n)


def test_nt_xent_matches_loop_reference():
    torch.manual_seed(0)
    a, b = torch.randn(5, 7), torch.randn(5, 7)
    for tau in (0.1, 0.5):
        assert nt_xent(a, b, tau).item() == pytest.approx(_nt_xent_loops(a, b, tau), rel=1e-5)


def test_nt_xent_hand_computed_orthogonal_pairs():
    # Views are identical one-hot vectors: each anchor sees its positive at similarity 1
    # and two negatives at similarity 0, so loss = log(1 + 2 exp(-1 / tau)).
    a = torch.eye(2, 3) * 3.0
    for tau in (0.5, 1.0):
        assert nt_xent(a, a.clone(), tau).item() == pytest.approx(math.log(1 + 2 * math.exp(-1 / tau)), rel=1e-5)


def test_nt_xent_rejects_mismatched_views():
    with pytest.raises(ValueError, match="two"):
        nt_xent(torch.zeros(2, 3), torch.zeros(3, 3), 0.1)


def test_contrastive_head_is_plain_nt_xent():
    torch.manual_seed(1)
    z1, z2 = torch.randn(4, 10), torch.randn(4, 10)
    losses = ContrastiveHead(temperature=0.1).loss(z1, z2)
    assert list(losses) == ["loss_contrastive"]
    assert losses["loss_contrastive"].item() == pytest.approx(_nt_xent_loops(z1, z2, 0.1), rel=1e-5)


# --- HashCLR head ------------------------------------------------------------------------

def test_quantization_loss_exact_on_known_relaxation():
    b1 = torch.tensor([[0.5, -0.25], [0.9, 0.0]])
    b2 = torch.tensor([[-0.75, 0.1], [0.2, -0.6]])
    head = HashCLRHead(temperature=0.1, beta=2.0, gamma=1.0)
    losses = head.loss(torch.atanh(b1), torch.atanh(b2))
    expected_quant = 2.0 * (8 - (0.5 + 0.25 + 0.9 + 0.0 + 0.75 + 0.1 + 0.2 + 0.6)) / 8
    assert set(losses) == {"loss_contrastive", "loss_quant"}
    assert losses["loss_quant"].item() == pytest.approx(expected_quant, abs=1e-6)
    assert losses["loss_contrastive"].item() == pytest.approx(_nt_xent_loops(b1, b2, 0.1), rel=1e-5)


def test_set_gamma_sharpens_the_relaxation():
    z = torch.tensor([[0.3, -0.2, 1.0]])
    head = HashCLRHead()
    head.set_gamma(1.0)
    soft = head.relax(z)
    head.set_gamma(4.0)
    sharp = head.relax(z)
    torch.testing.assert_close(sharp, torch.tanh(4.0 * z))
    assert (sharp.abs() > soft.abs()).all()
    assert head.loss(z, -z)["loss_quant"] < HashCLRHead(gamma=1.0).loss(z, -z)["loss_quant"]
    with pytest.raises(ValueError, match="gamma must be positive"):
        head.set_gamma(0.0)


# --- SimMIM head and decoder ------------------------------------------------------------

def test_simmim_loss_ignores_unmasked_pixels():
    torch.manual_seed(2)
    pred, target = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)
    mask = torch.rand(2, 4, 4) < 0.5
    pixels = mask.repeat_interleave(4, 1).repeat_interleave(4, 2).unsqueeze(1)
    head = SimMIMHead(patch_size=4)
    base = head.loss(pred, target, mask)
    unchanged = head.loss(torch.where(pixels, pred, pred + 10), target, mask)
    changed = head.loss(torch.where(pixels, pred + 10, pred), target, mask)
    assert unchanged.item() == pytest.approx(base.item(), rel=1e-6)
    assert changed.item() > base.item() + 1


def test_simmim_loss_hand_value():
    # Error 1 on every masked pixel and 100 elsewhere: mean over masked pixels is 1.
    target = torch.zeros(1, 3, 8, 8)
    mask = torch.tensor([[[True, False], [False, False]]])
    pred = torch.full_like(target, 100.0)
    pred[:, :, :4, :4] = 1.0
    assert SimMIMHead(patch_size=4).loss(pred, target, mask).item() == pytest.approx(1.0, rel=1e-6)
    assert SimMIMHead(patch_size=4).loss(pred, target, torch.zeros_like(mask)).item() == 0.0
    with pytest.raises(ValueError, match="mask of shape"):
        SimMIMHead(patch_size=4).loss(pred, target, torch.zeros(1, 4, 4))


def test_decoder_and_neck_shapes():
    latent = torch.randn(2, 768, 8, 8)
    decoder = SimMIMLinearDecoder(768, encoder_stride=32)
    assert tuple(decoder(latent).shape) == (2, 3, 256, 256)
    assert tuple(decoder(torch.randn(1, 768, 16, 16)).shape) == (1, 3, 512, 512)
    assert SimMIMLinearDecoder(768).decoder[0].out_channels == 32 * 32 * 3
    neck = NonLinearNeck(768, 768, 320)
    assert tuple(neck(latent).shape) == (2, 320)
    assert [m.in_features for m in neck.mlp if isinstance(m, torch.nn.Linear)] == [768, 768]
    with pytest.raises(ValueError, match="pool"):
        neck(torch.randn(2, 768))


def test_neck_pools_globally():
    neck = NonLinearNeck(4, 6, 5).eval()
    x = torch.randn(3, 4, 2, 2)
    torch.testing.assert_close(neck(x), neck.mlp(x.mean(dim=(2, 3))))


# --- data preprocessor ------------------------------------------------------------------

def test_preprocessor_batches_views_and_masks():
    torch.manual_seed(3)
    views = [[torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8) for _ in range(2)] for _ in range(2)]
    masks = [torch.rand(2, 2) < 0.5 for _ in range(2)]
    data = {"inputs": views, "data_samples": {"mask": masks, "img_path": ["a.jpg", "b.jpg"]}}
    pre = SelfSupDataPreprocessor(mean=(10.0, 20.0, 30.0), std=(2.0, 4.0, 5.0))
    out = pre(data)
    assert len(out["inputs"]) == 2
    for v, batch in enumerate(out["inputs"]):
        assert batch.dtype == torch.float32 and tuple(batch.shape) == (2, 3, 8, 8)
        for n in range(2):
            for c, (m, s) in enumerate(zip((10.0, 20.0, 30.0), (2.0, 4.0, 5.0))):
                torch.testing.assert_close(batch[n, c], (views[v][n][c].float() - m) / s)
    assert out["data_samples"]["mask"].dtype == torch.bool
    torch.testing.assert_close(out["data_samples"]["mask"], torch.stack(masks))
    assert out["data_samples"]["img_path"] == ["a.jpg", "b.jpg"]
    torch.testing.assert_close(pre.denormalize(out["inputs"][0]), torch.stack(views[0]).float())


def test_preprocessor_single_tensor_and_bgr():
    img = torch.randint(0, 256, (1, 3, 4, 4), dtype=torch.uint8)
    out = SelfSupDataPreprocessor(mean=(0, 0, 0), std=(1, 1, 1), bgr_to_rgb=True)({"inputs": img})
    torch.testing.assert_close(out["inputs"][0], img.float().flip(1))
    assert out["data_samples"] == {}


@pytest.mark.parametrize(
    "data, match",
    [
        ({"x": 1}, "'inputs'"),
        ({"inputs": [torch.zeros(3, 4, 4)]}, "list of views"),
        ({"inputs": [[torch.zeros(3, 4, 4), torch.zeros(3, 4, 8)]]}, "share one shape"),
        ({"inputs": [[torch.zeros(1, 4, 4)]]}, r"\(B, 3, H, W\)"),
    ],
)
def test_preprocessor_rejects_bad_batches(data, match):
    with pytest.raises(ValueError, match=match):
        SelfSupDataPreprocessor()(data)
