"""SwinFpnSpatialHash: Swin-T + FPN fused on the stride-16 grid, a per-cell projection, dense hashing.

One 64-bit code per cell of the stride-16 map (16 x 16 cells at 256 px, 32 x 32 at 512 px):
``ConvProjectionNeck`` 768 -> 768 -> 64 (the SimCLR MLP as 1x1 convolutions, no pooling),
``SpatialHashHead``: b = tanh(gamma u) per cell, InfoNCE between a cell of view 1 and the
surface point it shows in view 2 (``OverlapViews``' ``view_geometry``) against every other
cell of the batch, quantization loss, bit decorrelation. Per-image standardisation as the
overlap-aware HashCLR. gamma = sqrt(epoch + 1) by HashGammaHook.
"""
# The paper's SwinFpnMIM (``simmim/simmim_swin_tiny_fpn_2xb16-amp-coslr-800e.py``) after its last epoch;
# point elsewhere with ``--cfg-options model.backbone_init=PATH``.
mim_checkpoint = "work_dirs/simmim_swin_tiny_fpn_2xb16-amp-coslr-800e/epoch_800.pth"
model = dict(
    type="SwinFpnSpatialHash",
    data_preprocessor=dict(type="PerImageDataPreprocessor"),
    backbone=dict(type="SwinFpn", arch="tiny", img_size=256, window_size=6, patch_size=4, drop_path_rate=0.1,
                  dropout=0.1, out_level=2),
    neck=dict(type="ConvProjectionNeck", in_channels=768, hid_channels=768, out_channels=64),
    head=dict(type="SpatialHashHead", temperature=0.1, beta=1.0, decorrelation=5.0, neutral_radius=1.5),
    backbone_init=mim_checkpoint,
)
custom_hooks = [dict(type="HashGammaHook")]
