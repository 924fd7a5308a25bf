"""AdamW for the CPU models on the concrete tiles: lr 1e-3, a 30-iteration warm-up, cosine to lr / 20.

A short run of a small model learns faster with a larger rate than the paper's 1e-4; the
warm-up is counted in iterations because a CPU run has few epochs. The cosine spans the
whole run (``begin=0``) and, as in ``adamw_coslr-800e.py``, ends where the loop does, so
a config sets only ``train_cfg.max_epochs`` (6 here).
"""
_base_ = ["./adamw_coslr-800e.py"]

lr = 1e-3
warmup_iters = 30
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(type="LinearLR", start_factor=1 / 200, by_epoch=False, begin=0, end=warmup_iters),
    dict(type="CosineAnnealingLR", eta_min_ratio=1 / 20, by_epoch=True, begin=0, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=6)
auto_scale_lr = dict(base_batch_size=8)
