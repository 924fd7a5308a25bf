"""SwinFpnHashCLR on the ``nano`` SwinFpn at 128 px: the SimCLR base with the hash head and gamma hook.

``nano`` (embed 32, depths 1-1-2-1, heads 1-2-4-8, FPN 32 -> 128 channels, window 4) is
narrower and shallower than Swin-T and trains in minutes on 2 CPU cores. The backbone
starts from the CPU SwinFpnMIM trained on the concrete tiles
(``simmim/simmim_swin_nano_fpn_1xb8-coslr-1e_concrete.py``).
"""
_base_ = ["./swin-tiny-fpn_simclr.py"]

mim_checkpoint = "work_dirs/simmim_swin_nano_fpn_1xb8-coslr-1e_concrete/epoch_1.pth"
model = dict(
    type="SwinFpnHashCLR",
    backbone=dict(arch="nano", img_size=128, window_size=4),
    neck=dict(in_channels=128, hid_channels=128),
    head=dict(type="HashCLRHead", beta=1.0),
    backbone_init=mim_checkpoint,
)
custom_hooks = [dict(type="HashGammaHook")]
