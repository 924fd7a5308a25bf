"""CPU-sized SimCLR baseline: ``hashclr/hashclr_swin_nano_fpn_1xb8_coslr_2e.py`` with the plain
NT-Xent head (codes = sign of z) instead of the hash relaxation; the same bases otherwise.
"""
_base_ = ["../_base_/models/swin-nano-fpn_simclr.py", "../_base_/datasets/folder_simclr-128_cpu.py",
          "../_base_/schedules/adamw_coslr-2e_cpu.py", "../_base_/default_runtime.py"]

model = dict(backbone_init="work_dirs/simmim_swin_nano_fpn_1xb8-coslr-2e/epoch_2.pth")
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
log_processor = dict(window_size=1)
