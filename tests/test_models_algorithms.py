"""SwinFpnMIM, SwinFpnHashCLR and SimCLR end to end on the small CPU arch (and Swin-T shapes)."""
import pytest
import torch
from mmengine.optim import OptimWrapper

from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope

from mmselfsup_ext.registry import MODELS

IMG = 64


def small_backbone(**kwargs) -> dict:
    return dict(type="SwinFpn", arch="nano", img_size=IMG, window_size=4, **kwargs)


def mim_cfg(arch: str = "nano", img_size: int = IMG, window: int = 4) -> dict:
    channels = 128 if arch == "nano" else 768
    return dict(
        type="SwinFpnMIM",
        backbone=dict(type="SwinFpn", arch=arch, img_size=img_size, window_size=window, use_mask_token=True),
        neck=dict(type="SimMIMLinearDecoder", in_channels=channels, encoder_stride=32),
        head=dict(type="SimMIMHead", patch_size=4),
        data_preprocessor=dict(type="SelfSupDataPreprocessor"),
    )


def clr_cfg(algorithm: str = "SwinFpnHashCLR", backbone: dict | None = None, **kwargs) -> dict:
    backbone = backbone or small_backbone()
    channels = 128 if backbone["arch"] == "nano" else 768
    head = dict(type="HashCLRHead", temperature=0.1, beta=1.0) if algorithm == "SwinFpnHashCLR" else dict(
        type="ContrastiveHead", temperature=0.1)
    return dict(
        type=algorithm,
        backbone=backbone,
        neck=dict(type="NonLinearNeck", in_channels=channels, hid_channels=channels, out_channels=320),
        head=head,
        **kwargs,
    )


