"""The shipped default recipe (overlap-aware SwinFpnHashCLR) trained 6 epochs instead of 2.

An ablation of ``benchmarks/README_quality.md`` (tag ``hashclr-overlap-long``): 900
iterations over the 1200 tiles of ``tools/make_training_data.py``; everything else is
inherited from the 2-epoch config. Command::

    python tools/train.py configs/selfsup/hashclr/hashclr-overlap_swin_small-cpu_fpn_1xb8_coslr_6e_concrete.py
"""
_base_ = "./hashclr-overlap_swin_small-cpu_fpn_1xb8_coslr_2e_concrete.py"

lr = 1e-3
max_epochs = 6
warmup_iters = 30

# Schedulers are a list, which mmengine replaces rather than merges: restate it for 6 epochs.
param_scheduler = [
    dict(type="LinearLR", start_factor=1 / 200, by_epoch=False, begin=0, end=warmup_iters),
    dict(type="CosineAnnealingLR", T_max=max_epochs, eta_min=lr / 20, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))
