"""Plain SimCLR baseline on the concrete tiles: NT-Xent on z, codes = sign(z), no hash relaxation.

The paper's comparison: every base of ``hashclr/hashclr_swin_nano_fpn_1xb8_coslr_1e_concrete.py``
(photometric-only views, backbone, neck, schedule; 1 epoch, for lack of CPU time) but the
model's, whose head is plain NT-Xent, so the output tags are ``simclr32`` ... ``simclr128``.
Reproduce with ``tools/train.py`` and this file after the CPU SwinFpnMIM.
"""
_base_ = ["../_base_/models/swin-nano-fpn_simclr.py", "../_base_/datasets/concrete_shot-views-128_cpu.py",
          "../_base_/schedules/adamw_warmup-30it_coslr_cpu.py", "../_base_/default_runtime_cpu.py"]

inference_img_size = 128
train_cfg = dict(max_epochs=1)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=2))