def collated_batch(batch: int, views: int, with_mask: bool) -> dict:
    """A batch in the layout mmengine's pseudo_collate gives for PackSelfSupInputs samples."""
    g = torch.Generator().manual_seed(batch * 10 + views)
    data = {
        "inputs": [
            [torch.randint(0, 256, (3, IMG, IMG), dtype=torch.uint8, generator=g) for _ in range(batch)]
            for _ in range(views)
        ],
        "data_samples": {"img_path": [f"img{i}.jpg" for i in range(batch)]},
    }
    if with_mask:
        data["data_samples"]["mask"] = [torch.rand(IMG // 4, IMG // 4, generator=g) < 0.6 for _ in range(batch)]
    return data


def backward_and_check_grads(model, data) -> dict:
    model.train()
    losses = model(**model.data_preprocessor(data, True), mode="loss")
    total, _ = model.parse_losses(losses)
    total.backward()
    for name, param in model.named_parameters():
        # Every parameter must get a gradient: DDP fails on unused parameters.
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
    return losses


def test_mim_loss_backward_and_train_step():
    torch.manual_seed(0)
    model = MODELS.build(mim_cfg())
    data = collated_batch(2, 1, with_mask=True)
    losses = backward_and_check_grads(model, data)
    assert list(losses) == ["loss"] and torch.isfinite(losses["loss"])
    assert model.backbone.mask_token.grad.abs().sum() > 0
    model.zero_grad()
    before = model.neck.decoder[0].weight.detach().clone()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log_vars = model.train_step(data, wrapper)
    assert torch.isfinite(log_vars["loss"])
    assert not torch.equal(before, model.neck.decoder[0].weight)


def test_mim_reconstruct_and_predict():
    torch.manual_seed(0)
    model = MODELS.build(mim_cfg()).eval()
    batch = model.data_preprocessor(collated_batch(2, 1, with_mask=True))
    with torch.no_grad():
        out = model(**batch, mode="predict")
        rec = model.reconstruct(batch["inputs"][0], batch["data_samples"]["mask"])
        feat = model(batch["inputs"], mode="tensor")
    assert tuple(out["reconstruction"].shape) == (2, 3, IMG, IMG)
    torch.testing.assert_close(out["reconstruction"], rec)
    assert tuple(feat.shape) == (2, 128, IMG // 32, IMG // 32)
    with pytest.raises(ValueError, match="mask"):
        model(batch["inputs"], {}, mode="loss")
    with pytest.raises(ValueError, match="mode must be"):
        model(batch["inputs"], mode="logits")


@pytest.mark.parametrize("algorithm, keys", [
    ("SwinFpnHashCLR", {"loss_contrastive", "loss_quant"}),
    ("SimCLR", {"loss_contrastive"}),
])
def test_contrastive_loss_backward(algorithm, keys):
    torch.manual_seed(0)
    model = MODELS.build(clr_cfg(algorithm))
    losses = backward_and_check_grads(model, collated_batch(3, 2, with_mask=False))
    assert set(losses) == keys
    assert all(torch.isfinite(v) for v in losses.values())
    with pytest.raises(ValueError, match="exactly 2 views"):
        model(**model.data_preprocessor(collated_batch(3, 1, with_mask=False)), mode="loss")


@pytest.mark.parametrize("algorithm", ["SwinFpnHashCLR", "SimCLR"])
def test_predict_codes_are_signs_in_the_authors_layout(algorithm):
    torch.manual_seed(0)
    model = MODELS.build(clr_cfg(algorithm)).eval()
    batch = model.data_preprocessor(collated_batch(3, 1, with_mask=False))
    with torch.no_grad():
        out = model(**batch, mode="predict")
        z = model.neck(model.backbone(batch["inputs"][0]))
    torch.testing.assert_close(out["z"], z)
    assert sorted(out["codes"]) == [32, 64, 96, 128]
    # Rebuilt from the rule "chunks of 10: position 0 -> 32 bits, 1-2 -> 64, 3-5 -> 96, 6-9 -> 128".
    positions = {32: [0], 64: [1, 2], 96: [3, 4, 5], 128: [6, 7, 8, 9]}
    for bits, pos in positions.items():
        expected = torch.tensor([[bool(z[n, 10 * c + p] > 0) for c in range(32) for p in pos] for n in range(3)])
        assert out["codes"][bits].dtype == torch.bool
        assert torch.equal(out["codes"][bits], expected)


def test_hashclr_set_gamma_changes_the_relaxation():
    torch.manual_seed(0)
    model = MODELS.build(clr_cfg()).eval()
    batch = model.data_preprocessor(collated_batch(3, 2, with_mask=False))
    with torch.no_grad():
        model.set_gamma(1.0)
        soft = model(**batch, mode="loss")["loss_quant"]
        model.set_gamma(3.0)
        sharp = model(**batch, mode="loss")["loss_quant"]
    assert model.gamma == 3.0 and model.head.gamma == 3.0
    assert sharp < soft


def _save_mim_checkpoint(tmp_path, arch_cfg: dict, plain: bool = False):
    torch.manual_seed(123)
    mim = MODELS.build(arch_cfg)
    path = tmp_path / "mim.pth"
    torch.save(mim.state_dict() if plain else {"meta": {"epoch": 1}, "state_dict": mim.state_dict()}, path)
    return mim, path


@pytest.mark.parametrize("plain", [False, True], ids=["mmengine-checkpoint", "plain-state-dict"])
def test_hashclr_backbone_init_from_mim_checkpoint(tmp_path, plain):
    mim, path = _save_mim_checkpoint(tmp_path, mim_cfg(), plain=plain)
    torch.manual_seed(0)
    model = MODELS.build(clr_cfg(backbone_init=str(path)))
    expected = {k: v for k, v in mim.backbone.state_dict().items() if k != "mask_token"}
    assert not torch.equal(model.backbone.layers[0].blocks[0].attn.qkv.weight,
                           expected["layers.0.blocks.0.attn.qkv.weight"])
    model.init_weights()
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(expected)
    for key, value in expected.items():
        assert torch.equal(loaded[key], value), key


def test_backbone_init_rejects_another_architecture_and_missing_files(tmp_path):
    from mmselfsup_ext.utils.checkpoint import CheckpointError

    _, path = _save_mim_checkpoint(tmp_path, mim_cfg())
    other = dict(type="SwinFpn", arch=dict(embed_dims=16, depths=(1, 1, 2, 1), num_heads=(1, 2, 4, 8)),
                 img_size=IMG, window_size=4, fpn_channels=32)
    model = MODELS.build(clr_cfg(backbone_init=str(path), backbone=dict(other, arch=other["arch"])))
    with pytest.raises(CheckpointError, match="does not fit"):
        model.init_weights()
    missing = MODELS.build(clr_cfg(backbone_init=str(tmp_path / "nope.pth")))
    with pytest.raises(CheckpointError):
        missing.init_weights()


def test_paper_models_shapes_at_256_and_512():
    torch.manual_seed(0)
    mim = MODELS.build(mim_cfg(arch="tiny", img_size=256, window=6)).eval()
    hashclr = MODELS.build(clr_cfg(backbone=dict(type="SwinFpn", arch="tiny", img_size=256, window_size=6))).eval()
    with torch.no_grad():
        x = torch.randn(1, 3, 256, 256)
        rec = mim.reconstruct(x, torch.rand(1, 64, 64) < 0.6)
        out = hashclr(torch.randn(1, 3, 512, 512), mode="predict")
    assert tuple(rec.shape) == (1, 3, 256, 256)
    assert tuple(out["z"].shape) == (1, 320)
    assert {k: tuple(v.shape) for k, v in out["codes"].items()} == {32: (1, 32), 64: (1, 64), 96: (1, 96),
                                                                    128: (1, 128)}


def test_runner_style_build_through_the_root_registry():
    # mmengine's Runner builds `model` with its root registry under default_scope.
    import mmselfsup_ext.models as models

    names = {"SwinFpn", "SimMIMLinearDecoder", "NonLinearNeck", "SimMIMHead", "HashCLRHead", "ContrastiveHead",
             "SwinFpnMIM", "SwinFpnHashCLR", "SimCLR", "SelfSupDataPreprocessor"}
    assert names <= set(MODELS.module_dict)
    assert all(hasattr(models, name) for name in names)
    with DefaultScope.overwrite_default_scope("mmselfsup_ext"):
        model = ROOT_MODELS.build(clr_cfg("SimCLR"))
    assert type(model).__name__ == "SimCLR"
    assert type(model.data_preprocessor).__name__ == "SelfSupDataPreprocessor"


def test_hashclr_requires_a_hash_head():
    with pytest.raises(ValueError, match="HashCLRHead"):
        MODELS.build(dict(clr_cfg("SimCLR"), type="SwinFpnHashCLR"))
