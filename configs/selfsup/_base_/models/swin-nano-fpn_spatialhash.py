"""SwinFpnSpatialHash on the ``nano`` SwinFpn: 8 x 8 cells of 64 bits per 128 px view.

Fused on the stride-16 grid as the Swin-T base (``out_level=2``: no new backbone
parameters), ``ConvProjectionNeck`` 128 -> 128 -> 64. The backbone starts from the CPU
SwinFpnMIM trained on the concrete tiles, as the global CPU models do.
"""
_base_ = ["./swin-tiny-fpn_spatialhash.py"]

model = dict(
    backbone=dict(arch="nano", img_size=128, window_size=4),
    neck=dict(in_channels=128, hid_channels=128),
    backbone_init="work_dirs/simmim_swin_nano_fpn_1xb8-coslr-1e_concrete/epoch_1.pth",
)
