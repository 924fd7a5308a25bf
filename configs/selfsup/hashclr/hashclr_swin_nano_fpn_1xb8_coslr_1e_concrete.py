"""Paper-faithful SwinFpnHashCLR on the concrete tiles (comparison for the shipped models).

As in the paper, the two views of an image differ only photometrically
(``concrete_shot-views-128_cpu.py``) and inputs are normalised with the fixed ImageNet
statistics. Model, loss and optimiser (AdamW lr 1e-3) as in
``hashclr-overlap_swin_nano_fpn_1xb8_coslr_2e_concrete.py``; trained for 1 epoch (150
iterations) only, for lack of CPU time (say so when comparing).

Reproduce::

    python tools/train.py configs/selfsup/hashclr/hashclr_swin_nano_fpn_1xb8_coslr_1e_concrete.py
"""
_base_ = ["../_base_/models/swin-nano-fpn_hashclr.py", "../_base_/datasets/concrete_shot-views-128_cpu.py",
          "../_base_/schedules/adamw_warmup-30it_coslr_cpu.py", "../_base_/default_runtime_cpu.py"]

inference_img_size = 128
train_cfg = dict(max_epochs=1)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=2))
