"""Plain SimCLR on the ``nano`` SwinFpn at 128 px (``swin-nano-fpn_hashclr.py`` without the hash head).

The backbone starts from the CPU SwinFpnMIM trained on the concrete tiles.
"""
_base_ = ["./swin-tiny-fpn_simclr.py"]

model = dict(backbone=dict(arch="nano", img_size=128, window_size=4), neck=dict(in_channels=128, hid_channels=128),
             backbone_init="work_dirs/simmim_swin_nano_fpn_1xb8-coslr-1e_concrete/epoch_1.pth")
