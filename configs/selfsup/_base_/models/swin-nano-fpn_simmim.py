"""SwinFpnMIM on the CPU-sized ``nano`` SwinFpn at 128 px (window 4; decoder from 128 channels).

``nano`` (embed 32, depths 1-1-2-1, heads 1-2-4-8, FPN 32) is narrower and shallower
than Swin-T; it trains in minutes on 2 CPU cores.
"""
_base_ = ["./swin-tiny-fpn_simmim.py"]

model = dict(backbone=dict(arch="nano", img_size=128, window_size=4), neck=dict(in_channels=128))
