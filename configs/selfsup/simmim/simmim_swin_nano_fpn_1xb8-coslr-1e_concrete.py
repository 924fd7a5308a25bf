"""Stage 1 of the shipped models: SwinFpnMIM on the generated concrete tiles.

The ``nano`` SwinFpn at 128 px, batch 8, 1 epoch over ``tools/make_training_data.py``'s
1200 tiles (150 iterations: 10 min on 2 CPU cores shared with other jobs). lr 5e-4 after
a 50-iteration warm-up, cosine to lr/20. Its last checkpoint initialises every
``*_swin_nano_fpn_*_concrete.py`` hash config.

Reproduce (see mmselfsup_ext/model_zoo/README.md)::

    python tools/make_training_data.py --out data/concrete --seed 0
    python tools/train.py configs/selfsup/simmim/simmim_swin_nano_fpn_1xb8-coslr-1e_concrete.py
"""
_base_ = ["../_base_/models/swin-nano-fpn_simmim.py", "../_base_/datasets/folder_simmim-128_cpu.py",
          "../_base_/schedules/adamw_warmup-30it_coslr_cpu.py", "../_base_/default_runtime_cpu.py"]

optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type="LinearLR", start_factor=1 / 200, by_epoch=False, begin=0, end=50),
    dict(type="CosineAnnealingLR", eta_min_ratio=1 / 20, by_epoch=True, begin=0, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=1)
