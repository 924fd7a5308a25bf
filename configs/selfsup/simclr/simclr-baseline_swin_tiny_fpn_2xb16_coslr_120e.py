"""SimCLR baseline: the HashCLR setup without the hash relaxation (codes = sign of z).

Same backbone, MIM initialisation, data, views and schedule as
``simclr_swin_tiny_fpn_2xb16_coslr_120e.py``, so the two differ only in the head.
"""
_base_ = [
    "../_base_/models/swin-tiny-fpn_simclr.py",
    "../_base_/datasets/folder_simclr.py",
    "../_base_/schedules/adamw_coslr-120e.py",
    "../_base_/default_runtime.py",
]

mim_checkpoint = "work_dirs/simmim_swin_tiny_fpn_2xb16-amp-coslr-800e/epoch_800.pth"
model = dict(backbone_init=mim_checkpoint)
