"""AdamW, 10-epoch linear warm-up then cosine decay, 800 epochs (SwinFpnMIM, docs/design.md §4).

The paper gives optimiser, warm-up and schedule but not the learning rates: they
follow SimMIM's ratios (warm-up from lr/200, floor lr/20, weight decay 0.05, gradient
clipping at 5, no decay on norms, biases, mask token and position-bias tables) with
lr = 1e-4 for the paper's total batch of 32 (2 GPUs x 16). Enable linear scaling for
another total batch with ``--cfg-options auto_scale_lr.enable=True``.
"""
lr = 1e-4
max_epochs = 800
warmup_epochs = 10

optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            "mask_token": dict(decay_mult=0.0),
            "relative_position_bias_table": dict(decay_mult=0.0),
        },
    ),
)

# The cosine ends where the loop does: mmengine's runner sets a scheduler's missing ``end``
# to ``train_cfg.max_epochs`` and ``T_max`` to ``end - begin``, so a config that only
# changes ``train_cfg.max_epochs`` keeps this schedule; ``eta_min_ratio`` keeps the floor at
# lr / 20 of whatever rate a config sets.
param_scheduler = [
    dict(type="LinearLR", start_factor=1 / 200, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", eta_min_ratio=1 / 20, by_epoch=True, begin=warmup_epochs,
         convert_to_iter_based=True),
]

train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=32, enable=False)
