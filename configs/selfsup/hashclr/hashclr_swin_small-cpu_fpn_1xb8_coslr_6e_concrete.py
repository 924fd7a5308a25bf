"""Paper-faithful SwinFpnHashCLR on the concrete tiles, 6 epochs (issue 12 comparison).

``hashclr_swin_small-cpu_fpn_1xb8_coslr_1e_concrete.py`` (photometric-only views, ImageNet
normalisation, NT-Xent on tanh(gamma z) + quantization) trained 900 iterations like every
other model of ``benchmarks/README_learned.md``. Command::

    python tools/train.py configs/selfsup/hashclr/hashclr_swin_small-cpu_fpn_1xb8_coslr_6e_concrete.py
"""
_base_ = ["./hashclr_swin_small-cpu_fpn_1xb8_coslr_1e_concrete.py"]

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
